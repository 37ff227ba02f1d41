"""Random companies for the property tests: a data map, real SQLite sources, and a person in them.

A ``World`` is pure data that hypothesis draws and shrinks: the purposes
(some based on consent), the recipients (some attached to purposes only),
one or two ``sql`` sources, each with an identity table ``members``,
child tables linked by foreign key, and perhaps a consent table, and
perhaps an ad partner that speaks OpenGDPR (``http``, served by the real
local processor of tests/sources/http/processor.py). Every row says whose
it is (``owner`` 0 is the person who asks; the others are other people),
so the tests know the truth without asking dsr.

``world_build`` writes the SQLite files and the map's YAML; ``tables_dump``
reads a source back, row by row, for before/after comparisons.
"""

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml
from hypothesis import strategies as st

from tests.sources.http.processor import SECRET as PARTNER_SECRET

SUBJECT = "subject@example.com"
SUBJECT_PHONE = "+4520304050"
CATEGORIES = ("identity", "contact", "financial", "transaction", "usage", "marketing")
PURPOSE_NAMES = {
    "alpha": ("Formål Alfa", "Purpose Alpha"),
    "bravo": ("Formål Bravo", "Purpose Bravo"),
    "charlie": ("Formål Charlie", "Purpose Charlie"),
    "delta": ("Formål Delta", "Purpose Delta"),
}
RECIPIENT_NAMES = {
    "rec_one": "Recipient One ApS",
    "rec_two": "Recipient Two GmbH",
    "rec_three": "Recipient Three Inc",
    "rec_four": "Recipient Four Ltd",
}
SOURCE_NAMES = {"north": ("Nordsystemet", "North system"), "south": ("Sydsystemet", "South system")}
PARTNER = "partner"
PARTNER_NAME = {"da": "Annoncepartner", "en": "Ad partner"}
# GDPR Art. 17(3)(b): the obligations rows may be kept under; "claims" ends soon after, so letters meet ended holds.
HOLDS = {
    "bookkeeping": {
        "name": {"da": "Bogføringspligt", "en": "Bookkeeping obligation"},
        "law": {"da": "Bogføringsloven § 10", "en": "Danish Bookkeeping Act § 10"},
        "period_rule": {"after": "end_of_financial_year", "years": 5},
    },
    "consent_evidence": {
        "name": {"da": "Dokumentation for samtykke", "en": "Evidence of consent"},
        "law": "GDPR Art. 7(1)",
        "period_rule": {"after": "consent_withdrawn", "years": 2},
    },
    "claims": {
        "name": {"da": "Retskrav", "en": "Legal claims"},
        "law": {"da": "Forældelsesloven § 3", "en": "Danish Limitation Act § 3"},
        "period_rule": {"after": "collected", "months": 3},
    },
}
# GDPR Art. 16: the fields a person may ask to have corrected, and what the tables may map them to.
CORRECTIONS = {
    "name": {"name": {"da": "Navn", "en": "Name"}, "category": "identity"},
    "city": {"name": {"da": "By", "en": "City"}, "category": "contact"},
    "phone": {"name": {"da": "Telefon", "en": "Phone"}, "category": "contact"},
    "address": {"name": {"da": "Adresse", "en": "Address"}, "category": "contact"},
}
IDENTITY = "members"
CONSENTS = "consents"
CHILD_NAMES = ("orders", "visits", "tickets")
MEMBER_COLUMNS = ("email", "phone", "name", "city")
CHILD_COLUMNS = ("note", "amount")
CONSENT_COLUMNS = ("consent_key",)
# A consent row's state: given now, given and withdrawn since, or refused (never given).
GIVEN, WITHDRAWN, REFUSED = "given", "withdrawn", "refused"


@dataclass(frozen=True)
class Purpose:
    key: str
    basis: str  # a letter of GDPR Art. 6(1)
    categories: tuple[str, ...]  # () covers every category
    consent_key: str  # "" unless based on consent
    explicit_key: bool  # the map names the consent key (else it is the purpose's key)

    @property
    def name(self) -> dict:
        da, en = PURPOSE_NAMES[self.key]
        return {"da": da, "en": en}


@dataclass(frozen=True)
class Recipient:
    key: str
    role: str
    country: str
    contact: bool  # has a contact email (Art. 19 notices are emailed, else staff tell it)
    purposes: tuple[str, ...]

    @property
    def name(self) -> str:
        return RECIPIENT_NAMES[self.key]

    @property
    def email(self) -> str:
        return f"privacy@{self.key.replace('_', '-')}.example"


@dataclass(frozen=True)
class Table:
    name: str
    parent: str | None  # the table it links to by foreign key; None for the identity table
    categories: tuple[tuple[str, str | None], ...]  # data column -> category (None: no category)
    strategy: str  # erasure: delete | anonymise | keep
    fields: tuple[tuple[str, str], ...] = ()  # column -> clear | redact | hash
    hold: str | None = None
    dated: bool = False  # the hold's date column is named
    purposes: tuple[str, ...] | None = None  # None: the source's
    recipients: tuple[str, ...] | None = None  # None: the source's
    rectify: tuple[tuple[str, str], ...] = ()  # correction field -> column
    restriction: bool = False
    consent: bool = False
    phone_identifier: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.categories)

    def category(self, column: str) -> str | None:
        return dict(self.categories).get(column)

    @property
    def mapped_categories(self) -> list[str]:
        """Return the categories the table's columns hold, once each, in column order."""
        return list(dict.fromkeys(category for _, category in self.categories if category))


@dataclass(frozen=True)
class Source:
    key: str
    purposes: tuple[str, ...]
    recipients: tuple[str, ...] | None
    tables: tuple[Table, ...]

    @property
    def name(self) -> dict:
        da, en = SOURCE_NAMES[self.key]
        return {"da": da, "en": en}

    def table(self, name: str) -> Table | None:
        return next((table for table in self.tables if table.name == name), None)


@dataclass(frozen=True)
class Partner:
    """An ad partner reached by OpenGDPR requests; it holds the person's hashed email in an audience, or not."""

    purposes: tuple[str, ...]
    recipients: tuple[str, ...] | None
    category: str  # of the audience's fields
    holds_subject: bool

    key = PARTNER
    name = PARTNER_NAME


@dataclass(frozen=True)
class Row:
    table: str
    id: int
    parent: int | None  # the id of the row it links to
    owner: int  # 0: the person asking; others are other people
    values: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class World:
    purposes: tuple[Purpose, ...]
    recipients: tuple[Recipient, ...]
    sources: tuple[Source, ...]
    rows: tuple[tuple[str, tuple[Row, ...]], ...]  # source key -> rows, parents first
    partner: Partner | None = None

    def purpose(self, key: str) -> Purpose:
        return next(purpose for purpose in self.purposes if purpose.key == key)

    def source(self, key: str) -> Source:
        return next(source for source in self.sources if source.key == key)

    def source_rows(self, key: str) -> tuple[Row, ...]:
        return dict(self.rows).get(key, ())

    def subject_rows(self, source_key: str, table: str) -> list[Row]:
        return [row for row in self.source_rows(source_key) if row.table == table and row.owner == 0]

    @property
    def consent_keys(self) -> list[str]:
        return [purpose.consent_key for purpose in self.purposes if purpose.consent_key]

    @property
    def records_consents(self) -> bool:
        return any(table.consent for source in self.sources for table in source.tables)

    def consents_ever_given(self) -> set[str]:
        """Return the consent keys the person gave at some time (given now, or withdrawn since)."""
        return {
            dict(row.values)["consent_key"]
            for source in self.sources
            for table in source.tables
            if table.consent
            for row in self.subject_rows(source.key, table.name)
            if _consent_state(row) in (GIVEN, WITHDRAWN)
        }

    def consents_given_now(self) -> set[str]:
        return {
            dict(row.values)["consent_key"]
            for source in self.sources
            for table in source.tables
            if table.consent
            for row in self.subject_rows(source.key, table.name)
            if _consent_state(row) == GIVEN
        }


def _consent_state(row: Row) -> str:
    values = dict(row.values)
    if values["granted"]:
        return GIVEN
    return WITHDRAWN if values["withdrawn_at"] else REFUSED


# --- Strategies ----------------------------------------------------------------------------------------


def _subset(keys, *, min_size: int = 0) -> st.SearchStrategy[tuple]:
    """Return a strategy for a sub-tuple of ``keys``, in their order."""
    keys = tuple(keys)
    if not keys:
        return st.just(())
    return st.sets(st.sampled_from(keys), min_size=min_size).map(lambda chosen: tuple(k for k in keys if k in chosen))


_maybe_category = st.sampled_from((*CATEGORIES, None))


@st.composite
def _purposes(draw) -> tuple[Purpose, ...]:
    purposes = []
    for key in list(PURPOSE_NAMES)[: draw(st.integers(1, 4))]:
        basis = draw(st.sampled_from("abcf"))
        explicit = basis == "a" and draw(st.booleans())
        consent_key = (f"consent_{key}" if explicit else key) if basis == "a" else ""
        purposes.append(Purpose(key, basis, draw(_subset(CATEGORIES)), consent_key, explicit))
    return tuple(purposes)


def _lineage(draw, purpose_keys, recipient_keys) -> dict:
    """Draw a table's own purposes and recipients, or none (it then has its source's)."""
    return {
        "purposes": draw(st.none() | _subset(purpose_keys)),
        "recipients": draw(st.none() | _subset(recipient_keys)),
    }


def _erasure(
    draw, columns: tuple[str, ...], parent_strategy: str | None, *, consent: bool = False, parent_dated: bool = False
) -> dict:
    if parent_strategy == "delete":
        strategy = "delete"  # children of deleted rows go with them (their foreign keys would break)
    elif parent_strategy == "keep" and parent_dated:
        # Kept rows go after their hold; a child anonymised in place would keep pointing at them.
        strategy = draw(st.sampled_from(("delete", "keep")))
    else:
        strategy = draw(st.sampled_from(("delete", "keep") if consent else ("delete", "anonymise", "keep")))
    methods = st.sampled_from(("clear", "redact", "hash"))
    erasure: dict = {"strategy": strategy}
    if strategy == "anonymise":
        chosen = draw(_subset(columns, min_size=1))
        erasure["fields"] = tuple((column, draw(methods)) for column in chosen)
    elif strategy == "keep":
        erasure["hold"] = "consent_evidence" if consent else draw(st.sampled_from(("bookkeeping", "claims")))
        erasure["dated"] = draw(st.booleans())
        # Kept rows may still be minimised: the listed fields are anonymised in them.
        if not consent:
            chosen = draw(_subset(columns))
            erasure["fields"] = tuple((column, draw(methods)) for column in chosen)
    return erasure


@st.composite
def _source(draw, key: str, purpose_keys: tuple[str, ...], recipient_keys: tuple[str, ...]) -> Source:
    identity_categories = (
        ("email", draw(st.sampled_from(("contact", "identity", None)))),
        ("phone", draw(st.sampled_from(("contact", None)))),
        ("name", draw(st.sampled_from(("identity", None)))),
        ("city", draw(_maybe_category)),
    )
    identity_erasure = _erasure(draw, MEMBER_COLUMNS, None)
    tables = [
        Table(
            IDENTITY,
            None,
            identity_categories,
            identity_erasure["strategy"],
            identity_erasure.get("fields", ()),
            identity_erasure.get("hold"),
            identity_erasure.get("dated", False),
            rectify=draw(_subset((("name", "name"), ("city", "city"), ("phone", "phone")))),
            restriction=draw(st.booleans()),
            phone_identifier=draw(st.booleans()),
            **_lineage(draw, purpose_keys, recipient_keys),
        )
    ]
    for name in CHILD_NAMES[: draw(st.integers(0, len(CHILD_NAMES)))]:
        parent = tables[draw(st.integers(0, len(tables) - 1))]
        erasure = _erasure(draw, CHILD_COLUMNS, parent.strategy, parent_dated=parent.dated)
        tables.append(
            Table(
                name,
                parent.name,
                (("note", draw(_maybe_category)), ("amount", draw(_maybe_category))),
                erasure["strategy"],
                erasure.get("fields", ()),
                erasure.get("hold"),
                erasure.get("dated", False),
                rectify=draw(st.sampled_from(((), (("address", "note"),), (("city", "note"),)))),
                restriction=draw(st.booleans()),
                **_lineage(draw, purpose_keys, recipient_keys),
            )
        )
    if draw(st.booleans()):
        erasure = _erasure(draw, CONSENT_COLUMNS, tables[0].strategy, consent=True, parent_dated=tables[0].dated)
        tables.append(
            Table(
                CONSENTS,
                IDENTITY,
                (("consent_key", draw(st.sampled_from(("marketing", "usage", None)))),),
                erasure["strategy"],
                (),
                erasure.get("hold"),
                erasure.get("dated", False),
                consent=True,
                **_lineage(draw, purpose_keys, recipient_keys),
            )
        )
    return Source(
        key=key,
        purposes=draw(_subset(purpose_keys, min_size=1)),
        recipients=draw(st.none() | _subset(recipient_keys, min_size=1)),
        tables=tuple(tables),
    )


def _named(sources: list[Source], partner: Partner | None) -> set[str]:
    named = set(partner.recipients or ()) if partner else set()
    for source in sources:
        named.update(source.recipients or ())
        for table in source.tables:
            named.update(table.recipients if table.recipients is not None else source.recipients or ())
    return named


class _Rows:
    """The rows of one source as they are drawn, parents first, numbered per table."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.ids: dict[str, int] = {}

    def add(self, table: Table, parent: int | None, owner: int, columns: dict) -> Row:
        self.ids[table.name] = self.ids.get(table.name, 0) + 1
        row = Row(table.name, self.ids[table.name], parent, owner, tuple(columns.items()))
        self.rows.append(row)
        return row


_VALUES = {
    "name": st.sampled_from(("Ada", "Bo", None, "[erased]")),
    "city": st.sampled_from(("Aarhus", "Odense", None)),
    "note": st.sampled_from(("blue", "green", None, "[erased]")),
    "amount": st.sampled_from(("10", "20", None)),
    # Within every hold of HOLDS (the shortest is three months), whenever the tests run: rows whose hold
    # has ended are erased by the map's after_hold, which the sql connector's own tests cover.
    "created_on": st.integers(1, 60).map(lambda days: (date.today() - timedelta(days=days)).isoformat()),
    "restricted": st.sampled_from((False, False, True, None)),
}


def _withdrawn_at() -> str:
    """Return when a withdrawn consent was withdrawn: a month ago, so its evidence is still held."""
    return f"{date.today() - timedelta(days=30)}T10:00:00"


def _descend(draw, source: Source, rows: _Rows, table: Table, row: Row, consent_keys: list[str]) -> None:
    """Draw the rows that link to ``row``: 0-2 per child table, and the owner's consents."""
    for child in source.tables:
        if child.parent != table.name:
            continue
        if child.consent:
            for key in [*consent_keys, "unknown_consent"]:
                state = draw(st.sampled_from((None, GIVEN, WITHDRAWN, REFUSED)))
                if state is None:
                    continue
                columns = {
                    "consent_key": key,
                    "granted": state == GIVEN,
                    "withdrawn_at": _withdrawn_at() if state == WITHDRAWN else None,
                    "created_on": draw(_VALUES["created_on"]),
                    "restricted": False,
                }
                rows.add(child, row.id, row.owner, columns)
            continue
        for _ in range(draw(st.integers(0, 2))):
            columns = {column: draw(_VALUES[column]) for column in (*CHILD_COLUMNS, "created_on", "restricted")}
            _descend(draw, source, rows, child, rows.add(child, row.id, row.owner, columns), consent_keys)


@st.composite
def _contents(draw, sources: list[Source], consent_keys: list[str]) -> tuple:
    """Draw the rows of every source: the person's (owner 0, zero to two identities), and other people's."""
    people = range(draw(st.integers(2, 3)))
    subject_emails = st.sampled_from((SUBJECT, "Subject@Example.COM", f" {SUBJECT} "))
    subject_phones = st.sampled_from(("+45 20 30 40 50", "20304050"))
    everything = []
    for source in sources:
        rows = _Rows()
        identity = source.tables[0]
        for owner in people:
            for _ in range(draw(st.integers(0, 2)) if owner == 0 else 1):
                columns = {
                    "email": draw(subject_emails) if owner == 0 else f"other{owner}@example.com",
                    "phone": draw(subject_phones) if owner == 0 else f"+45 3{owner} 00 00 0{owner}",
                    "name": draw(_VALUES["name"]),
                    "city": draw(_VALUES["city"]),
                    "created_on": draw(_VALUES["created_on"]),
                    "restricted": draw(_VALUES["restricted"]),
                }
                _descend(draw, source, rows, identity, rows.add(identity, None, owner, columns), consent_keys)
        everything.append((source.key, tuple(rows.rows)))
    return tuple(everything)


@st.composite
def worlds(draw) -> World:
    """Draw a valid company: purposes, recipients, one or two sql sources, and everyone's rows in them."""
    purposes = draw(_purposes())
    purpose_keys = tuple(purpose.key for purpose in purposes)
    recipient_keys = tuple(list(RECIPIENT_NAMES)[: draw(st.integers(1, 4))])
    sources = [
        draw(_source(key, purpose_keys, recipient_keys)) for key in list(SOURCE_NAMES)[: draw(st.integers(1, 2))]
    ]
    partner = draw(
        st.none()
        | st.builds(
            Partner,
            purposes=_subset(purpose_keys, min_size=1),
            recipients=st.none() | _subset(recipient_keys),
            category=st.sampled_from(("marketing", "usage")),
            holds_subject=st.booleans(),
        )
    )
    named = _named(sources, partner)
    recipients = []
    for key in recipient_keys:
        # A recipient that lists no purposes receives for every purpose of the tables that name it.
        served = draw(st.just(()) | _subset(purpose_keys))
        if key not in named and not served:
            # A recipient must be reachable: named on no source, it receives through a purpose.
            served = (draw(st.sampled_from(purpose_keys)),)
        recipients.append(
            Recipient(
                key=key,
                role=draw(st.sampled_from(("processor", "controller"))),
                country=draw(st.sampled_from(("DK", "DE", "IE", "US"))),
                contact=draw(st.integers(0, 3)) > 0,
                purposes=served,
            )
        )
    consent_keys = [purpose.consent_key for purpose in purposes if purpose.consent_key]
    rows = draw(_contents(sources, consent_keys))
    return World(purposes=purposes, recipients=tuple(recipients), sources=tuple(sources), rows=rows, partner=partner)


@st.composite
def corrections(draw, world: World) -> list[dict]:
    """Draw what the person asks to have corrected: mapped fields, a value that is already right, free text."""
    fields = draw(st.lists(st.sampled_from([*CORRECTIONS, "Shoe size"]), min_size=1, max_size=3, unique=True))
    asked = []
    for name in fields:
        current = {
            str(dict(row.values)[column])
            for source in world.sources
            for table in source.tables
            for field, column in table.rectify
            if field == name
            for row in world.subject_rows(source.key, table.name)
            if dict(row.values)[column] is not None
        }
        asked.append({"field": name, "correct": draw(st.sampled_from(["Vejle", *sorted(current)]))})
    return asked


def consents_asked(world: World) -> st.SearchStrategy[list[str]]:
    """Draw the consents a person withdraws: the map's keys, "all", or a key the map does not have."""
    return st.lists(
        st.sampled_from([*world.consent_keys, "all", "unknown_consent"]), min_size=1, max_size=3, unique=True
    )


# --- Building the world on disk ---------------------------------------------------------------------


def _schema(table: Table) -> str:
    columns = ["id INTEGER PRIMARY KEY"]
    if table.parent:
        columns.append(f"{table.parent}_id INTEGER NOT NULL REFERENCES {table.parent}(id)")
    if table.consent:
        columns += ["consent_key TEXT", "granted BOOLEAN", "withdrawn_at TEXT"]
    else:
        columns += [f"{column} TEXT" for column in table.columns]
    columns += ["created_on TEXT", "restricted BOOLEAN"]
    return f"CREATE TABLE {table.name} ({', '.join(columns)})"


def _row_values(table: Table, row: Row) -> dict:
    values = {"id": row.id, **dict(row.values)}
    if table.parent:
        values[f"{table.parent}_id"] = row.parent
    return values


def database_build(path: Path, source: Source, rows: tuple[Row, ...]) -> None:
    """Write one source as a SQLite file, with its foreign keys, and everyone's rows."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        for table in source.tables:
            conn.execute(_schema(table))
        for row in rows:
            values = _row_values(source.table(row.table), row)
            insert = f"INSERT INTO {row.table} ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})"  # noqa: S608
            conn.execute(insert, list(values.values()))
        conn.commit()


def _table_config(source: Source, table: Table) -> dict:
    config: dict = {}
    if table.parent:
        config["link"] = {"table": table.parent, "columns": {f"{table.parent}_id": "id"}}
    else:
        config["identifiers"] = {"email": "email", **({"phone": "phone"} if table.phone_identifier else {})}
    categories = {column: category for column, category in table.categories if category}
    if categories:
        config["categories"] = categories
    erasure: dict = {"strategy": table.strategy}
    if table.fields:
        erasure["fields"] = dict(table.fields)
    if table.hold:
        erasure["hold"] = table.hold
        if table.dated:
            erasure["date_column"] = "withdrawn_at" if table.consent else "created_on"
            erasure["after_hold"] = "delete"
    config["erasure"] = erasure
    if table.purposes is not None:
        config["purposes"] = list(table.purposes)
    if table.recipients is not None:
        config["recipients"] = list(table.recipients)
    if table.rectify:
        config["rectify"] = dict(table.rectify)
    if table.restriction:
        config["restriction"] = {"column": "restricted"}
    if table.consent:
        config["consent"] = {
            "key_column": "consent_key",
            "state_column": "granted",
            "withdrawn_at_column": "withdrawn_at",
        }
    return config


def world_document(world: World, directory: Path, partner_url: str = "") -> dict:
    """Return the data map of ``world`` as the YAML document a privacy team would write."""
    purposes = {}
    for purpose in world.purposes:
        entry: dict = {
            "name": purpose.name,
            "legal_basis": [purpose.basis],
            "retention": {"da": "To år", "en": "Two years"},
            "retention_rule": {"after": "collected", "years": 2},
        }
        if purpose.basis == "f":
            entry["legitimate_interest"] = {"da": "Drift", "en": "Running the business"}
        if purpose.categories:
            entry["categories"] = list(purpose.categories)
        if purpose.explicit_key:
            entry["consent_key"] = purpose.consent_key
        purposes[purpose.key] = entry
    recipients = {}
    for recipient in world.recipients:
        entry = {
            "name": recipient.name,
            "role": recipient.role,
            "country": recipient.country,
            "safeguard": {"da": "Standardkontraktbestemmelser", "en": "Standard contractual clauses"},
        }
        if recipient.contact:
            entry["contact_email"] = recipient.email
        if recipient.purposes:
            entry["purposes"] = list(recipient.purposes)
        recipients[recipient.key] = entry
    sources = {}
    for source in world.sources:
        entry = {
            "name": source.name,
            "kind": "sql",
            "purposes": list(source.purposes),
            "origin": {"da": "Fra dig", "en": "From you"},
            "url": f"sqlite:///{directory / f'{source.key}.sqlite3'}",
            "tables": {table.name: _table_config(source, table) for table in source.tables},
        }
        if source.recipients is not None:
            entry["recipients"] = list(source.recipients)
        sources[source.key] = entry
    if world.partner:
        sources[PARTNER] = {
            "name": PARTNER_NAME,
            "kind": "http",
            "purposes": list(world.partner.purposes),
            "origin": {"da": "Fra vores webshop", "en": "From our web shop"},
            "url": partner_url,
            "secret": PARTNER_SECRET,
            "identities": [{"type": "email", "format": "sha256"}],
            "request_types": ["access", "erasure"],
            "categories": {"audience": {"email_sha256": world.partner.category, "segment": world.partner.category}},
            "retries": 0,
            "backoff_seconds": 0.01,
            "timeout_seconds": 3,
        }
        if world.partner.recipients is not None:
            sources[PARTNER]["recipients"] = list(world.partner.recipients)
    return {
        "controller": {
            "name": "Testfirma ApS",
            "address": "Testvej 1, 2300 København S",
            "cvr": "12345678",
            "email": "privacy@testfirma.example",
        },
        "categories": {key: {"name": {"da": f"Kategori {key}", "en": f"Category {key}"}} for key in CATEGORIES},
        "purposes": purposes,
        "recipients": recipients,
        "legal_holds": HOLDS,
        "corrections": CORRECTIONS,
        "sources": sources,
    }


def world_build(world: World, directory: Path, partner_url: str = "") -> str:
    """Write the world's SQLite files into ``directory`` and return its data map as YAML text."""
    for source in world.sources:
        database_build(directory / f"{source.key}.sqlite3", source, world.source_rows(source.key))
    return yaml.safe_dump(world_document(world, directory, partner_url), allow_unicode=True, sort_keys=False)


def tables_dump(path: Path) -> dict[str, dict[int, tuple]]:
    """Return every row of every table of a SQLite file, by table and id, exactly as stored."""
    with closing(sqlite3.connect(path)) as conn:
        names = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump = {}
        for name in names:
            columns = [column for _, column, *_ in conn.execute(f"PRAGMA table_info({name})")]
            rows = conn.execute(f"SELECT * FROM {name} ORDER BY id").fetchall()  # noqa: S608
            dump[name] = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    return dump


@dataclass
class Snapshot:
    """Every source's rows at one moment, by source, table and id."""

    tables: dict[str, dict[str, dict[int, dict]]] = field(default_factory=dict)

    @classmethod
    def take(cls, world: World, directory: Path) -> "Snapshot":
        return cls({source.key: tables_dump(directory / f"{source.key}.sqlite3") for source in world.sources})


# --- Builders for fixed examples -----------------------------------------------------------------------


def members_table(**overrides) -> Table:
    """Return the identity table: found by email; anonymised on erasure (email hashed) unless overridden."""
    settings = {
        "categories": (("email", "contact"), ("phone", "contact"), ("name", "identity"), ("city", "contact")),
        "strategy": "anonymise",
        "fields": (("email", "hash"),),
        **overrides,
    }
    return Table(IDENTITY, None, **settings)


def child_table(name: str, *, parent: str = IDENTITY, **overrides) -> Table:
    """Return a table linked to ``parent``; its rows are deleted on erasure unless overridden."""
    settings = {"categories": (("note", "usage"), ("amount", "financial")), "strategy": "delete", **overrides}
    return Table(name, parent, **settings)


def consent_table(**overrides) -> Table:
    """Return a consent table linked to the identity table, kept as evidence on erasure."""
    settings = {
        "categories": (("consent_key", "marketing"),),
        "strategy": "keep",
        "hold": "consent_evidence",
        "consent": True,
        **overrides,
    }
    return Table(CONSENTS, IDENTITY, **settings)


def member(row_id: int, *, owner: int = 0, email: str | None = None, **values) -> Row:
    """Return an identity row; the person's email unless ``owner`` is someone else."""
    columns = {
        "email": email or (SUBJECT if owner == 0 else f"other{owner}@example.com"),
        "phone": SUBJECT_PHONE if owner == 0 else f"+45 3{owner} 00 00 0{owner}",
        "name": "Ada",
        "city": "Aarhus",
        "created_on": "2024-01-01",
        "restricted": False,
        **values,
    }
    return Row(IDENTITY, row_id, None, owner, tuple(columns.items()))


def child(table: str, row_id: int, parent: int, *, owner: int = 0, **values) -> Row:
    """Return a row of a linked table, belonging to the owner of its parent row."""
    columns = {"note": "blue", "amount": "10", "created_on": "2024-01-01", "restricted": False, **values}
    return Row(table, row_id, parent, owner, tuple(columns.items()))


def consent(row_id: int, parent: int, key: str, state: str, *, owner: int = 0) -> Row:
    """Return a consent row in ``state`` (given, withdrawn or refused)."""
    columns = {
        "consent_key": key,
        "granted": state == GIVEN,
        "withdrawn_at": _withdrawn_at() if state == WITHDRAWN else None,
        "created_on": "2024-01-01",
        "restricted": False,
    }
    return Row(CONSENTS, row_id, parent, owner, tuple(columns.items()))

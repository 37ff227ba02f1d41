"""Drafting a data map from a live database: the tables that hold a person's data and what erasure may do.

From the table the person is found in, the database's own foreign keys are
walked both ways: tables whose rows point at the person's rows (orders,
invoices, their lines) are the person's too; tables the person's rows point
at are the person's (an address) when they hold personal-looking columns, and
lookups (a city, a genre, a store) when they do not. Each table gets a
strategy the live keys allow (decision 0014). `manage.py dsr_datamap_draft`
writes the result as a whole, commented map that loads as it is.
"""

import dataclasses
import datetime as dt
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from dsr.sources.base import ANONYMISE, DELETE, KEEP
from dsr.sources.sql.classify import IDENTIFYING, Guess, column_is_flag, name_tokens, table_classify
from dsr.sources.sql.schema import LiveColumn, LiveForeignKey, LiveSchema, LiveTable, live_schema_read

IDENTITY, OWN, REFERENCED, CONTEXT = "identity", "own", "referenced", "context"
HOLD = "bookkeeping"
_FINANCIAL = r"(invoice|faktura|payment|betaling|order|ordre|bestilling|receipt|kvittering|transaction|transaktion"
_FINANCIAL += r"|refund|creditnote|kreditnota|charge|booking|sale|salg|purchase|kob|koeb)s?(line|linje)?s?"
_DATE_PREFERENCE = (
    r"(issued|invoice|invoiced|paid|booked|bogfort|posted|faktura)\w*",
    r"(order|ordered|date|dato|placed|purchased)\w*",
    r"(created|oprettet)\w*",
)
_LABEL_PREFERENCE = r"(name|navn|title|titel|label|description|beskrivelse|code|kode)"


class DraftError(Exception):
    """The database cannot be drafted from as asked (the message says why, with no data in it)."""


@dataclass
class DraftLink:
    table: str
    columns: dict[str, str]  # this table's column -> the other table's
    key: str  # the foreign key it follows, as LiveForeignKey.describe() names it


@dataclass
class DraftTable:
    name: str
    role: str
    live: LiveTable
    guesses: dict[str, Guess] = field(default_factory=dict)
    links: list[DraftLink] = field(default_factory=list)
    label: str = ""
    strategy: str = ""
    why: str = ""  # why this strategy, for its comment
    fields: dict[str, str | dict] = field(default_factory=dict)
    field_notes: dict[str, str] = field(default_factory=dict)
    hold: str = ""
    date_column: str = ""
    after_hold: str = ""
    after_hold_why: str = ""
    shared: list[str] = field(default_factory=list)  # why other people's rows may use a row
    unlinkable: bool = False
    fallback: bool = False  # kept only because nothing else loads: a human decides
    exclude: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)


@dataclass
class Draft:
    dialect: str
    identity_table: str
    identity_column: str
    identifiers: dict[str, list[str]]
    identifier_notes: dict[str, str]
    tables: dict[str, DraftTable]
    left_out: dict[str, str]  # reached but not mapped: table -> why
    unreached: dict[str, list[str]]  # personal-looking tables no key leads to: table -> columns

    def tables_in(self, *roles: str) -> list[str]:
        return [name for name, table in self.tables.items() if table.role in roles]


def _find(names, wanted: str, missing: str) -> str:
    """Return the name in ``names`` that is ``wanted``, or the one that is but for case; raise DraftError if none."""
    if wanted in names:
        return wanted
    folded = [name for name in names if name.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    raise DraftError(f"{missing}; there are: {', '.join(sorted(names)[:40])}")


def _roots(live: LiveSchema) -> tuple[dict[str, LiveTable], list[LiveForeignKey]]:
    """Return the tables that are not a partition or child of another, and their keys, pointing at roots."""
    roots = {name: table for name, table in live.tables.items() if table.parent is None}
    keys: dict[tuple, LiveForeignKey] = {}
    for fk in (fk for table in roots.values() for fk in table.foreign_keys):
        # PostgreSQL copies a key that points at a partitioned table once per partition: one key, one path.
        fk = dataclasses.replace(fk, referred_table=live.root(fk.referred_table))
        keys.setdefault((fk.table, fk.columns, fk.referred_table, fk.referred_columns), fk)
    return roots, list(keys.values())


def _key_columns(table: LiveTable) -> set[str]:
    """Return the columns that are keys, not values: every foreign key column and a single non-text primary key."""
    columns = {column for fk in table.foreign_keys for column in fk.columns}
    if len(table.primary_key) == 1 and not table.columns[table.primary_key[0]].is_text:
        columns.add(table.primary_key[0])
    return columns


def _unique(table: LiveTable, columns: tuple[str, ...]) -> bool:
    if len(columns) == 1:
        return table.columns[columns[0]].unique
    return tuple(sorted(columns)) == tuple(sorted(table.primary_key))


def _label(table: LiveTable) -> str:
    """Return the column that best names a lookup row: a name or title, else its first text column, else its key."""
    texts = [name for name, column in table.columns.items() if column.is_text and name not in table.primary_key]
    named = [name for name in texts if re.fullmatch(_LABEL_PREFERENCE, (name_tokens(name) or [""])[-1])]
    return (named or texts or list(table.primary_key) or list(table.columns))[0]


class _Walk:
    def __init__(self, conn: Connection, live: LiveSchema, *, schema: str | None, sample: int, today: dt.date):
        self.conn, self.schema, self.sample, self.today = conn, schema, sample, today
        self.roots, keys = _roots(live)
        self.referencing: dict[str, list[LiveForeignKey]] = defaultdict(list)
        for fk in keys:
            self.referencing[fk.referred_table].append(fk)
        self.outgoing: dict[str, list[LiveForeignKey]] = defaultdict(list)
        for fk in keys:
            self.outgoing[fk.table].append(fk)
        self.tables: dict[str, DraftTable] = {}
        self.left_out: dict[str, str] = {}
        self.queue: deque[str] = deque()

    def classify(self, name: str, *, identity: bool = False) -> dict[str, Guess]:
        table = self.roots[name]
        return table_classify(
            self.conn,
            table,
            schema=self.schema,
            sample=self.sample,
            today=self.today,
            person=True,
            identity=identity,
            skip=_key_columns(table),
        )

    def reaches(self, start: str, target: str) -> bool:
        """Return whether following links from ``start`` comes to ``target`` (adding target -> start would circle)."""
        stack, seen = [start], set()
        while stack:
            name = stack.pop()
            if name == target:
                return True
            if name not in seen:
                seen.add(name)
                stack.extend(link.table for link in self.tables[name].links)
        return False

    def link_add(self, name: str, other: str, columns: dict[str, str], fk: LiveForeignKey) -> None:
        if self.tables[name].role == IDENTITY:
            return  # found by its identifiers
        if self.reaches(other, name):
            self.tables[name].notes.append(f"{fk.describe()} is not followed: the links would go round in a circle")
            return
        self.tables[name].links.append(DraftLink(other, columns, fk.describe()))

    def add(self, name: str, role: str, guesses: dict[str, Guess]) -> DraftTable:
        self.left_out.pop(name, None)
        self.tables[name] = DraftTable(name, role, self.roots[name], guesses)
        self.queue.append(name)
        return self.tables[name]

    def run(self, identity: str) -> None:
        self.add(identity, IDENTITY, self.classify(identity, identity=True))
        while self.queue:
            name = self.queue.popleft()
            table = self.tables[name]
            if table.role in (IDENTITY, OWN):
                for fk in self.referencing[name]:
                    self.down(table, fk)
            if table.role != CONTEXT:
                for fk in self.outgoing[name]:
                    self.up(table, fk)

    def down(self, table: DraftTable, fk: LiveForeignKey) -> None:
        """Follow a key that points at the person's rows: the rows holding it are the person's too."""
        child = fk.table
        if child == table.name:
            column = ", ".join(fk.columns)
            table.notes.append(f"{child}.{column} points at other rows of {child}, another person's: not followed")
            return
        if not self.roots[child].primary_key:
            self.left_out[child] = f"no primary key ({fk.describe()} points at the person's rows)"
            return
        existing = self.tables.get(child)
        if existing is None:
            self.add(child, OWN, self.classify(child))
        elif existing.role == CONTEXT:
            existing.role, existing.label = OWN, ""
            self.queue.append(child)
        self.link_add(child, table.name, dict(zip(fk.columns, fk.referred_columns, strict=True)), fk)

    def up(self, table: DraftTable, fk: LiveForeignKey) -> None:
        """Follow a key the person's rows hold: the row it points at is theirs, a lookup, or another person's."""
        parent = fk.referred_table
        if parent == table.name or parent not in self.roots:
            return
        existing = self.tables.get(parent)
        if existing is None and parent not in self.left_out:
            if not self.roots[parent].primary_key:
                self.left_out[parent] = f"no primary key ({fk.describe()} points at it)"
                return
            guesses = self.classify(parent)
            others = [column for column, guess in guesses.items() if guess.kind == "email"]
            if others and not _unique(self.roots[table.name], fk.columns):
                self.left_out[parent] = f"holds other people ({', '.join(others)})"
            elif any(guess.strong for guess in guesses.values()):
                existing = self.add(parent, REFERENCED, guesses)
            else:
                existing = self.add(parent, CONTEXT, guesses)
                existing.label = _label(self.roots[parent])
        if existing is not None and existing.role == REFERENCED:
            self.link_add(parent, table.name, dict(zip(fk.referred_columns, fk.columns, strict=True)), fk)
        elif existing is not None and existing.role == CONTEXT:
            existing.notes.append(f"pointed at by {fk.describe()}")
        elif parent in self.left_out:
            table.notes.append(f"{table.name}.{', '.join(fk.columns)} points at {parent}, not mapped")


def _financial(table: DraftTable) -> bool:
    tokens = name_tokens(table.name)
    named = any(re.fullmatch(_FINANCIAL, token) for token in [*tokens, "".join(tokens)])
    return named or any(guess.kind == "money" for guess in table.guesses.values())


def _date_column(table: DraftTable) -> str:
    dates = [
        name
        for name, column in table.live.columns.items()
        if column.is_date and (name not in table.guesses or table.guesses[name].category != "birth_date")
    ]
    for pattern in _DATE_PREFERENCE:
        for name in dates:
            if any(re.fullmatch(pattern, token) for token in name_tokens(name)):
                return name
    return dates[0] if dates else ""


def _method(column: LiveColumn, guess: Guess) -> tuple[str | dict | None, str]:
    """Return how erasure anonymises a column, and a note; None when no method fits it (a human decides)."""
    if guess.kind == "birth" and column.is_date:
        return {"truncate": "year"}, "the year stays, for age checks"
    if column.is_text:
        if guess.kind == "email" or column.unique:
            if column.length is None or column.length >= 16:
                return "hash", "unique and sized to the column" if column.unique else "a keyed hash, not the address"
            if column.nullable:
                return "clear", f"too short ({column.length}) to hash"
            return None, f"{column.type} NOT NULL and unique, too short to hash"
        return ("clear", "") if column.nullable else ("redact", "NOT NULL")
    if column.nullable:
        return "clear", ""
    if column.is_number and not column.unique:
        return {"set": 0}, "NOT NULL"
    return None, f"{column.type} NOT NULL: no method fits"


def _fields_choose(table: DraftTable) -> None:
    for name, guess in table.guesses.items():
        if guess.category not in IDENTIFYING:
            continue
        method, note = _method(table.live.columns[name], guess)
        if method is None:
            table.decisions.append(f"{name} cannot be anonymised ({note}); clear it by hand or change the column")
            continue
        table.fields[name] = method
        if note:
            table.field_notes[name] = note
        if guess.kind == "secret":
            table.exclude.append(name)
    for name, column in table.live.columns.items():
        if column_is_flag(name, column) and name not in _key_columns(table.live):
            table.fields[name] = {"set": False}
            table.field_notes[name] = "a flag that keeps the person active or subscribed"


def _follows(table: "DraftTable", fk: LiveForeignKey, name: str) -> bool:
    """Return whether one of ``table``'s links follows ``fk`` to ``name`` (so every row it finds that way is theirs)."""
    pairs = dict(zip(fk.columns, fk.referred_columns, strict=True))
    return any(link.table == name and link.columns == pairs for link in table.links)


def _blockers(walk: _Walk, name: str) -> list[LiveForeignKey]:
    """Return the keys that forbid deleting ``name``'s rows: they point at them from rows that stay.

    A deleted table that points at them by a key none of its links follows (a patient's primary visit)
    may also point at other people's rows: the rows it points at are then left as shared, not blocked.
    """
    blocking = []
    table = walk.tables[name]
    for fk in walk.referencing[name]:
        other = walk.tables.get(fk.table)
        deleted_too = fk.table != name and other is not None and other.strategy == DELETE
        if fk.on_delete == "SET NULL" or (deleted_too and _follows(other, fk, name)):
            continue
        if deleted_too and table.role != IDENTITY:
            reason = f"{fk.describe()} (other rows of {fk.table} may point at the same row)"
            if reason not in table.shared:
                table.shared.append(reason)
            continue
        blocking.append(fk)
    return blocking


def _strategies(walk: _Walk) -> None:
    tables = walk.tables
    for table in tables.values():
        if table.role == OWN and _financial(table):
            table.strategy, table.hold = KEEP, HOLD
        elif table.role in (IDENTITY, OWN):
            table.strategy = DELETE
        elif table.role == REFERENCED:
            table.strategy = ANONYMISE
    changed = True
    while changed:  # a row that stays keeps the rows it points at from being deleted, transitively
        changed = False
        for table in tables.values():
            if table.strategy == DELETE and (blocking := _blockers(walk, table.name)):
                table.strategy, changed = ANONYMISE, True
                table.why = f"not delete: {'; '.join(fk.describe() for fk in blocking[:3])} points at these rows"
    for table in tables.values():
        if table.strategy == ANONYMISE:
            _fields_choose(table)
            if not table.fields:
                _fallback(table)
        elif table.strategy == KEEP:
            money = [name for name, guess in table.guesses.items() if guess.kind == "money"]
            table.why = f"bookkeeping records ({'money in ' + ', '.join(money) if money else 'by its name'})"
            table.date_column = _date_column(table)
            table.after_hold = DELETE if table.date_column else ""
    _holds_end(walk)
    for table in tables.values():
        if table.role == REFERENCED:
            _shared(walk, table)


def _dated_by(walk: _Walk, table: DraftTable) -> DraftTable | None:
    """Return the kept table an undated kept table's rows are dated by: one it links to, held alike, then deleted."""
    for link in table.links:
        other = walk.tables[link.table]
        if other.strategy == KEEP and other.hold == table.hold and other.date_column and other.after_hold == DELETE:
            return other
    return None


def _holds_end(walk: _Walk) -> None:
    """Say what happens to kept rows whose hold has ended: deleted unless rows that stay still point at them."""
    dated = [table for table in walk.tables.values() if table.strategy == KEEP and table.date_column]
    changed = True
    while changed:  # a row that outlives its hold keeps the rows it points at, transitively
        changed = False
        for table in dated:
            if table.after_hold != DELETE:
                continue
            blocking = []
            for fk in _blockers(walk, table.name):
                other = walk.tables.get(fk.table)
                goes_too = other is not None and fk.table != table.name and other.strategy == KEEP
                goes_too = goes_too and (other.after_hold == DELETE or _dated_by(walk, other) is table)
                if not goes_too:
                    blocking.append(fk)
            if blocking:
                table.after_hold, changed = ANONYMISE, True
                table.after_hold_why = f"not delete: {blocking[0].describe()} points at these rows"
    for table in walk.tables.values():
        if table.strategy != KEEP or table.fallback:
            continue
        if table.after_hold == ANONYMISE:
            _fields_choose(table)
            if not table.fields:
                table.date_column = table.after_hold = ""
                table.decisions.append(f"kept with no end date: {table.after_hold_why[len('not delete: ') :]}")
        elif not table.date_column and (by := _dated_by(walk, table)) is not None:
            table.notes.append(f"dated by {by.name}: its rows go when their {by.name} row's hold ends")
        elif not table.date_column:
            table.decisions.append(
                "no date column of its own: kept rows get no end date. Say when they go in the hold's description, "
                "or add a date column"
            )


def _fallback(table: DraftTable) -> None:
    """Give a table that may not be deleted and has nothing personal a strategy that loads: a human decides."""
    table.strategy, table.hold, table.fallback = KEEP, HOLD, True
    table.decisions.append(
        "kept: these rows may not be deleted (other rows point at them) and no column looks personal. Choose "
        "anonymise with fields, or another hold"
    )


def _shared(walk: _Walk, table: DraftTable) -> None:
    person = {name for name, other in walk.tables.items() if other.role in (IDENTITY, OWN)}
    for fk in walk.referencing[table.name]:
        if fk.table not in person:
            table.shared.append(f"{fk.describe()} ({fk.table} is not the person's)")
        elif not _unique(walk.roots[fk.table], fk.columns):
            table.shared.append(f"{fk.describe()} (other rows of {fk.table} may point at the same row)")
    table.unlinkable = all(
        walk.roots[link.table].columns[column].nullable for link in table.links for column in link.columns.values()
    )


def _identifiers(walk: _Walk, identity: str, column: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    guesses = walk.tables[identity].guesses
    kind = guesses[column].kind if column in guesses else ""
    notes = {}
    if kind not in ("email", "phone"):
        kind = "_".join(name_tokens(column)) or "customer_number"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
            kind = "customer_number"
        notes[kind] = f"{column} looks like neither an email nor a phone: people give dsr what they know"
    identifiers = {kind: [column]}
    for name, guess in guesses.items():
        if name != column and guess.kind in ("email", "phone"):
            identifiers.setdefault(guess.kind, []).append(name)
            if guess.kind == "phone" and guess.kind != kind:
                notes["phone"] = "finding people by phone too; remove it if numbers are shared (a household)"
    return identifiers, notes


def _unreached(walk: _Walk) -> dict[str, list[str]]:
    found = {}
    for name, table in walk.roots.items():
        if name in walk.tables or name in walk.left_out:
            continue
        guesses = table_classify(
            None, table, schema=None, sample=0, today=walk.today, person=False, skip=_key_columns(table)
        )
        strong = [column for column, guess in guesses.items() if guess.strong and guess.confident]
        if strong:
            found[name] = strong
    return found


def datamap_draft(
    conn: Connection, *, table: str, column: str, schema: str | None = None, sample: int = 200, today: dt.date
) -> Draft:
    """Return the draft of a map for the people of ``table``, found by ``column``; raise DraftError if it cannot."""
    live = live_schema_read(conn, schema)
    roots, _ = _roots(live)
    table = _find(roots, table, f'table "{table}" does not exist')
    column = _find(roots[table].columns, column, f'table "{table}" has no column "{column}"')
    if not roots[table].primary_key:
        raise DraftError(f'table "{table}" has no primary key: dsr changes rows by their key; add one')
    walk = _Walk(conn, live, schema=schema, sample=sample, today=today)
    walk.run(table)
    _strategies(walk)
    identifiers, notes = _identifiers(walk, table, column)
    order = {IDENTITY: 0, OWN: 1, REFERENCED: 2, CONTEXT: 3}
    tables = dict(sorted(walk.tables.items(), key=lambda item: order[item[1].role]))
    return Draft(live.dialect, table, column, identifiers, notes, tables, walk.left_out, _unreached(walk))

"""The contract every data-source connector follows.

A connector is built for one source of the active data map. It never stores
anything in dsr's database itself: it reads and changes the source, and returns
plain, JSON-serialisable plans and results that the workers keep on their jobs.

Every method raises SourceError (SourcePermanentError or SourceTransientError)
when the source cannot do what was asked; the message names the source and the
problem and never the person. A method for a capability the connector or its
configuration does not have raises SourceUnsupported.
"""

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings

from dsr.datamap.schema import DataMap, DataMapError
from dsr.models import Operation

# Identifiers by type: {"email": {"a@example.com"}, "phone": {"+4512345678"}}.
Identifiers = dict[str, set[str]]

# What a connector can do, as reported by Connector.capabilities(): the operations of dsr.models.Operation
# that it carries out itself, plus these two.
ACCESS = Operation.ACCESS.value
ERASURE = Operation.ERASURE.value
RECTIFICATION = Operation.RECTIFICATION.value
RESTRICTION = Operation.RESTRICTION.value
CONSENT_WITHDRAWAL = Operation.CONSENT_WITHDRAWAL.value
AUDIENCE_REMOVAL = Operation.AUDIENCE_REMOVAL.value
DISCOVER = "discover"  # finds more identifiers of the person (identity resolution)
# Reads the person's consent records and their state, and records a consent the person gives (the preference
# centre, dsr/preferences.py); neither is a request's operation.
CONSENT_READ = "consent_read"
CONSENT_GIVE = "consent_give"
ASYNC = "async"  # results arrive later (a processor's callback, a person's task)
CAPABILITIES = (
    ACCESS,
    DISCOVER,
    ERASURE,
    RECTIFICATION,
    RESTRICTION,
    CONSENT_WITHDRAWAL,
    AUDIENCE_REMOVAL,
    CONSENT_READ,
    CONSENT_GIVE,
    ASYNC,
)

# What an operation does to a table's rows (or a processor's or a person's share): the action of a Fact.
READ = "read"  # access: rows found and collected
DELETE = "delete"
ANONYMISE = "anonymise"
KEEP = "keep"  # kept under a legal hold (GDPR Art. 17(3))
UPDATE = "update"  # rectification, restriction flag, consent state
REQUEST = "request"  # asked of a processor (http)
TASK = "task"  # done by a person (manual)
# An ad platform (an independent controller) was asked to drop hashed identifiers from an audience; it answers
# with counts of what it received, never whether the person was in the audience.
AUDIENCE = "audience"
ERASURE_ACTIONS = (DELETE, ANONYMISE, KEEP, REQUEST, TASK)
ACTIONS = (READ, DELETE, ANONYMISE, KEEP, UPDATE, REQUEST, TASK, AUDIENCE)


class SourceError(Exception):
    """A source could not do what was asked; ``permanent`` says whether a retry can help."""

    permanent: bool = True

    def __init__(self, source: str, problem: str, *, permanent: bool | None = None):
        self.source = source
        self.problem = problem
        if permanent is not None:
            self.permanent = permanent
        super().__init__(f"source {source!r}: {problem}")


class SourcePermanentError(SourceError):
    """Retrying will fail the same way: configuration, schema, credentials, a refused request."""

    permanent = True


class SourceTransientError(SourceError):
    """Worth retrying later: the source is down, timed out or busy."""

    permanent = False


class SourceUnsupported(SourcePermanentError):
    """The connector (or this source's configuration) cannot do this operation."""


class SignatureInvalid(Exception):
    """A callback's signature is missing, stale or wrong; its body was not read."""


@dataclass
class Record:
    """One row (or document) about the person, with the data category of each field."""

    source: str
    table: str
    row: dict[str, Any]
    categories: dict[str, str]
    # GDPR Art. 20(1): data the person provided, including observed activity.
    provided: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Fact:
    """What one operation found and did in one table (record group, processor or task) for the person.

    Facts are what a source reports; everything dsr says afterwards (letters,
    Art. 19 notices, the status page, the API, webhooks) is made from them,
    never from the plan. They carry table names, counts and data categories:
    never a value from the rows.
    """

    table: str
    action: str  # one of ACTIONS
    # Rows the person has there; None where the source cannot say (a processor answers for itself).
    found: int | None = 0
    # Rows deleted, anonymised or updated: 0 when nothing changed (the letter then says nothing changed).
    changed: int = 0
    # Rows kept under ``hold`` (GDPR Art. 17(3)(b)), with the date the last of them may go, where computable.
    kept: int = 0
    hold: str = ""
    hold_until: str | None = None
    # Rows left alone because other people's data still uses them, and how many of those the person's
    # own rows no longer point at (their link to them was cleared: `shared: unlink`).
    shared: int = 0
    unlinked: int = 0
    # What the fact is about within the table: the correction's field key (rectification), the consent key.
    item: str = ""
    # The columns changed, and the data categories of what changed (Art. 19 lineage) or was found (Art. 15).
    columns: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    # A processor or a person said the work is done (None: not yet, or not asked).
    confirmed: bool | None = None
    reference: str = ""  # a processor's request id, a task's id

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Fact":
        return cls(**{key: value for key, value in data.items() if key in _FACT_FIELDS})


_FACT_FIELDS = {
    "table",
    "action",
    "found",
    "changed",
    "kept",
    "hold",
    "hold_until",
    "shared",
    "unlinked",
    "item",
    "columns",
    "categories",
    "confirmed",
    "reference",
}


@dataclass
class TablePlan:
    """What erasure would do to one table (or one processor or task): the rows by key, never by content."""

    table: str
    action: str
    count: int
    keys: list = field(default_factory=list)
    # Column -> method ("clear", "redact", "hash") for anonymise, and for keep with minimisation.
    fields: dict[str, str] = field(default_factory=dict)
    # GDPR Art. 17(3)(b): the legal obligation rows are kept under, and until when where computable.
    hold: str = ""
    hold_until: str | None = None
    # Free text from plans stored before ``cascaded`` existed; new plans leave it empty (pages are bilingual).
    note: str = ""
    # The data categories the action would change (the deleted rows' or the anonymised columns').
    categories: list[str] = field(default_factory=list)
    # Rows of other tables that go with the deleted ones (a cascade), by table: what the plan page lists.
    cascaded: dict[str, int] = field(default_factory=dict)
    # The keys of the person's rows left alone because rows that are not theirs still point at them.
    shared_keys: list = field(default_factory=list)


_TABLE_PLAN_FIELDS = {
    "table",
    "action",
    "count",
    "keys",
    "fields",
    "hold",
    "hold_until",
    "note",
    "categories",
    "cascaded",
    "shared_keys",
}


@dataclass
class ErasurePlan:
    """What erasure will do in one source; executing it does exactly this and nothing else."""

    source: str
    kind: str
    tables: list[TablePlan]
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ErasurePlan":
        return cls(
            source=data["source"],
            kind=data["kind"],
            tables=[
                TablePlan(**{k: v for k, v in table.items() if k in _TABLE_PLAN_FIELDS}) for table in data["tables"]
            ],
            extra=data.get("extra", {}),
        )

    def counts(self) -> dict[str, int]:
        """Return the number of rows per action, e.g. {"delete": 3, "keep": 2}."""
        totals: dict[str, int] = {}
        for table in self.tables:
            totals[table.action] = totals.get(table.action, 0) + table.count
        return totals


@dataclass
class ErasureResult:
    """What executing a plan did, as facts. ``complete`` is False while a processor or person still has to act."""

    source: str
    facts: list[Fact]
    complete: bool = True
    reference: str = ""  # a processor's request id, a task's id
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ErasureResult":
        return cls(
            source=data["source"],
            facts=[Fact.from_dict(fact) for fact in data["facts"]],
            complete=data.get("complete", True),
            reference=data.get("reference", ""),
            extra=data.get("extra", {}),
        )


@dataclass
class ChangeResult:
    """What a rectification, restriction, consent withdrawal or audience removal did in one source, as facts."""

    source: str
    operation: str
    facts: list[Fact] = field(default_factory=list)
    # Requested corrections this source holds no field for (they go to a manual task or are reported).
    not_applicable: list[str] = field(default_factory=list)
    complete: bool = True
    reference: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(fact.changed for fact in self.facts)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ChangeResult":
        return cls(
            source=data["source"],
            operation=data["operation"],
            facts=[Fact.from_dict(fact) for fact in data.get("facts", [])],
            not_applicable=data.get("not_applicable", []),
            complete=data.get("complete", True),
            reference=data.get("reference", ""),
            extra=data.get("extra", {}),
        )


# Rectification, GDPR Art. 16: {"field": "address", "correct": "Ny Adresse 1"}.
Correction = dict[str, str]


def date_iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


DEFAULT_REDACTION = "[erased]"


def value_jsonable(value: Any) -> Any:
    """Return a database value as JSON can carry it (dates as ISO text, decimals as text, bytes as base64)."""
    if value.__class__ in (int, str):
        return value  # most keys: a batch converts hundreds of thousands of them
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def value_date(value: Any) -> dt.date | None:
    """Return the calendar date of a stored date, datetime or ISO text, or None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def value_anonymised(*, method: str, where: str, key: Any, max_length: int | None, redaction: str) -> str | None:
    """Return the value that replaces a field on erasure ("clear", "redact" or "hash").

    "hash" is a keyed HMAC-SHA256 of where the value stood (source, table, column,
    row key), not of the value: unique (for UNIQUE columns), stable (a second run
    writes the same), and not derivable from the erased data.
    """
    if method == "clear":
        return None
    if method == "redact":
        value = redaction
    else:
        secret = settings.DSR_ANONYMISE_KEY or settings.SECRET_KEY
        key_bytes = hmac.new(secret.encode(), b"dsr.sources.anonymise", hashlib.sha256).digest()
        value = "anon-" + hmac.new(key_bytes, f"{where}\x1f{key!r}".encode(), hashlib.sha256).hexdigest()
    return value[:max_length] if max_length else value


class Connector:
    """Base class of the connectors; one subclass per kind, registered in dsr.sources.registry.

    ``source`` is the source's entry of the validated data map (key, name,
    kind, purposes, recipients, groups, origin, provided_by_subject, config);
    ``datamap`` the whole map, for its legal holds and controller.

    Core code never asks a connector its kind: it asks what the connector does
    (``supports``), whether a person does it (``task_for``), whether its own
    requests already reach its recipients (``informs_recipients``), and whether
    it takes callbacks (``accepts_callbacks``). A job's connector has a ``state``
    (dsr.sources.state.JobState) for what it must remember between runs.
    """

    kind: ClassVar[str] = ""
    # Carrying out a change here is itself the message to this source's recipients (an OpenGDPR processor is
    # sent the request): GDPR Art. 19 needs no separate notice to them for that change.
    informs_recipients: ClassVar[bool] = False
    # The source reports back by signed callback (dsr.engine.callbacks); see callback_verify.
    accepts_callbacks: ClassVar[bool] = False
    # Reading and planning touch only the source's own storage (no processor is asked, no task is made):
    # `dsr_check_sources --person` may dry-run it.
    reads_in_place: ClassVar[bool] = False

    def __init__(self, source: dict, datamap: DataMap):
        self.source = source
        self.key: str = source["key"]
        self.config: dict = source["config"]
        self.datamap = datamap

    # --- configuration, checked when the map is loaded and at start-up ---------

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        """Return every problem in this kind's part of a source's configuration, each with its path."""
        return []

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        """Return the names ``provided_by_subject`` may list (tables, models), or None for any."""
        return None

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        """Return what the configuration says of each record group (table, model, record group, task).

        ``{group: {"purposes": [...] | None, "recipients": [...] | None, "categories": [...]}}``: a group's
        own purposes and recipients (None: the source's), and the data categories it holds; optionally
        ``records_consents`` (it holds the person's consents), ``identifiers`` ({kind: category} of the
        identifiers it finds the person by) and ``hold`` (the legal hold its rows are kept under). The map's
        lineage (dsr.datamap.lineage) reads these to name purposes and recipients in the Art. 15 answer
        and to find which recipients an Art. 19 notice is due to. Called on a configuration that
        ``config_errors`` found valid.
        """
        return {}

    @classmethod
    def column_labels(cls, config: dict) -> dict[str, dict]:
        """Return the names a person reads for each record group and its columns, where the map gives them.

        ``{group: {"label": {"da": ..., "en": ...} | None, "columns": {column: {"da": ..., "en": ...}}}}``;
        a group or column left out is named by its own name, humanised (the export bundle's index.html and
        readable CSV). Called on a configuration that ``config_errors`` found valid.
        """
        return {}

    def capabilities(self) -> frozenset[str]:
        """Return what this source does itself, as names from CAPABILITIES."""
        return frozenset()

    def supports(self, operation: str) -> bool:
        """Return whether this source carries out ``operation`` (an Operation value) itself."""
        return operation in self.capabilities()

    def task_for(self, operation: str) -> dict | None:
        """Return the task a person does for ``operation`` here (source, operation, owner, instructions), or None.

        A connector that is worked by hand returns its owner's instructions; the engine turns them into a
        ManualTask and the job waits for its attestation.
        """
        return None

    # --- operations ------------------------------------------------------------

    def error(self, problem: str, *, permanent: bool = True) -> SourceError:
        """Return the error to raise, naming this source."""
        cls = SourcePermanentError if permanent else SourceTransientError
        return cls(self.key, problem)

    def unsupported(self, operation: str) -> SourceUnsupported:
        return SourceUnsupported(self.key, f"a {self.kind} source configured like this cannot do {operation}")

    def test_connection(self) -> None:
        """Check that the source is reachable and configured as the map says; raise SourceError if not."""
        raise NotImplementedError

    def warm(self) -> None:
        """Load what a process's first operation would (a worker at start); SourceError if it cannot be reached."""

    def live_map_errors(self) -> list[DataMapError]:
        """Return the ways the map would break what the source itself enforces (a database's constraints).

        Empty where the source enforces nothing dsr can read; raise SourceError if it cannot be reached.
        """
        return []

    def discover_identifiers(self, identifiers: Identifiers) -> Identifiers:
        """Return the identifiers this source holds for the person found by ``identifiers``."""
        return {}

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        """Yield the person's records one at a time (GDPR Art. 15, 20); never the whole table in memory."""
        raise self.unsupported("access")

    def record_batches(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Any]:
        """Yield the person's records as ``records`` does, or rows of one table together.

        A kind that reads many rows yields dsr.sources.batches.RecordBatch, whose module imports this one (so the
        annotations here do not name it).
        """
        return self.records(identifiers, reference=reference)

    def batch_consents(self, batch: Any) -> set[str]:
        """Return the consent keys the rows of ``batch`` show as given, as ``consent_given`` says of each."""
        return {given for record in batch.records() if (given := self.consent_given(record))}

    def consent_given(self, record: Record) -> str | None:
        """Return the consent key ``record`` shows as given (a consent row that is not withdrawn), or None.

        GDPR Art. 15(1)(a): the answer names a consent-based purpose only where the person gave the consent.
        """
        return None

    def consents_recorded(self, identifiers: Identifiers) -> set[str]:
        """Return the consent keys this source shows the person gave at some time (given now, or withdrawn since).

        GDPR Art. 19: data shared under a consent went to its recipients even if the consent was later
        withdrawn; the lineage uses these to tell them of a change. Changes nothing.
        """
        return set()

    def consents_read(self, identifiers: Identifiers) -> dict[str, str]:
        """Return the state of each consent this source records for the person: {consent_key: given | withdrawn}.

        A consent with no record here is left out. Changes nothing (the preference centre shows it).
        """
        raise self.unsupported("reading consents")

    def consent_give(self, identifiers: Identifiers, consent: str, *, channel: str) -> ChangeResult:
        """Record that the person gives ``consent`` now, through ``channel`` (GDPR Art. 7(1): kept as evidence).

        Reports per table what it wrote; ``changed`` 0 where nothing could be recorded (the person is not here).
        """
        raise self.unsupported("recording a consent")

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        """Return what erasure would do (GDPR Art. 17), changing nothing."""
        raise self.unsupported("erasure")

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        """Carry out exactly ``plan`` and report what it did per table; a second run changes nothing more."""
        raise self.unsupported("erasure")

    def rectification_preview(self, identifiers: Identifiers, corrections: list[Correction]) -> list[Fact]:
        """Return what the corrections would change (GDPR Art. 16), changing nothing: a Fact per table and field.

        ``found`` is the rows the person has there, ``changed`` those whose value differs from the correct one.
        """
        raise self.unsupported("rectification")

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        """Apply corrections (GDPR Art. 16) to the fields this source maps; report the rest as not applicable."""
        raise self.unsupported("rectification")

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        """Mark (or unmark) the person's data as restricted (GDPR Art. 18)."""
        raise self.unsupported("restriction")

    def consent_withdraw(self, identifiers: Identifiers, consents: list[str], *, reference: str = "") -> ChangeResult:
        """Record the withdrawal of the named consents (GDPR Art. 7(3)); report per table what changed."""
        raise self.unsupported("consent withdrawal")

    def audience_remove(self, identifiers: Identifiers, *, reference: str = "") -> ChangeResult:
        """Ask a partner to remove the person from its audiences (GDPR Art. 7(3), 21(3)), with no plan to approve."""
        raise self.unsupported("audience removal")

    def audience_task(self, identifiers: Identifiers) -> dict | None:
        """Return the task a person does instead of ``audience_remove`` (what to remove, from which audience), or None.

        A platform with no credentials configured is worked by hand; the task names exactly what to remove.
        """
        return None

    # --- callbacks -------------------------------------------------------------------

    def callback_verify(self, body: bytes, signature: str | None, *, now: float | None = None) -> dict:
        """Verify a signed status callback before parsing it; return what it says and what was signed.

        The dict holds ``reference`` and ``status`` (what the callback says) and ``event_id``, ``timestamp``
        and ``signature`` (what the signature covered, normalised: replays are recognised by these).
        Raise SignatureInvalid for a bad signature (the body is not read), ValueError for a bad body.
        """
        raise self.unsupported("callbacks")

    def work_reference(self, operation: str, identifiers: Identifiers, reference: str) -> str:
        """Return the id this source is sent for ``operation`` of request ``reference`` (matched by callbacks)."""
        raise self.unsupported("callbacks")

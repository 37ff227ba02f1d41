"""What a request came to, made only from what the sources reported (their facts), never from the plan.

The outcome is recorded on the plan when the right finishes (or when staff
close the request with parts not done) and is the one thing letters, emails,
the status page, the API and webhooks read about the result. It holds system
keys and names, table names, counts, hold keys and dates: never a value from
the person's rows.

A source's state:
  done            it reported changing, keeping or finding something (lines say what)
  nothing_found   it was asked and holds nothing about the person
  asked           a processor was sent the request (its answer is in the line)
  pending         its work is not finished
  failed          its work failed for good
"""

from dataclasses import asdict, dataclass, field
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext_lazy

from dsr.datamap.schema import DataMap, localised
from dsr.models import Job, JobStatus, NotificationChannel, NotificationStatus, Plan, Request
from dsr.sources.base import ANONYMISE, AUDIENCE, DELETE, KEEP, READ, REQUEST, TASK, UPDATE, Fact
from dsr.sources.registry import connector_class

DONE, NOTHING_FOUND, ASKED, PENDING, FAILED = "done", "nothing_found", "asked", "pending", "failed"
# Operations that only read: work done by hand for them found data, it changed none.
_READS = ("access",)
# Line kinds, by the fact they come from.
DELETED, ANONYMISED, KEPT, SHARED = "deleted", "anonymised", "kept", "shared"
ALREADY = "already"  # rows found that an earlier erasure had already deleted or anonymised
CHANGED, UNCHANGED = "changed", "unchanged"  # an update, named by the right (corrected, restricted, withdrawn)
FOUND = "found"  # access: records found
PROCESSOR = "processor"  # a processor was sent the request; ``confirmed`` says whether it reported it done
BY_HAND = "by_hand"  # a person did the work and said so
AUDIENCE_ASKED = "audience"  # an ad platform was asked to drop the person's hashes; ``count`` is what it accepted


@dataclass
class Line:
    """One thing that happened in one source, as a letter says it."""

    kind: str
    table: str = ""
    count: int = 0
    item: str = ""  # a correction's field key, a consent key
    hold: str = ""
    until: str | None = None
    confirmed: bool | None = None
    categories: list[str] = field(default_factory=list)
    # Kept rows whose identifying fields were erased all the same (minimisation): a change Art. 19 announces.
    minimised: int = 0
    # Shared rows the person's own rows no longer point at.
    unlinked: int = 0


@dataclass
class SourceOutcome:
    key: str
    name: dict  # {da, en}
    state: str
    lines: list[Line] = field(default_factory=list)
    operation: str = ""


@dataclass
class Outcome:
    right: str
    sources: list[SourceOutcome] = field(default_factory=list)
    # Right-specific summaries (rectification: per correction; consent withdrawal: per consent).
    items: list[dict] = field(default_factory=list)
    # GDPR Art. 19: the recipients told, filled in by dsr.rights.notices.
    notified: list[dict] = field(default_factory=list)
    recorded_at: str = ""

    @property
    def found(self) -> bool:
        """Return whether a source reported holding something about the person (a processor asked is not that)."""
        return any(source.state == DONE for source in self.sources)

    @property
    def changed(self) -> bool:
        """Return whether a source reported changing something (a person collecting data by hand changes nothing)."""
        return any(
            line.kind in (DELETED, ANONYMISED, CHANGED)
            or (line.kind == KEPT and line.minimised)
            or (line.kind == BY_HAND and source.operation not in _READS)
            for source in self.sources
            for line in source.lines
        )

    def summary(self) -> dict:
        """Return counts for webhooks and the API: what happened, never about whom."""
        counts: dict[str, int] = {}
        for source in self.sources:
            for line in source.lines:
                counts[line.kind] = counts.get(line.kind, 0) + (line.count or 1)
        return {
            "found": self.found,
            "changed": self.changed,
            "sources": {source.key: source.state for source in self.sources},
            "counts": counts,
            # Told through their API or by email as the outcome was recorded; the others by staff, later.
            "recipients_notified": sum(
                1 for entry in self.notified if entry.get("channel") != NotificationChannel.MANUAL
            ),
            "recipients_to_tell_by_hand": sum(
                1 for entry in self.notified if entry.get("channel") == NotificationChannel.MANUAL
            ),
        }

    def to_dict(self) -> dict:
        document = asdict(self)
        document["summary"] = self.summary()
        return document

    @classmethod
    def from_dict(cls, data: dict) -> "Outcome":
        return cls(
            right=data.get("right", ""),
            sources=[
                SourceOutcome(
                    key=source["key"],
                    name=source["name"],
                    state=source["state"],
                    lines=[Line(**line) for line in source.get("lines", [])],
                    operation=source.get("operation", ""),
                )
                for source in data.get("sources", [])
            ],
            items=data.get("items", []),
            notified=data.get("notified", []),
            recorded_at=data.get("recorded_at", ""),
        )


def job_facts(job: Job) -> list[Fact]:
    """Return the facts a finished job reported (connector results and attested tasks alike)."""
    return [Fact.from_dict(fact) for fact in (job.result or {}).get("facts", [])]


def fact_lines(fact: Fact) -> list[Line]:
    """Return what one fact says happened; nothing for zero rows (a letter never lists "(0)")."""
    lines = []
    if fact.action == DELETE and fact.changed:
        lines.append(Line(DELETED, fact.table, fact.changed, categories=fact.categories))
    elif fact.action == ANONYMISE and fact.changed:
        lines.append(Line(ANONYMISED, fact.table, fact.changed, categories=fact.categories))
    elif fact.action in (DELETE, ANONYMISE) and (fact.found or 0) > fact.shared:
        # Rows left alone because others use them are said below, not as "already erased".
        lines.append(Line(ALREADY, fact.table, fact.found - fact.shared))
    elif fact.action == KEEP and fact.kept:
        line = Line(KEPT, fact.table, fact.kept, hold=fact.hold, until=fact.hold_until, minimised=fact.changed)
        line.categories = fact.categories if fact.changed else []
        lines.append(line)
    elif fact.action == UPDATE and fact.changed:
        lines.append(Line(CHANGED, fact.table, fact.changed, item=fact.item, categories=fact.categories))
    elif fact.action == UPDATE and fact.found:
        lines.append(Line(UNCHANGED, fact.table, fact.found, item=fact.item))
    elif fact.action == READ and fact.found:
        lines.append(Line(FOUND, fact.table, fact.found, categories=fact.categories))
    elif fact.action == REQUEST and fact.reference:
        # A processor that was sent nothing (no identifier of the person it could be asked by) was not asked.
        lines.append(Line(PROCESSOR, fact.table, confirmed=fact.confirmed))
    elif fact.action == AUDIENCE and fact.reference:
        # GDPR Art. 7(3), 17, 21(3): what the platform confirmed is a count received, not the person's presence.
        lines.append(Line(AUDIENCE_ASKED, fact.table, fact.changed, item=fact.item, confirmed=fact.confirmed))
    elif fact.action == TASK and fact.found:
        lines.append(Line(BY_HAND, fact.table, categories=fact.categories, confirmed=True))
    if fact.shared:
        lines.append(Line(SHARED, fact.table, fact.shared, unlinked=fact.unlinked))
    return lines


def source_outcome(job: Job, datamap: DataMap) -> SourceOutcome:
    """Return what one source's job came to."""
    source = datamap.sources.get(job.source_key) or {}
    name = source.get("name") or job.source_key
    name = name if isinstance(name, dict) else {"da": name, "en": name}
    outcome = SourceOutcome(key=job.source_key, name=name, state=PENDING, operation=job.operation)
    if job.status == JobStatus.DONE:
        outcome.lines = [line for fact in job_facts(job) for line in fact_lines(fact)]
        if any(line.kind in (PROCESSOR, AUDIENCE_ASKED) for line in outcome.lines):
            outcome.state = ASKED
        else:
            outcome.state = DONE if outcome.lines else NOTHING_FOUND
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        outcome.state = FAILED
    return outcome


def sources_outcome(request: Request, datamap: DataMap, operations: list[str]) -> list[SourceOutcome]:
    """Return each source's outcome for the request's jobs of ``operations``, in the map's order."""
    order = {key: index for index, key in enumerate(datamap.sources)}
    jobs = sorted(
        # Sorted here: the jobs' default order joins their request's table to sort by its due date.
        request.jobs.filter(operation__in=operations).exclude(source_key="").order_by(),
        key=lambda job: (order.get(job.source_key, len(order)), job.pk),
    )
    return [source_outcome(job, datamap) for job in jobs]


def outcome_record(plan: Plan, outcome: Outcome) -> None:
    """Store the outcome on the plan (the caller's transaction and audit event go with it)."""
    outcome.recorded_at = timezone.now().isoformat()
    plan.outcome = outcome.to_dict()
    plan.save(update_fields=["outcome", "updated_at"])


def outcome_of(request: Request) -> Outcome | None:
    """Return the recorded outcome of the request, or None before one was recorded."""
    plan = Plan.objects.filter(request=request).only("outcome").first()
    if plan is None or not plan.outcome:
        return None
    return Outcome.from_dict(plan.outcome)


# --- What a letter, email or page shows -------------------------------------------------------


# What a per-item state means (rectification's corrections, consent withdrawal's consents, objection).
ITEM_STATES = {
    "corrected": gettext_lazy("corrected"),
    "already_correct": gettext_lazy("already correct"),
    "not_held": gettext_lazy("no such data held"),
    "by_hand": gettext_lazy("done by hand"),
    "not_finished": gettext_lazy("not finished"),
    "withdrawn": gettext_lazy("withdrawn"),
    "already_withdrawn": gettext_lazy("already withdrawn"),
    "not_recorded": gettext_lazy("no consent recorded"),
    "partners_asked": gettext_lazy("partners asked to remove the person"),
    "stopped": gettext_lazy("processing stopped"),
}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _recipients_told(outcome: Outcome, request: Request) -> dict[str, list[str]]:
    """Return the recipients told (GDPR Art. 19) and those the privacy team is still telling, by name.

    Recipients reached through their API or by email were told as the outcome was recorded; the privacy
    team tells the others by hand, later. One of those counts as told once staff record it, so the status
    page moves it; a letter written before that says it is being told, never that it was.
    """
    by_hand = [entry for entry in outcome.notified if entry.get("channel") == NotificationChannel.MANUAL]
    recorded = (
        set(
            request.recipient_notifications.filter(
                channel=NotificationChannel.MANUAL,
                status=NotificationStatus.SENT,
                recipient_key__in=[entry["recipient"] for entry in by_hand],
            ).values_list("recipient_key", flat=True)
        )
        if by_hand
        else set()
    )
    return {
        "notified": [
            entry["name"]
            for entry in outcome.notified
            if entry.get("channel") != NotificationChannel.MANUAL or entry["recipient"] in recorded
        ],
        "telling": [entry["name"] for entry in by_hand if entry["recipient"] not in recorded],
    }


def _table_names(datamap: DataMap | None, source_key: str, language: str) -> dict[str, str]:
    """Return the names the map gives a source's tables in ``language`` (its `label`); unnamed tables are left out."""
    source = (datamap.sources.get(source_key) or {}) if datamap else {}
    cls = connector_class(source.get("kind") or "")
    if cls is None or not source.get("config"):
        return {}
    described = cls.column_labels(source["config"])
    return {table: localised(d.get("label"), language) for table, d in described.items() if d.get("label")}


def outcome_view(outcome: Outcome, *, language: str, datamap: DataMap | None, request: Request) -> dict:
    """Return the outcome as the templates show it, in ``language``: only what the sources reported.

    Sections are empty when nothing of their kind happened; a letter shows a section only if it has rows.
    """
    holds = datamap.legal_holds if datamap else {}
    view: dict = {
        "right": outcome.right,
        "found": outcome.found,
        "changed": outcome.changed,
        "erased": [],
        "anonymised": [],
        "already_done": [],
        "kept": [],
        "shared": [],
        "changed_rows": [],
        "unchanged_rows": [],
        "by_hand": [],
        "processors": [],
        "audiences": [],
        "records": [],
        "nothing_found": [],
        "not_finished": [],
        "items": [],
        **_recipients_told(outcome, request),
        "searched": [localised(source.name, language) for source in outcome.sources],
        "holding": [localised(source.name, language) for source in outcome.sources if source.state in (DONE, ASKED)],
        # Systems that held nothing, named where the letter does not already say nothing was found anywhere.
        "nothing_found_elsewhere": [],
    }
    today = timezone.localdate()
    for source in outcome.sources:
        name = localised(source.name, language)
        # A table the map names ("Nyhedsbrev") is said by that name, not as the database calls it.
        tables = _table_names(datamap, source.key, language)
        if source.state == NOTHING_FOUND:
            view["nothing_found"].append(name)
        elif source.state in (PENDING, FAILED):
            view["not_finished"].append(name)
        for line in source.lines:
            row = {"source": name, "table": tables.get(line.table, line.table), "count": line.count, "item": line.item}
            if line.kind == DELETED:
                view["erased"].append(row)
            elif line.kind == ANONYMISED:
                view["anonymised"].append(row)
            elif line.kind == ALREADY:
                view["already_done"].append(row)
            elif line.kind == KEPT:
                hold = holds.get(line.hold, {})
                until = _date(line.until)
                row.update(
                    minimised=line.minimised,
                    hold=localised(hold.get("name"), language) or line.hold,
                    law=localised(hold.get("law"), language),
                    # Without an end date, the hold's rule in words (never a date that cannot be computed).
                    rule=localised(hold.get("description"), language),
                    # A letter never states a past date: a hold that has ended is said in words.
                    until=until if until and until >= today else None,
                    ended=bool(until and until < today),
                )
                view["kept"].append(row)
            elif line.kind == SHARED:
                view["shared"].append({**row, "unlinked": line.unlinked})
            elif line.kind == CHANGED:
                view["changed_rows"].append(row)
            elif line.kind == UNCHANGED:
                view["unchanged_rows"].append(row)
            elif line.kind == BY_HAND:
                view["by_hand"].append(row)
            elif line.kind == PROCESSOR:
                view["processors"].append({**row, "confirmed": line.confirmed})
            elif line.kind == FOUND:
                view["records"].append(row)
            elif line.kind == AUDIENCE_ASKED:
                # The audience's name in the reader's language, as the map names it; else as the fact does.
                source_map = (datamap.sources.get(source.key) or {}) if datamap else {}
                audience = ((source_map.get("config") or {}).get("audiences") or {}).get(line.item) or {}
                row["table"] = localised(audience.get("name"), language) or line.table
                view["audiences"].append({**row, "confirmed": line.confirmed})
    view["minimised"] = sum(row["minimised"] for row in view["kept"])
    if view["nothing_found"] and (view["found"] or view["processors"]):
        view["nothing_found_elsewhere"] = view["nothing_found"]
    corrections = request.details.get("corrections", []) if request.details else []
    sources = {source.key: localised(source.name, language) for source in outcome.sources}
    for item in outcome.items:
        shown = dict(item)
        shown["label"] = localised(item.get("label"), language)
        shown["state_label"] = str(ITEM_STATES.get(item.get("state"), item.get("state", "")))
        for key in ("where", "already", "by_hand"):
            shown[key] = [sources.get(source, source) for source in item.get(key, [])]
        index = item.get("index")
        if isinstance(index, int) and 0 <= index < len(corrections):
            shown["correct"] = corrections[index].get("correct", "")
        if item.get("purposes"):
            purposes = datamap.purposes if datamap else {}
            shown["purposes"] = [
                localised(purposes.get(p, {}).get("name"), language) or p for p in item["purposes"] if p
            ]
        view["items"].append(shown)
    return view

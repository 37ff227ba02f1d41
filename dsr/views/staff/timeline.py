"""A request's timeline in words: every audit event and message, with what it means rather than its raw data.

The audit trail stores ids, keys and counts (never personal data); here they become a line a privacy
agent reads in their own language: the source's name from the data map, the operation, what was
counted, the reason chosen. Anything not described below is still shown, key by key, so a new kind of
event is never hidden.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.template.defaultfilters import filesizeformat
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from dsr.datamap.schema import DataMap, localised
from dsr.engine.connectors import datamap_current
from dsr.models import (
    Channel,
    Language,
    Operation,
    RefusalGround,
    Request,
    Right,
    Status,
    SuspensionReason,
    VerificationMethod,
)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "event" or "message"
    label: str
    actor: str
    detail: str


# The emails dsr sends, as the team calls them; a kind not listed shows its key.
MESSAGE_KINDS = {
    "verification": gettext_lazy("Confirmation code"),
    "preference_code": gettext_lazy("Preference centre code"),
    "verification_locked": gettext_lazy("Codes stopped after many wrong ones"),
    "receipt": gettext_lazy("Receipt"),
    "access_confirmation": gettext_lazy("Whether data was found, at once (LGPD Art. 19 I)"),
    "status_link": gettext_lazy("New status link"),
    "suspended": gettext_lazy("Clock stopped: question to the requester"),
    "extended": gettext_lazy("Deadline extended"),
    "refused": gettext_lazy("Refusal"),
    "completed": gettext_lazy("Answer: completed"),
    "partially_completed": gettext_lazy("Answer: partly completed"),
    "cancelled": gettext_lazy("Cancellation"),
    "expired": gettext_lazy("Expired unconfirmed"),
    "download_link": gettext_lazy("Download link"),
    "restriction_lift": gettext_lazy("Notice before lifting the restriction (Art. 18(3))"),
    "recipient_notification": gettext_lazy("Notice to a recipient (Art. 19)"),
    "deadline_reminder": gettext_lazy("Deadline reminder to staff"),
    "audit_checkpoint": gettext_lazy("Audit trail checkpoint to the DPO"),
    "fee": gettext_lazy("Fee letter"),
    "transmission": gettext_lazy("Link to the receiving company (Art. 20(2))"),
    "transmission_outcome": gettext_lazy("Transmission result to the requester"),
    # CCPA regs § 7063: an authorised agent's filing.
    "agent_verification": gettext_lazy("Link to the authorised agent to confirm their email"),
    "agent_consumer_confirm": gettext_lazy("Question to the consumer: did you give the agent permission?"),
    "agent_notice": gettext_lazy("Notice to the authorised agent"),
}


def _count_phrase(key: str, n: int) -> str:
    """Say what a source counted under ``key``; a table name or anything else unknown is said as rows."""
    phrases = {
        "records": ngettext("%(n)d row", "%(n)d rows", n),
        "provided": ngettext("%(n)d row provided", "%(n)d rows provided", n),
        "files": ngettext("%(n)d file", "%(n)d files", n),
        "tasks": ngettext("%(n)d manual task", "%(n)d manual tasks", n),
        "found": ngettext("%(n)d found", "%(n)d found", n),
        "email": ngettext("%(n)d email address", "%(n)d email addresses", n),
        "phone": ngettext("%(n)d phone number", "%(n)d phone numbers", n),
        "customer_number": ngettext("%(n)d customer number", "%(n)d customer numbers", n),
    }
    if key in phrases:
        return phrases[key] % {"n": n}
    return ngettext("%(table)s: %(n)d row", "%(table)s: %(n)d rows", n) % {"table": key, "n": n}


def _counts(counts: dict) -> str:
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict):
            if value:
                parts.append(f"{key}: {_counts(value)}")
        elif isinstance(value, bool) or not isinstance(value, int):
            parts.append(f"{key}: {value}")
        else:
            parts.append(_count_phrase(str(key), value))
    return ", ".join(parts)


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else str(value)


def _source(datamap: DataMap | None, key: str, language: str) -> str:
    if datamap is not None and key in datamap.sources:
        return localised(datamap.sources[key].get("name"), language) or key
    return key


def _day(value: str) -> str:
    try:
        return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except (TypeError, ValueError):
        return str(value)


def event_detail(action: str, data: dict, *, datamap: DataMap | None, language: str, names: dict[int, str]) -> str:
    """Return the event's data as words in the active language; the empty string when there is nothing to add."""
    data = {key: value for key, value in data.items() if value not in (None, "", {}, [])}
    parts: list[str] = []
    if "source" in data:
        parts.append(_source(datamap, str(data.pop("source")), language))
    if "operation" in data:
        parts.append(_label(Operation, data.pop("operation")))
    if "counts" in data:
        counted = _counts(data.pop("counts"))
        if counted:
            parts.append(counted)
    data.pop("job", None)  # the jobs panel shows the job itself
    if "status" in data:
        status = data.pop("status")
        parts.append(_label(Status, status) if status in Status.values else str(status))
    if "right" in data:
        parts.append(_label(Right, data.pop("right")))
    if "channel" in data:
        parts.append(_label(Channel, data.pop("channel")))
    if data.pop("pre_verified", None):
        parts.append(_("filed as verified"))
    if "method" in data:
        parts.append(_label(VerificationMethod, data.pop("method")))
    for key in ("identity_checked", "email_confirmed"):
        if data.get(key) in VerificationMethod.values:
            parts.append(_label(VerificationMethod, data.pop(key)))
    if "reason" in data:
        parts.append(_label(SuspensionReason, data.pop("reason")))
    if "ground" in data and data["ground"] in RefusalGround.values:
        parts.append(_label(RefusalGround, data.pop("ground")))
    if "assignee" in data or action == "request.assigned":
        assignee = data.pop("assignee", None)
        who = names.get(int(assignee), str(assignee)) if str(assignee).isdigit() else _("no one")
        parts.append(_("to %(who)s") % {"who": who})
        data.pop("bulk", None)
    if "extended_due_date" in data:
        parts.append(_("new deadline %(date)s") % {"date": _day(data.pop("extended_due_date"))})
    if "received" in data and "closed" in data:
        parts.append(
            _("received %(received)s, answered %(closed)s")
            % {"received": _day(data.pop("received")), "closed": _day(data.pop("closed"))}
        )
    if "suspended_days" in data:
        days = int(data.pop("suspended_days"))
        parts.append(ngettext("clock stopped %(n)d day in all", "clock stopped %(n)d days in all", days) % {"n": days})
    if "attempts" in data:
        attempts = int(data.pop("attempts"))
        parts.append(ngettext("%(n)d wrong attempt", "%(n)d wrong attempts", attempts) % {"n": attempts})
    if "bytes" in data:
        parts.append(filesizeformat(data.pop("bytes")))
    if "files" in data and isinstance(data["files"], int):
        parts.append(_count_phrase("files", data.pop("files")))
    if "download" in data:
        parts.append(_("download no. %(n)s") % {"n": data.pop("download")})
    if "jobs" in data and isinstance(data["jobs"], int):
        jobs = data.pop("jobs")
        parts.append(ngettext("%(n)d job", "%(n)d jobs", jobs) % {"n": jobs})
    if "entries" in data:
        entries = int(data.pop("entries"))
        parts.append(ngettext("%(n)d register entry", "%(n)d register entries", entries) % {"n": entries})
    if "recipient" in data:
        parts.append(_source(datamap, str(data.pop("recipient")), language))
    if "kind" in data and data["kind"] in MESSAGE_KINDS:
        parts.append(str(MESSAGE_KINDS[data.pop("kind")]))
    if "holding" in data and "sources" in data:
        # LGPD Art. 19 I: what the simplified confirmation told the person.
        total, holding = int(data.pop("sources")), int(data.pop("holding"))
        parts.append(
            ngettext("data found in %(n)d of %(total)d system", "data found in %(n)d of %(total)d systems", total)
            % {"n": holding, "total": total}
        )
        if "unfinished" in data:
            unfinished = int(data.pop("unfinished"))
            if unfinished:
                parts.append(
                    ngettext("%(n)d not answered yet", "%(n)d not answered yet", unfinished) % {"n": unfinished}
                )
    if "requeued" in data:
        parts.append(_("work started again") if data.pop("requeued") else _("nothing waiting"))
    # Internal ids say nothing to a reader; everything else is shown as it was recorded.
    for key in (
        "bundle",
        "link",
        "challenge_id",
        "suspension_id",
        "notification",
        "note",
        "task",
        "fee_id",
        "message_id",
    ):
        data.pop(key, None)
    parts.extend(f"{key}: {value}" for key, value in sorted(data.items()))
    return " · ".join(part for part in parts if part)


def request_timeline(request: Request) -> list[TimelineEntry]:
    """Return every audit event and every message of the request, oldest first, in words."""
    events = list(request.audit_events.order_by("seq"))
    staff_ids = {int(e.actor_id) for e in events if e.actor_type == "staff" and e.actor_id.isdigit()}
    assignees = {int(e.data["assignee"]) for e in events if str(e.data.get("assignee") or "").isdigit()}
    names = dict(get_user_model().objects.filter(pk__in=staff_ids | assignees).values_list("pk", "username"))
    datamap, language = datamap_current(), (get_language() or "da")[:2]
    entries = []
    for event in events:
        actor = event.get_actor_type_display()
        if event.actor_type == "staff" and event.actor_id.isdigit():
            actor = names.get(int(event.actor_id), actor)
        elif event.actor_id:
            actor = f"{actor} ({_source(datamap, event.actor_id, language)})"
        detail = event_detail(event.action, dict(event.data), datamap=datamap, language=language, names=names)
        entries.append(TimelineEntry(event.at, "event", event.get_action_display(), actor, detail))
    for message in request.messages.all():
        kind = MESSAGE_KINDS.get(message.kind, message.kind)
        label = _("Email: %(kind)s (%(language)s)") % {"kind": kind, "language": _label(Language, message.language)}
        detail = message.get_status_display()
        if message.to_staff:
            detail += " · " + _("to staff")
        entries.append(TimelineEntry(message.sent_at or message.created_at, "message", label, "", detail))
    return sorted(entries, key=lambda entry: entry.at)

"""The privacy team's work on a request: assignment, notes, and refused actions."""

from django.db import transaction
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.models import (
    OPEN_STATUSES,
    AuditAction,
    Request,
    RequestNote,
)
from dsr.requests import RequestInvalid
from dsr.workflow.base import (
    TransitionError,
    _lock,
    _required_text,
)

# --- The privacy team's work on a request (dashboard) -------------------------------


def _assignee_check(assignee) -> None:
    if assignee is not None and not (assignee.is_active and assignee.has_perm("dsr.handle_request")):
        raise RequestInvalid({"assignee": [_("Assign to an active member of the team who handles requests.")]})


def request_assign(*, request: Request, assignee, actor: Actor) -> Request:
    """Give an open request to a team member who handles requests (or to no one, with None)."""
    _assignee_check(assignee)
    with transaction.atomic():
        request = _lock(request)
        if request.status not in OPEN_STATUSES:
            raise TransitionError(
                _("Request %(reference)s is closed; only open requests are assigned.")
                % {"reference": request.reference}
            )
        request.assignee = assignee
        request.save(update_fields=["assignee", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_ASSIGNED,
            request=request,
            data={"assignee": assignee.pk if assignee is not None else None},
        )
    return request


def requests_assign_bulk(*, request_ids: list[int], assignee, actor: Actor) -> int:
    """Assign every open request among `request_ids` in one transaction; return how many were assigned."""
    _assignee_check(assignee)
    if len(request_ids) > 500:
        raise RequestInvalid({"requests": [_("Assign at most 500 requests at a time.")]})
    with transaction.atomic():
        requests = list(
            Request.objects.select_for_update().filter(pk__in=request_ids, status__in=OPEN_STATUSES).order_by("pk")
        )
        for request in requests:
            request.assignee = assignee
            request.save(update_fields=["assignee", "updated_at"])
            audit_record(
                actor=actor,
                action=AuditAction.REQUEST_ASSIGNED,
                request=request,
                data={"assignee": assignee.pk if assignee is not None else None, "bulk": True},
            )
    return len(requests)


def request_note_add(*, request: Request, text: str, actor: Actor, author=None) -> RequestNote:
    """Add an internal note for colleagues; the audit records that a note was added, never its text."""
    text = _required_text(text, field="text", message=_("Write the note."))
    with transaction.atomic():
        request = _lock(request)
        note = RequestNote.objects.create(request=request, author=author, text=text)
        audit_record(actor=actor, action=AuditAction.REQUEST_NOTE_ADDED, request=request, data={"note": note.pk})
    return note


def staff_action_deny(*, user, action: str, request: Request | None = None) -> None:
    """Record that a staff member tried an action beyond their role; nothing else changes."""
    audit_record(actor=Actor.staff(user), action=AuditAction.STAFF_DENIED, request=request, data={"attempted": action})

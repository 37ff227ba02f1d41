"""Forgetting the requester's details once a closed request has been kept long enough."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.models import (
    CLOSED_STATUSES,
    AuditAction,
    Request,
)
from dsr.storage import sealed_storage
from dsr.workflow.base import (
    TransitionError,
    _lock,
    _now,
)


def request_purge(*, request: Request, actor: Actor) -> Request:
    """Erase the requester's details from a closed request; keep dates, outcome and the audit trail."""
    with transaction.atomic():
        request = _lock(request)
        if request.status not in CLOSED_STATUSES:
            raise TransitionError(
                _("Request %(reference)s is still open; only closed requests are purged.")
                % {"reference": request.reference}
            )
        if request.purged_at is not None:
            return request
        request.email = ""
        request.name = ""
        request.phone = ""
        request.customer_number = ""
        request.details = {}
        # Free text written about the person may hold personal data; the grounds stay.
        request.outcome_reasons = ""
        request.extension_reasons = ""
        request.purged_at = _now()
        request.save(
            update_fields=[
                "email",
                "name",
                "phone",
                "customer_number",
                "details",
                "outcome_reasons",
                "extension_reasons",
                "purged_at",
                "updated_at",
            ]
        )
        request.suspensions.update(note="")
        request.challenges.all().delete()
        # Files staff uploaded to manual tasks (the person's chats, letters) go too, once the purge commits.
        uploads = list(request.manual_tasks.exclude(uploaded_file="").values_list("uploaded_file", flat=True))
        request.manual_tasks.update(uploaded_file="")
        transaction.on_commit(lambda: _uploads_delete(uploads))
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_PURGED,
            request=request,
            data={"status": request.status, "files": len(uploads)},
        )
    return request


def _uploads_delete(names: list[str]) -> None:
    storage = sealed_storage()
    for name in names:
        if storage.exists(name):
            storage.delete(name)


def requests_purge_closed(*, now: datetime | None = None) -> int:
    """Purge every request closed longer than DSR_RECORD_RETENTION_DAYS ago; return how many."""
    cutoff = (now or _now()) - timedelta(days=settings.DSR_RECORD_RETENTION_DAYS)
    ids = list(
        Request.objects.filter(status__in=CLOSED_STATUSES, closed_at__lt=cutoff, purged_at__isnull=True).values_list(
            "pk", flat=True
        )[:1000]
    )
    for pk in ids:
        request_purge(request=Request(pk=pk), actor=Actor.system())
    return len(ids)

"""Forgetting the requester once a closed request has been kept long enough (GDPR Art. 5(1)(c) and (e)).

What is forgotten is every field dsr.models.personal lists as personal, on every
row that belongs to the request: the requester's details, what they wrote, what
staff wrote about them, the jobs' inputs and outputs, messages' subjects and
sealed values, attestations, the person's answers, notes, reasons, processors' request ids. The
files go too: uploads (staff's and the person's), staged tables and export bundles. Dates, statuses,
counts, what the sources reported doing and the audit trail stay, as evidence
that the request was answered and how (GDPR Art. 5(2)).
"""

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.models import (
    CLOSED_STATUSES,
    JOB_FINISHED,
    AgentFiling,
    AuditAction,
    BundleStatus,
    DownloadLink,
    Job,
    Plan,
    Request,
    Restriction,
    RestrictionGround,
    SubjectAnswerFile,
)
from dsr.models.personal import INVENTORY, inventory_personal
from dsr.storage import sealed_storage, segment_file, storage_delete
from dsr.workflow.base import (
    TransitionError,
    _lock,
    _now,
)

logger = logging.getLogger(__name__)


# Restrictions the person asked for (GDPR Art. 18(1)) can be lifted, and must be told first (Art. 18(3)); an upheld
# objection's entry (Art. 21) stays for good and needs no one told.
_LIFTABLE = {"lifted_at__isnull": True, "ground__in": RestrictionGround.values}


def _restriction_in_force():
    return Exists(Restriction.objects.filter(request=OuterRef("pk"), **_LIFTABLE))


def _work_unfinished():
    return Exists(Job.objects.filter(request=OuterRef("pk")).exclude(status__in=JOB_FINISHED))


def request_purge(*, request: Request, actor: Actor) -> Request:
    """Forget the person behind a closed request; keep dates, outcome, counts and the audit trail.

    Raises TransitionError while the request is open, while a restriction it recorded is in force (lifting it
    needs the person told first, GDPR Art. 18(3)), or while work for it still runs in the sources.
    """
    with transaction.atomic():
        request = _lock(request)
        if request.status not in CLOSED_STATUSES:
            raise TransitionError(
                _("Request %(reference)s is still open; only closed requests are purged.")
                % {"reference": request.reference}
            )
        if request.purged_at is not None:
            return request
        if request.restrictions.filter(**_LIFTABLE).exists():
            raise TransitionError(
                _(
                    "Request %(reference)s recorded a restriction that is still in force. The requester must be "
                    "told before it is lifted (GDPR Art. 18(3)), so their details are kept until it is lifted."
                )
                % {"reference": request.reference}
            )
        if request.jobs.exclude(status__in=JOB_FINISHED).exists():
            raise TransitionError(
                _("Work for request %(reference)s is still running in the sources; purge it when that has finished.")
                % {"reference": request.reference}
            )
        now = _now()
        files = _files_of(request)
        bundles = request.bundles.exclude(status=BundleStatus.PURGED).update(status=BundleStatus.PURGED, purged_at=now)
        DownloadLink.objects.filter(bundle__request=request, revoked_at__isnull=True).update(revoked_at=now)
        _outcome_scrub(request)
        for name, entry in INVENTORY.items():
            if entry.to_request is None or name == "Request":
                continue
            model = apps.get_model("dsr", name)
            rows = model._base_manager.filter(**{entry.to_request: request.pk})
            if entry.delete:
                rows.delete()
            elif entry.personal:
                rows.update(**inventory_personal(model))
        Request.objects.filter(pk=request.pk).update(**inventory_personal(Request), purged_at=now, updated_at=now)
        request.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_PURGED,
            request=request,
            data={
                "status": request.status,
                "files": len(files["uploads"]),
                "staged": len(files["staged"]),
                "bundles": bundles,
            },
        )
        transaction.on_commit(lambda: _files_delete(files))
    return request


def _files_of(request: Request) -> dict[str, list[str]]:
    """Return the stored files the request's rows name: uploads (sealed storage), staged tables and bundles."""
    staged = []
    for result in request.jobs.values_list("result", flat=True):
        for entry in ((result or {}).get("staged") or {}).values():
            staged += [segment_file(entry[key]) for key in ("name", "csv_name", "readable_name") if entry.get(key)]
    return {
        "uploads": [
            *request.manual_tasks.exclude(uploaded_file="").values_list("uploaded_file", flat=True),
            # What the person sent from the status page in answer to our questions.
            *SubjectAnswerFile.objects.filter(answer__request=request).exclude(file="").values_list("file", flat=True),
            # An authorised agent's proof of authority (CCPA regs § 7063).
            *AgentFiling.objects.filter(request=request).exclude(document="").values_list("document", flat=True),
        ],
        # A source's staged tables share one file: each file once.
        "staged": list(dict.fromkeys(staged)),
        "bundles": list(request.bundles.exclude(storage_name="").values_list("storage_name", flat=True)),
    }


def _files_delete(files: dict[str, list[str]]) -> None:
    """Delete the purged request's files; one that cannot be deleted now is logged, never the purge undone."""
    uploads = sealed_storage()
    for name in files["uploads"]:
        try:
            if uploads.exists(name):
                uploads.delete(name)
        except OSError:
            logger.error("purge: an uploaded file could not be deleted")
    for name in [*files["staged"], *files["bundles"]]:
        try:
            storage_delete(name)
        except OSError:
            logger.error("purge: a stored export file could not be deleted")


def _outcome_scrub(request: Request) -> None:
    """Drop the person's own words from the outcome: a correction's field the data map did not know."""
    plan = Plan.objects.filter(request=request).first()
    if plan is None or not plan.outcome.get("items"):
        return
    for item in plan.outcome["items"]:
        if not item.get("key"):
            item["label"] = {}
    Plan.objects.filter(pk=plan.pk).update(outcome=plan.outcome)


def requests_purge_closed(*, now: datetime | None = None) -> int:
    """Purge every request closed longer than DSR_RECORD_RETENTION_DAYS ago; return how many.

    A request whose restriction is still in force, or whose work still runs, waits for a later run.
    """
    cutoff = (now or _now()) - timedelta(days=settings.DSR_RECORD_RETENTION_DAYS)
    due = (
        Request.objects.filter(status__in=CLOSED_STATUSES, closed_at__lt=cutoff, purged_at__isnull=True)
        .exclude(_restriction_in_force())
        .exclude(_work_unfinished())
    )
    ids = list(due.values_list("pk", flat=True)[:1000])
    for pk in ids:
        request_purge(request=Request(pk=pk), actor=Actor.system())
    return len(ids)

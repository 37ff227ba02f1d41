"""The deadline's clock: stopping it for the requester, restarting it, extending it, and reminding staff."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from dsr import deadlines, emails
from dsr.audit import Actor, audit_record
from dsr.models import (
    AuditAction,
    IdentityLevel,
    Request,
    Suspension,
    SuspensionReason,
)
from dsr.requests import RequestInvalid
from dsr.workflow.base import (
    _WORKING,
    TransitionError,
    _deadline_recompute,
    _lock,
    _now,
    _profile,
    _received_date,
    _required_text,
    _suspension_close,
    _suspension_periods,
    _today,
    _transition_apply,
    _transition_check,
    _work_start,
)

# --- The clock ---------------------------------------------------------------------


def request_suspend(*, request: Request, reason: str, note: str, actor: Actor) -> Request:
    """Stop the clock while we wait for identity information or a clarification we asked for."""
    # A fee stops the clock through request_fee_ask alone: it needs an amount, a ground and a letter.
    if reason not in (SuspensionReason.IDENTITY, SuspensionReason.CLARIFICATION):
        raise RequestInvalid({"reason": [_("Choose identity or clarification.")]})
    note = _required_text(note, field="note", message=_("Say what the requester must send."))
    with transaction.atomic():
        request = _lock(request)
        fields = _transition_apply(request, "suspend")
        suspension = Suspension.objects.create(request=request, reason=reason, note=note, started_at=_now())
        if reason == SuspensionReason.IDENTITY and request.identity_level < IdentityLevel.ENHANCED:
            # EDPB 01/2022 ¶65-75: a step up only where there is reasonable doubt.
            request.identity_required = IdentityLevel.ENHANCED
            fields.append("identity_required")
        request.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_SUSPENDED,
            request=request,
            data={"reason": reason, "suspension_id": suspension.pk},
        )
        emails.email_suspended(request, suspension=suspension)
    return request


def request_resume(*, request: Request, actor: Actor) -> Request:
    """Restart the clock; the days it stood still are added to the due dates."""
    with transaction.atomic():
        request = _lock(request)
        _transition_check(request, "resume")
        if request.suspensions.filter(ended_at__isnull=True, reason=SuspensionReason.FEE).exists():
            # GDPR Art. 12(5)(a): the request waits for the fee; only its payment or waiver restarts the clock.
            raise TransitionError(
                _("Request %(reference)s waits for payment of a fee: record the payment or waive the fee.")
                % {"reference": request.reference}
            )
        if request.identity_level < request.identity_required:
            raise TransitionError(
                _("Request %(reference)s waits for an identity check: record the check before resuming.")
                % {"reference": request.reference}
            )
        fields = _transition_apply(request, "resume")
        suspension = _suspension_close(request, now=_now())
        fields += _deadline_recompute(request)
        request.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_RESUMED,
            request=request,
            data={"suspension_id": suspension.pk if suspension else None, "suspended_days": request.suspended_days},
        )
        _work_start(request)
    return request


def request_extend(*, request: Request, reasons: str, actor: Actor, today: date | None = None) -> Request:
    """Extend the deadline to three months from receipt, with reasons sent to the requester.

    GDPR Art. 12(3): only within the first month, and only once.
    """
    reasons = _required_text(reasons, field="reasons", message=_("Give the reasons for the extension."))
    with transaction.atomic():
        request = _lock(request)
        _transition_check(request, "extend")
        if request.extended_due_date:
            raise TransitionError(
                _("Request %(reference)s was already extended to %(date)s.")
                % {"reference": request.reference, "date": request.extended_due_date.isoformat()}
            )
        today = today or _today()
        suspended = deadlines.days_suspended(_suspension_periods(request), today=today)
        received = _received_date(request)
        profile = _profile(request)
        if not profile.extendable(request.right):
            raise TransitionError(
                _("Request %(reference)s is answered under %(law)s, which allows no extension of its deadline.")
                % {"reference": request.reference, "law": profile.deadline_citation}
            )
        if not profile.extension_allowed(received, today=today, right=request.right, suspended_days=suspended):
            first_due = profile.due_date(received, right=request.right, suspended_days=suspended)
            raise TransitionError(
                _(
                    "The first period for %(reference)s ended on %(date)s; an extension must be notified "
                    "within it (%(law)s)."
                )
                % {"reference": request.reference, "date": first_due.isoformat(), "law": profile.deadline_citation}
            )
        request.extended_due_date = profile.extended_due_date(
            received, right=request.right, suspended_days=request.suspended_days
        )
        request.extended_at = _now()
        request.extension_reasons = reasons
        request.save(update_fields=["extended_due_date", "extended_at", "extension_reasons", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_EXTENDED,
            request=request,
            data={"extended_due_date": request.extended_due_date.isoformat()},
        )
        emails.email_extended(request)
    return request


def requests_remind_staff(*, today: date | None = None) -> int:
    """Email staff one digest of open requests due within DSR_REMINDER_DAYS_BEFORE days or overdue."""
    today = today or _today()
    horizon = today + timedelta(days=settings.DSR_REMINDER_DAYS_BEFORE)
    due = list(
        Request.objects.filter(status__in=_WORKING)
        .filter(Q(extended_due_date__isnull=True, due_date__lte=horizon) | Q(extended_due_date__lte=horizon))
        .order_by("due_date", "id")
    )
    if not due:
        return 0
    with transaction.atomic():
        emails.email_deadline_reminder(requests=due, today=today)
        audit_record(
            actor=Actor.system(),
            action=AuditAction.REMINDERS_SENT,
            data={"count": len(due), "overdue": sum(1 for r in due if r.effective_due_date < today)},
        )
    return len(due)

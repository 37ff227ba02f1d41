"""The deadline's clock: stopping it for the requester, restarting it, extending it, and reminding staff."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from dsr import deadlines, emails
from dsr.audit import Actor, audit_record
from dsr.jurisdictions import PROFILES
from dsr.models import (
    OPEN_STATUSES,
    AuditAction,
    IdentityLevel,
    Message,
    MessageStatus,
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
    """Email staff one digest of open requests due within DSR_REMINDER_DAYS_BEFORE days or overdue.

    The digest also names open requests whose receipt is still to be confirmed (CCPA regs § 7021(a)) by a day
    within the same horizon, or past it.
    """
    today = today or _today()
    horizon = today + timedelta(days=settings.DSR_REMINDER_DAYS_BEFORE)
    due = list(
        Request.objects.filter(status__in=_WORKING)
        .filter(Q(extended_due_date__isnull=True, due_date__lte=horizon) | Q(extended_due_date__lte=horizon))
        .order_by("due_date", "id")
    )
    receipts = [request for request in _receipts_unconfirmed() if _acknowledge_by(request) <= horizon]
    listed = {request.pk for request in due}
    reminded = due + [request for request in receipts if request.pk not in listed]
    if not reminded:
        return 0
    with transaction.atomic():
        emails.email_deadline_reminder(requests=reminded, today=today)
        audit_record(
            actor=Actor.system(),
            action=AuditAction.REMINDERS_SENT,
            data={
                "count": len(reminded),
                "overdue": sum(1 for r in due if r.effective_due_date < today),
                "receipts_unconfirmed": len(receipts),
            },
        )
    return len(reminded)


def _receipts_unconfirmed() -> list[Request]:
    """Return the open requests whose law asks for a confirmation of receipt that has not gone out."""
    codes = [profile.code for profile in PROFILES.values() if profile.acknowledge_working_days is not None]
    candidates = Request.objects.filter(status__in=OPEN_STATUSES, jurisdiction__in=codes, receipt_confirmed_at=None)
    return [request for request in candidates.order_by("due_date", "id") if _acknowledge_by(request) is not None]


def _acknowledge_by(request: Request) -> date | None:
    return _profile(request).acknowledge_by(_received_date(request), right=request.right)


# The emails that confirm receipt where the law asks for it (CCPA regs § 7021(a)): under such a law the request
# for confirming the address also says that the request was received, how it is processed and verified, and
# when to expect the answer (templates/dsr/emails/verification), as the receipt does.
RECEIPT_CONFIRMING_KINDS = ("verification", "receipt")


def receipt_confirmation_asked(request: Request) -> bool:
    """Return whether the request's law asks for its receipt to be confirmed (request_receipt_confirmed)."""
    return _acknowledge_by(request) is not None


def request_receipt_confirmed(*, message_id: int) -> Request | None:
    """Record that the email ``message_id`` confirmed receipt of its request, if it did and it was the first.

    Only a sent message counts, and only under a law that asks for the confirmation for this right; the
    time is the message's sending time. Returns the request when this call recorded it, else None.
    """
    with transaction.atomic():
        message = Message.objects.filter(pk=message_id).only("kind", "status", "sent_at", "request_id").first()
        if (
            message is None
            or message.request_id is None
            or message.kind not in RECEIPT_CONFIRMING_KINDS
            or message.status != MessageStatus.SENT
            or message.sent_at is None
        ):
            return None
        request = Request.objects.select_for_update().get(pk=message.request_id)
        if request.receipt_confirmed_at is not None:
            return None
        if _acknowledge_by(request) is None:
            return None
        request.receipt_confirmed_at = message.sent_at
        request.save(update_fields=["receipt_confirmed_at", "updated_at"])
        audit_record(
            actor=Actor.system(),
            action=AuditAction.REQUEST_RECEIPT_CONFIRMED,
            request=request,
            data={"message_id": message.pk, "kind": message.kind},
        )
    return request

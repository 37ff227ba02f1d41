"""Fees: asking a reasonable fee, and the request waiting until it is paid, waived or withdrawn.

GDPR Art. 12(5)(a) lets the controller charge a reasonable fee for a manifestly
unfounded or excessive request, and Art. 15(3) for further copies of an access
answer. Asking stops the clock like any wait for the requester (a Suspension
with reason "fee"); staff record the payment or waive the fee, which restarts
it, or the requester withdraws the request. dsr never takes a payment itself:
the letter says how to pay (settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA/_EN). See
docs/decisions/0015-fees.md.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from dsr import deadlines, emails
from dsr.audit import Actor, audit_record
from dsr.models import (
    AuditAction,
    Fee,
    FeeGround,
    FeeStatus,
    PaymentMethod,
    Request,
    Right,
    Suspension,
    SuspensionReason,
    WebhookEvent,
)
from dsr.requests import RequestInvalid
from dsr.webhooks import webhook_event_emit
from dsr.workflow.base import (
    TransitionError,
    _close,
    _closing,
    _deadline_recompute,
    _lock,
    _now,
    _profile,
    _required_text,
    _suspension_close,
    _today,
    _transition_apply,
    _work_start,
)

# Starting points for the reasons, in the requester's language; staff write this request's own reasons after them.
FEE_TEMPLATES = {
    FeeGround.MANIFESTLY_UNFOUNDED: {
        "en": "We charge a reasonable fee because your request is manifestly unfounded (GDPR Art. 12(5)(a)): ",
        "da": "Vi opkræver et rimeligt gebyr, fordi din anmodning er åbenbart grundløs "
        "(GDPR art. 12, stk. 5, litra a): ",
    },
    FeeGround.EXCESSIVE: {
        "en": "We charge a reasonable fee because your request is excessive, in particular because of its "
        "repetitive character (GDPR Art. 12(5)(a)): ",
        "da": "Vi opkræver et rimeligt gebyr, fordi din anmodning er overdreven, navnlig fordi den gentages "
        "(GDPR art. 12, stk. 5, litra a): ",
    },
    FeeGround.FURTHER_COPIES: {
        "en": "You have asked for a further copy of your data. We charge a reasonable fee based on our "
        "administrative costs (GDPR Art. 15(3)): ",
        "da": "Du har bedt om en yderligere kopi af dine oplysninger. Vi opkræver et rimeligt gebyr baseret på "
        "vores administrative omkostninger (GDPR art. 15, stk. 3): ",
    },
}
_CENT = Decimal("0.01")


def fee_reasons_own(reasons: str) -> str:
    """Return what ``reasons`` says beyond a fee template's opening words (GDPR Art. 12(5): reasonable, explained)."""
    text = reasons.strip()
    for texts in FEE_TEMPLATES.values():
        for opening in texts.values():
            opening = opening.strip().rstrip(" :;,.")
            if text.lower().startswith(opening.lower()):
                return text[len(opening) :].strip(" :;,.\n\t")
    return text


def fee_payment_instructions(language: str) -> str:
    """Return how to pay, as configured for ``language``, else for the other language, else ""."""
    configured = {
        "da": settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA.strip(),
        "en": settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN.strip(),
    }
    other = "en" if language == "da" else "da"
    return configured.get(language) or configured[other]


def fee_awaited(request: Request) -> Fee | None:
    """Return the fee the request waits for, or None."""
    return Fee.objects.filter(request=request, status=FeeStatus.AWAITING_PAYMENT).first()


def _amount_clean(value, *, field: str, maximum: Decimal | None) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise RequestInvalid({field: [_("Give the amount as a number, e.g. 250 or 250.00.")]}) from None
    if not amount.is_finite() or amount <= 0:
        raise RequestInvalid({field: [_("The amount must be more than zero.")]})
    if amount != amount.quantize(_CENT):
        raise RequestInvalid({field: [_("Give the amount in whole øre or cents (two decimals at most).")]})
    if maximum is not None and amount > maximum:
        raise RequestInvalid(
            {
                field: [
                    _("A fee must be reasonable: at most %(maximum)s %(currency)s (DSR_FEE_MAX_AMOUNT).")
                    % {"maximum": maximum, "currency": settings.DSR_FEE_CURRENCY}
                ]
            }
        )
    if amount >= Decimal("100000000"):
        raise RequestInvalid({field: [_("The amount is too large.")]})
    return amount.quantize(_CENT)


def _fee_data(fee: Fee) -> dict:
    """Return the fee as audit rows and webhooks carry it: ids, kinds, amounts; never the reasons."""
    return {
        "fee_id": fee.pk,
        "ground": fee.ground,
        "amount": str(fee.amount),
        "currency": fee.currency,
        "fee_status": fee.status,
    }


def _awaited_locked(request: Request) -> Fee:
    fee = Fee.objects.select_for_update().filter(request=request, status=FeeStatus.AWAITING_PAYMENT).first()
    if fee is None:
        raise TransitionError(_("Request %(reference)s does not wait for a fee.") % {"reference": request.reference})
    return fee


# --- Asking ------------------------------------------------------------------------


def request_fee_ask(*, request: Request, ground: str, amount, reasons: str, actor: Actor, user=None) -> Fee:
    """Ask the requester a reasonable fee with a ground and reasons; the request waits for payment.

    GDPR Art. 12(5)(a) (manifestly unfounded or excessive) and Art. 15(3) (further copies of an access answer).
    The clock stops until the fee is paid or waived (docs/decisions/0015-fees.md); the letter says how to pay.
    """
    if ground not in FeeGround.values:
        raise RequestInvalid({"ground": [_("Choose a ground for the fee.")]})
    maximum = Decimal(settings.DSR_FEE_MAX_AMOUNT)
    amount = _amount_clean(amount, field="amount", maximum=maximum)
    reasons = _required_text(reasons, field="reasons", message=_("Give the reasons for the fee."))
    if not fee_reasons_own(reasons):
        # The person is told why this request costs a fee and how the amount was set, not only the ground.
        raise RequestInvalid({"reasons": [_("Write this request's own reasons after the template's opening words.")]})
    with transaction.atomic():
        request = _lock(request)
        profile = _profile(request)
        if not profile.fees_allowed:
            # LGPD Art. 18 § 5: requests are answered free of charge.
            raise RequestInvalid({"ground": [_("%(law)s allows no fee for a request.") % {"law": profile.law}]})
        if ground == FeeGround.FURTHER_COPIES and request.right != Right.ACCESS:
            raise RequestInvalid(
                {"ground": [_("A fee for further copies (Art. 15(3)) applies only to a request for access.")]}
            )
        instructions = fee_payment_instructions(request.language)
        if not instructions:
            raise RequestInvalid(
                {
                    "amount": [
                        _(
                            "No payment instructions are configured (DSR_FEE_PAYMENT_INSTRUCTIONS_DA or _EN): "
                            "the letter must tell the requester how to pay."
                        )
                    ]
                }
            )
        fields = _transition_apply(request, "fee_request")
        now = _now()
        currency = settings.DSR_FEE_CURRENCY
        suspension = Suspension.objects.create(
            request=request, reason=SuspensionReason.FEE, note=f"{currency} {amount}", started_at=now
        )
        fee = Fee.objects.create(
            request=request,
            suspension=suspension,
            ground=ground,
            amount=amount,
            currency=currency,
            reasons=reasons,
            payment_instructions=instructions,
            requested_at=now,
            requested_by=user,
        )
        request.save(update_fields=fields)
        audit_record(actor=actor, action=AuditAction.FEE_REQUESTED, request=request, data=_fee_data(fee))
        webhook_event_emit(event_type=WebhookEvent.REQUEST_FEE_REQUESTED, request=request, data=_fee_data(fee))
        emails.email_fee(request, fee=fee)
    return fee


# --- Settling ----------------------------------------------------------------------


def _resume(request: Request, fee: Fee, *, status: str, actor: Actor, user, action: str) -> None:
    """Settle the awaited fee and restart the clock; the days it stood still are added to the due dates."""
    now = _now()
    fee.status = status
    fee.settled_at = now
    fee.settled_by = user
    fields = _transition_apply(request, "fee_settle")
    _suspension_close(request, now=now)
    fields += _deadline_recompute(request)
    request.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=action,
        request=request,
        data={**_fee_data(fee), "suspended_days": request.suspended_days},
    )
    webhook_event_emit(event_type=WebhookEvent.REQUEST_FEE_SETTLED, request=request, data=_fee_data(fee))
    _work_start(request)


def request_fee_paid(
    *,
    request: Request,
    amount,
    paid_on: date,
    method: str,
    reference: str = "",
    actor: Actor,
    user=None,
) -> Fee:
    """Record that the requester paid the fee in full; the clock runs again and the work goes on."""
    paid = _amount_clean(amount, field="amount", maximum=None)
    if method not in PaymentMethod.values:
        raise RequestInvalid({"method": [_("Choose how the fee was paid.")]})
    reference = (reference or "").strip()
    if len(reference) > 100:
        raise RequestInvalid({"reference": [_("Must be at most %(limit)d characters.") % {"limit": 100}]})
    if not isinstance(paid_on, date):
        raise RequestInvalid({"paid_on": [_("Give the date of payment.")]})
    if paid_on > _today():
        raise RequestInvalid({"paid_on": [_("The date of payment cannot be in the future.")]})
    with transaction.atomic():
        request = _lock(request)
        fee = _awaited_locked(request)
        if paid_on < deadlines.local_date(fee.requested_at, settings.TIME_ZONE):
            raise RequestInvalid({"paid_on": [_("The date of payment is before the fee was asked.")]})
        if paid < fee.amount:
            raise RequestInvalid(
                {
                    "amount": [
                        _("The fee is %(currency)s %(amount)s: record the payment when it is made in full, or waive.")
                        % {"currency": fee.currency, "amount": fee.amount}
                    ]
                }
            )
        fee.paid_amount, fee.paid_on, fee.payment_method, fee.payment_reference = paid, paid_on, method, reference
        _resume(request, fee, status=FeeStatus.PAID, actor=actor, user=user, action=AuditAction.FEE_PAID)
        fee.save(
            update_fields=[
                "status",
                "settled_at",
                "settled_by",
                "paid_amount",
                "paid_on",
                "payment_method",
                "payment_reference",
            ]
        )
    return fee


def request_fee_waive(*, request: Request, reasons: str, actor: Actor, user=None) -> Fee:
    """Waive the awaited fee with the team's reasons; the clock runs again and the work goes on."""
    reasons = _required_text(reasons, field="reasons", message=_("Say why the fee is waived."))
    with transaction.atomic():
        request = _lock(request)
        fee = _awaited_locked(request)
        fee.waiver_reasons = reasons
        _resume(request, fee, status=FeeStatus.WAIVED, actor=actor, user=user, action=AuditAction.FEE_WAIVED)
        fee.save(update_fields=["status", "settled_at", "settled_by", "waiver_reasons"])
    return fee


def request_fee_withdraw(*, request: Request, actor: Actor, user=None) -> Fee:
    """Cancel the request the requester withdrew rather than pay the fee (from the status page, or told to staff)."""
    with transaction.atomic():
        request = _lock(request)
        fee = _awaited_locked(request)
        now = _now()
        fee.status, fee.settled_at, fee.settled_by = FeeStatus.WITHDRAWN, now, user
        fee.save(update_fields=["status", "settled_at", "settled_by"])
        fields = _close(request, transition="cancel", reasons="", now=now)
        request.save(update_fields=fields)
        audit_record(actor=actor, action=AuditAction.FEE_WITHDRAWN, request=request, data=_fee_data(fee))
        audit_record(actor=actor, action=AuditAction.REQUEST_CANCELLED, request=request, data={"fee_id": fee.pk})
        webhook_event_emit(event_type=WebhookEvent.REQUEST_FEE_SETTLED, request=request, data=_fee_data(fee))
        _closing(request)
        emails.email_cancelled(request)
    return fee

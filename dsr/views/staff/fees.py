"""The fee part of a request's page: ask a fee, record its payment, waive it, or record a withdrawal.

GDPR Art. 12(5)(a) and Art. 15(3); the services are in dsr/workflow/fees.py. dsr never takes a payment: staff
record what the controller's bank or till received.
"""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from dsr import forms_staff, workflow
from dsr.audit import Actor
from dsr.models import Request


def _money(fee) -> str:
    return f"{fee.currency} {number_format(fee.amount, decimal_pos=2, use_l10n=True, force_grouping=True)}"


def _fee_ask(request: Request, data: dict, actor: Actor, user, files) -> str:
    fee = workflow.request_fee_ask(
        request=request, ground=data["ground"], amount=data["amount"], reasons=data["reasons"], actor=actor, user=user
    )
    return _("The requester has the letter asking %(amount)s; the clock is stopped until it is paid.") % {
        "amount": _money(fee)
    }


def _fee_paid(request: Request, data: dict, actor: Actor, user, files) -> str:
    fee = workflow.request_fee_paid(
        request=request,
        amount=data["amount"],
        paid_on=data["paid_on"],
        method=data["method"],
        reference=data["reference"],
        actor=actor,
        user=user,
    )
    return _("Payment of %(amount)s recorded; the clock runs again.") % {"amount": _money(fee)}


def _fee_waive(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_fee_waive(request=request, reasons=data["reasons"], actor=actor, user=user)
    return _("Fee waived; the clock runs again.")


def _fee_withdrawn(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.request_fee_withdraw(request=request, actor=actor, user=user)
    return _("Recorded: the requester withdrew the request rather than pay. It is cancelled.")


FEE_ACTIONS: dict[str, tuple[type[forms.Form], Callable]] = {
    "fee": (forms_staff.FeeAskForm, _fee_ask),
    "fee_paid": (forms_staff.FeePaidForm, _fee_paid),
    "fee_waive": (forms_staff.FeeWaiveForm, _fee_waive),
    "fee_withdrawn": (forms_staff.FeeWithdrawnForm, _fee_withdrawn),
}


def fee_initial(request: Request, name: str) -> dict:
    """Return the initial values of a fee form beyond `seen`: the payment form offers the amount asked."""
    if name == "fee_paid":
        fee = workflow.fee_awaited(request)
        if fee is not None:
            return {"amount": fee.amount}
    return {}


def fee_context(request: Request) -> dict:
    """Return what the fee part of the request's page shows."""
    fees = list(request.fees.select_related("requested_by", "settled_by"))
    return {
        "fees": fees,
        "fee_awaited": next((fee for fee in fees if fee.is_awaiting), None),
        "fee_currency": settings.DSR_FEE_CURRENCY,
        "fee_templates_for_language": {
            ground: texts.get(request.language, texts["en"]) for ground, texts in workflow.FEE_TEMPLATES.items()
        },
    }

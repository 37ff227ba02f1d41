"""A request's direct transmission on the staff page (GDPR Art. 20(2)): what was sent, declining, sending again.

Interfaces only: each POST calls one service in dsr.exports.transmission, which
audits it. Staff decline where sending is not technically feasible, with the
reasons the person is told; a transmission that failed can be sent again.
"""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dsr.audit import Actor
from dsr.exports.transmission import (
    TransmissionError,
    transmission_decline,
    transmission_of,
    transmission_problem_text,
    transmission_retry,
    transmit_to_asked,
)
from dsr.models import Request, Transmission, TransmissionStatus
from dsr.roles import HANDLE_REQUEST
from dsr.views.staff.access import staff_view
from dsr.views.staff.queue import queue_counts_forget


class TransmissionDeclineForm(forms.Form):
    reasons = forms.CharField(
        label=gettext_lazy("Why it cannot be sent (the person is told)"),
        max_length=5000,
        widget=forms.Textarea({"rows": 3}),
    )


def transmission_staff_context(request: Request) -> dict:
    """Return what the request page shows about the transmission the person asked for, or nothing."""
    asked = transmit_to_asked(request)
    transmission = transmission_of(request)
    if asked is None and transmission is None:
        return {}
    can_decline = (
        transmission is None
        or transmission.status == TransmissionStatus.FAILED
        or (transmission.status == TransmissionStatus.PENDING and transmission.channel == "endpoint")
    )
    return {
        "transmission_asked": asked or {},
        "transmission": transmission,
        "transmission_problem": transmission_problem_text(transmission) if transmission else "",
        "transmission_can_decline": can_decline,
        "transmission_decline_form": TransmissionDeclineForm(prefix="transmission"),
    }


@require_POST
@staff_view(HANDLE_REQUEST, action="transmission_decline")
def transmission_decline_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    """Decline to send the person's data to the company they named, with reasons."""
    request = get_object_or_404(Request, pk=pk)
    form = TransmissionDeclineForm(http_request.POST, prefix="transmission")
    if not form.is_valid():
        messages.error(http_request, _("Nothing was changed: give the reasons; the person is told them."))
        return redirect("staff_request", pk=pk)
    try:
        transmission_decline(
            request=request, reasons=form.cleaned_data["reasons"], actor=Actor.staff(http_request.user)
        )
    except TransmissionError as exc:
        messages.error(http_request, _("Nothing was changed: %(error)s") % {"error": exc})
        return redirect("staff_request", pk=pk)
    queue_counts_forget()
    messages.success(http_request, _("Declined; the person is told why and keeps their own download."))
    return redirect("staff_request", pk=pk)


@require_POST
@staff_view(HANDLE_REQUEST, action="transmission_retry")
def transmission_retry_view(http_request: HttpRequest, pk: int) -> HttpResponse:
    """Send a failed transmission again, with a new link."""
    transmission = get_object_or_404(Transmission, request_id=pk)
    try:
        transmission_retry(transmission=transmission, actor=Actor.staff(http_request.user))
    except TransmissionError as exc:
        messages.error(http_request, _("Nothing was changed: %(error)s") % {"error": exc})
        return redirect("staff_request", pk=pk)
    messages.success(http_request, _("Sending again, with a new link."))
    return redirect("staff_request", pk=pk)

"""Requests that arrived by letter, phone, email or in person, entered by staff with their real time of receipt.

GDPR Art. 12(3) counts from receipt through any channel, so the time staff give is
the start of the period. The requester is then asked to confirm by email, as on the
web form, unless staff checked their identity at once (a call-back, a signed letter
matched to the customer file): then the request starts in progress straight away.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dsr import workflow
from dsr.audit import Actor
from dsr.forms_staff import IntakeForm
from dsr.models import VerificationMethod
from dsr.requests import RequestInvalid
from dsr.roles import HANDLE_REQUEST
from dsr.views.staff.access import staff_view
from dsr.views.staff.queue import queue_counts_forget


@require_http_methods(["GET", "POST"])
@staff_view(HANDLE_REQUEST, action="request_intake")
def request_intake(request: HttpRequest) -> HttpResponse:
    """Enter a request received elsewhere; show every problem at once and store nothing until all is right."""
    form = IntakeForm(request.POST or None, initial={"received_at": timezone.localtime().replace(second=0)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.staff(request.user)
        try:
            result = workflow.request_submit(
                right=data["right"],
                email=data["email"],
                name=data["name"],
                phone=data["phone"],
                customer_number=data["customer_number"],
                language=data["language"],
                details=form.details(),
                jurisdiction=data.get("jurisdiction") or "",
                channel=data["channel"],
                received_at=data["received_at"],
                identity_checked=VerificationMethod.STAFF_CHECK if data["identity"] == "staff_check" else "",
                actor=actor,
            )
        except RequestInvalid as exc:
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                for error in errors:
                    form.add_error(target, f"{field}: {error}" if target is None else error)
        else:
            created = result.request
            if data["identity"] == "staff_check":
                messages.success(request, _("Request %(ref)s entered and started.") % {"ref": created.reference})
            else:
                messages.success(
                    request,
                    _("Request %(ref)s entered; the requester has been asked to confirm by email.")
                    % {"ref": created.reference},
                )
            queue_counts_forget()
            return redirect("staff_request", pk=created.pk)
    return render(request, "dsr/staff/intake.html", {"form": form}, status=400 if form.errors else 200)

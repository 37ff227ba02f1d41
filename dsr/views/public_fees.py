"""The requester's answer to a fee on the status page: withdraw the request rather than pay (GDPR Art. 12(5))."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dsr.audit import Actor
from dsr.views.public import page_render, request_from_session
from dsr.workflow import TransitionError, request_fee_withdraw


@require_POST
def status_fee_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    """Cancel the request whose fee the requester will not pay; the status page then says it is cancelled."""
    found = request_from_session(request, reference)
    if found is None:
        return page_render(request, "dsr/public/status_locked.html", {"reference": reference}, status=403)
    if request.POST.get("confirm") != "yes":
        return page_render(
            request,
            "dsr/public/message.html",
            {
                "title": _("Nothing was changed"),
                "message": _("Tick the box to confirm that you withdraw your request, then try again."),
            },
            status=400,
        )
    try:
        request_fee_withdraw(request=found, actor=Actor.subject())
    except TransitionError:
        return page_render(
            request,
            "dsr/public/message.html",
            {
                "title": _("Nothing was changed"),
                "message": _("Your request no longer waits for a fee. The status page shows where it stands."),
            },
            status=409,
        )
    return redirect("dsr:status", reference=found.reference)

"""An authorised agent's filing on the staff request page: who the agent is, the proof, and the decision.

Interfaces only. The proof is opened through dsr.workflow.agent_document_open, which records each opening; only a
member with the handle-request permission may open it, accept it or refuse it (CCPA regs § 7063).
"""

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dsr import forms_staff, workflow
from dsr.audit import Actor
from dsr.models import AgentDecision, AgentFiling, AnswerFileKind, Request, Status
from dsr.roles import HANDLE_REQUEST
from dsr.views.staff.access import staff_view

_MIME = {
    AnswerFileKind.PDF: "application/pdf",
    AnswerFileKind.JPEG: "image/jpeg",
    AnswerFileKind.PNG: "image/png",
}


def agent_staff_context(request: Request) -> dict:
    """Return the agent's filing for the request page, with what it still waits for; {} if no agent filed."""
    filing = AgentFiling.objects.filter(request=request).select_related("decided_by").first()
    if filing is None:
        return {}
    return {
        "agent_filing": filing,
        "agent": workflow.agent_details(filing),
        # The team decides once the agent confirmed their address, while the request waits for it.
        "agent_decidable": filing.decision == AgentDecision.PENDING
        and filing.agent_confirmed_at is not None
        and request.status == Status.AWAITING_APPROVAL,
    }


def _accept(request: Request, data: dict, actor: Actor, user, files) -> str:
    filing = workflow.agent_filing_accept(request=request, actor=actor)
    if filing.request.status == Status.IN_PROGRESS:
        return _("Accepted; the work has started and the consumer has the receipt.")
    return _("Accepted; the work starts when the consumer confirms the permission.")


def _refuse(request: Request, data: dict, actor: Actor, user, files) -> str:
    workflow.agent_filing_refuse(request=request, reasons=data["reasons"], actor=actor)
    return _("Refused; the consumer and the agent have been told why.")


AGENT_ACTIONS = {
    "agent_accept": (forms_staff.AgentAcceptForm, _accept),
    "agent_refuse": (forms_staff.AgentRefuseForm, _refuse),
}


@require_GET
@staff_view(HANDLE_REQUEST, action="agent_document_open")
def agent_document_download(http_request: HttpRequest, pk: int) -> HttpResponse:
    """Send the agent's proof of authority as an attachment (never inline: it is the people's content)."""
    request = get_object_or_404(Request, pk=pk)
    filing = get_object_or_404(AgentFiling.objects.exclude(document=""), request=request)
    opened = workflow.agent_document_open(filing=filing, actor=Actor.staff(http_request.user))
    response = FileResponse(
        opened, as_attachment=True, filename=filing.document_name or f"authority-{filing.pk}.{filing.document_type}"
    )
    response["Content-Type"] = _MIME.get(filing.document_type, "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response

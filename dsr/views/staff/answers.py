"""The requester's answers on the staff request page: what they wrote, and their files for staff to open.

Interfaces only. The files are opened through dsr.workflow.answer_file_open, which
records each opening in the audit trail; only a member with the handle-request
permission may open them.
"""

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from dsr.audit import Actor
from dsr.models import ActorType, AnswerFileKind, AuditEvent, Request, SubjectAnswerFile
from dsr.roles import HANDLE_REQUEST
from dsr.views.staff.access import staff_view
from dsr.workflow import answer_file_open, answers_of

_MIME = {
    AnswerFileKind.PDF: "application/pdf",
    AnswerFileKind.JPEG: "image/jpeg",
    AnswerFileKind.PNG: "image/png",
    AnswerFileKind.TEXT: "text/plain; charset=utf-8",
}


def answers_staff_context(request: Request) -> dict:
    """Return the person's answers for the request page; one is new until a team member acts after it."""
    answers = answers_of(request)
    if not answers:
        return {}
    last_staff_act = (
        AuditEvent.objects.filter(request=request, actor_type=ActorType.STAFF)
        .order_by("-seq")
        .values_list("at", flat=True)
        .first()
    )
    return {
        "answers": answers,
        "answer_new_ids": {a.pk for a in answers if last_staff_act is None or a.received_at > last_staff_act},
    }


@require_GET
@staff_view(HANDLE_REQUEST, action="answer_file_open")
def answer_file_download(http_request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    """Send one file the requester sent, as an attachment (never shown inline: it is the person's content)."""
    request = get_object_or_404(Request, pk=pk)
    answer_file = get_object_or_404(
        SubjectAnswerFile.objects.select_related("answer"), pk=file_id, answer__request=request
    )
    opened = answer_file_open(answer_file=answer_file, actor=Actor.staff(http_request.user))
    response = FileResponse(
        opened, as_attachment=True, filename=answer_file.name or f"answer-{answer_file.pk}.{answer_file.kind}"
    )
    response["Content-Type"] = _MIME.get(answer_file.kind, "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response

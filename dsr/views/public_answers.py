"""The status page's answer form and its letter: the person answers what we asked, and keeps our letter.

Interfaces only. Both act on POST with the status token in the session (the
status page's key), behind CSRF and rate limits. An answer refused for its
text or a file shows the page again with the text as typed and each problem
named; nothing is stored until everything passes.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dsr.audit import Actor
from dsr.outbox import status_letter_render
from dsr.ratelimit import client_ip, rate_limit_wait
from dsr.views.public import page_render, request_from_session, status_render, too_many_render
from dsr.workflow import AnswerRefused, RequestInvalid, request_answer


def _locked(request: HttpRequest, reference: str) -> HttpResponse:
    return page_render(request, "dsr/public/status_locked.html", {"reference": reference}, status=403)


def _limited(request: HttpRequest, scope: str, reference: str) -> int:
    rate = settings.DSR_INTAKE_RATE_PER_IP
    return rate_limit_wait(scope=f"{scope}-ip", key=client_ip(request), rate=rate) or rate_limit_wait(
        scope=scope, key=reference, rate=rate
    )


@require_POST
def status_answer(request: HttpRequest, reference: str) -> HttpResponse:
    """Take the person's answer to what we asked (text and files); a clarification restarts the clock."""
    found = request_from_session(request, reference)
    if found is None:
        return _locked(request, reference)
    if wait := _limited(request, "answer", found.reference):
        return too_many_render(request, wait)
    text = request.POST.get("text", "")
    try:
        request_answer(request=found, text=text, files=request.FILES.getlist("files"), actor=Actor.subject())
    except RequestInvalid as exc:
        errors = [message for messages in exc.message_dict.values() for message in messages]
        return status_render(request, found, answer_form={"text": text, "errors": errors}, status=400)
    except AnswerRefused as exc:
        message = str(exc)
        if exc.answered is not None:
            message += " " + _("We received your answer on %(date)s.") % {
                "date": date_format(exc.answered.received_at, "DATE_FORMAT")
            }
        return page_render(
            request,
            "dsr/public/message.html",
            {"title": _("Your answer was not sent"), "message": message, "status_reference": found.reference},
            status=409,
        )
    return redirect("dsr:status", reference=found.reference)


@require_POST
def status_letter(request: HttpRequest, reference: str) -> HttpResponse:
    """Send the letter the closing email carried as a PDF, in the request's language."""
    found = request_from_session(request, reference)
    if found is None:
        return _locked(request, reference)
    if wait := _limited(request, "letter", found.reference):
        return too_many_render(request, wait)
    letter = status_letter_render(request=found, actor=Actor.subject())
    if letter is None:
        return page_render(
            request,
            "dsr/public/message.html",
            {"title": _("No letter"), "message": _("There is no letter for this request."), "status_reference": ""},
            status=404,
        )
    filename, pdf = letter
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response

"""The person answers what we asked on the status page: text and files, the clock, and every way it is refused."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import (
    AuditAction,
    AuditEvent,
    Channel,
    Request,
    Right,
    Status,
    SubjectAnswer,
    SubjectAnswerFile,
    SuspensionReason,
    VerificationMethod,
)
from dsr.workflow import request_status_token
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
QUESTION = "Which of your two accounts do you mean: the web shop or the newsletter?"


@pytest.fixture
def staff(agent):
    return Actor.staff(agent)


@pytest.fixture
def waiting(staff, django_capture_on_commit_callbacks):
    """Return a request in progress for five days whose clock staff stopped with a question of ``reason``."""

    def make(*, reason: str = SuspensionReason.CLARIFICATION, language: str = "en") -> Request:
        with django_capture_on_commit_callbacks(execute=True):
            request = workflow.request_submit(
                right=Right.ERASURE,
                email="ida@example.dk",
                name="Ida Jensen",
                language=language,
                channel=Channel.EMAIL,
                received_at=timezone.now() - timedelta(days=5),
                actor=staff,
            ).request
            request = workflow.request_identity_check(
                request=request, method=VerificationMethod.STAFF_CHECK, actor=staff
            )
            return workflow.request_suspend(request=request, reason=reason, note=QUESTION, actor=staff)

    return make


def _browser(request: Request, language: str = "en") -> Client:
    """Return a browser holding the request's status token in its session, as after the emailed link."""
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    link = reverse("dsr:status_link", kwargs={"reference": request.reference, "token": request_status_token(request)})
    assert browser.get(link).status_code == 302
    return browser


def _answer(browser: Client, request: Request, **data):
    return browser.post(reverse("dsr:status_answer", kwargs={"reference": request.reference}), data)


def test_the_status_page_shows_what_we_asked_and_a_form_to_answer(waiting):
    request = waiting()
    page = _browser(request).get(reverse("dsr:status", kwargs={"reference": request.reference})).content.decode()
    assert QUESTION in page
    assert 'data-testid="answer"' in page
    assert 'enctype="multipart/form-data"' in page
    assert "csrfmiddlewaretoken" in page
    assert "do not send a copy of your passport" in page


def test_a_clarification_answered_with_a_file_restarts_the_clock_and_says_when_it_came(
    waiting, django_capture_on_commit_callbacks
):
    request = waiting()
    browser = _browser(request)
    with django_capture_on_commit_callbacks(execute=True):
        response = _answer(
            browser,
            request,
            text="The web shop account, customer 4411.",
            files=[SimpleUploadedFile("order.pdf", PDF, content_type="application/pdf")],
        )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert request.suspensions.last().ended_at is not None
    answer = SubjectAnswer.objects.get(request=request)
    assert answer.text == "The web shop account, customer 4411."
    stored = answer.files.get()
    assert (stored.name, stored.kind, stored.size) == ("order.pdf", "pdf", len(PDF))
    assert "order" not in stored.file.name  # the storage name is random, never the person's
    with stored.file.open("rb") as opened:
        assert opened.read() == PDF
    actions = list(AuditEvent.objects.filter(request=request).values_list("action", "data"))
    answered = [data for action, data in actions if action == AuditAction.REQUEST_ANSWERED]
    assert answered == [
        {"answer_id": answer.pk, "suspension_id": answer.suspension_id, "reason": "clarification", "files": 1}
    ]
    assert any(action == AuditAction.REQUEST_RESUMED for action, _ in actions)
    page = browser.get(reverse("dsr:status", kwargs={"reference": request.reference})).content.decode()
    assert "We received your answer on" in page
    assert 'data-testid="answer"' not in page


def test_a_sealed_file_is_not_readable_in_storage(waiting, settings):
    location = settings.STORAGES["bundles"]["OPTIONS"]["location"]
    request = waiting()
    _answer(_browser(request), request, text="", files=[SimpleUploadedFile("scan.png", PNG)])
    stored = SubjectAnswerFile.objects.get()
    raw = (Path(location) / stored.file.name).read_bytes()
    assert raw.startswith(b"DSRS")
    assert PNG not in raw


def test_an_identity_answer_waits_for_staffs_check_before_the_clock_restarts(waiting, staff):
    request = waiting(reason=SuspensionReason.IDENTITY)
    browser = _browser(request)
    assert _answer(browser, request, text="My customer number is 4411.").status_code == 302
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert request.suspensions.last().ended_at is None
    page = browser.get(reverse("dsr:status", kwargs={"reference": request.reference})).content.decode()
    assert "We have received your answer and are checking it." in page
    assert 'data-testid="answer"' not in page  # one answer per question

    workflow.request_identity_check(request=request, method=VerificationMethod.ATTRIBUTE_MATCH, actor=staff)
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS


def test_a_form_sent_twice_stores_one_answer_and_says_it_already_came(waiting):
    request = waiting()
    browser = _browser(request)
    assert _answer(browser, request, text="The web shop.").status_code == 302
    again = _answer(browser, request, text="The web shop.")
    assert again.status_code == 409
    assert "We have already received your answer" in again.content.decode()
    assert "We received your answer on" in again.content.decode()
    assert SubjectAnswer.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_RESUMED).count() == 1


def test_the_identity_answer_sent_twice_stores_one(waiting):
    request = waiting(reason=SuspensionReason.IDENTITY)
    browser = _browser(request)
    _answer(browser, request, text="4411")
    again = _answer(browser, request, text="4411 again")
    assert again.status_code == 409
    assert list(SubjectAnswer.objects.values_list("text", flat=True)) == ["4411"]


def test_without_the_status_token_nothing_is_stored(waiting):
    request = waiting()
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert _answer(stranger, request, text="Let me in.").status_code == 403
    wrong = Client(HTTP_ACCEPT_LANGUAGE="en")
    link = reverse("dsr:status_link", kwargs={"reference": request.reference, "token": "not-the-token"})
    assert wrong.get(link).status_code == 404
    assert _answer(wrong, request, text="Let me in.").status_code == 403
    assert not SubjectAnswer.objects.exists()


def test_a_get_does_not_answer(waiting):
    request = waiting()
    response = _browser(request).get(reverse("dsr:status_answer", kwargs={"reference": request.reference}))
    assert response.status_code == 405


def test_without_csrf_nothing_is_stored(waiting):
    request = waiting()
    browser = _browser(request)
    browser.handler.enforce_csrf_checks = True
    assert _answer(browser, request, text="Hello").status_code == 403
    assert not SubjectAnswer.objects.exists()


def test_a_request_in_work_does_not_take_an_answer(waiting, staff):
    request = waiting()
    workflow.request_resume(request=request, actor=staff)
    response = _answer(_browser(request), request, text="Too late?")
    assert response.status_code == 409
    assert "not waiting for an answer from you" in response.content.decode()
    assert not SubjectAnswer.objects.exists()


def test_a_fee_wait_is_settled_by_staff_not_by_an_answer(staff, settings, django_capture_on_commit_callbacks, waiting):
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN = "Pay to account 1234 5678901."
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = "Betal til konto 1234 5678901."
    settings.DSR_FEE_MAX_AMOUNT = 1000
    request = waiting()
    workflow.request_resume(request=request, actor=staff)
    workflow.request_fee_ask(
        request=request,
        ground="excessive",
        amount="250",
        reasons="You asked for the same thing four times since January; the fee covers two hours of work.",
        actor=staff,
    )
    browser = _browser(request)
    page = browser.get(reverse("dsr:status", kwargs={"reference": request.reference})).content.decode()
    assert 'data-testid="answer"' not in page
    response = _answer(browser, request, text="I will not pay.")
    assert response.status_code == 409
    assert "waits for payment of the fee" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert not SubjectAnswer.objects.exists()


def test_a_text_over_5000_characters_is_refused_and_kept_in_the_form(waiting):
    request = waiting()
    response = _answer(_browser(request), request, text="x" * 5001)
    assert response.status_code == 400
    page = response.content.decode()
    assert "at most 5000 characters; it has 5001." in page
    assert "x" * 5001 in page  # what was typed is not lost
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert not SubjectAnswer.objects.exists()


def test_an_empty_answer_is_refused(waiting):
    request = waiting()
    response = _answer(_browser(request), request, text="   ")
    assert response.status_code == 400
    assert "Write your answer or add a file." in response.content.decode()


def test_more_than_three_files_are_refused(waiting):
    request = waiting()
    files = [SimpleUploadedFile(f"page{i}.pdf", PDF) for i in range(4)]
    response = _answer(_browser(request), request, text="Four pages.", files=files)
    assert response.status_code == 400
    assert "Send at most 3 files." in response.content.decode()
    assert not SubjectAnswer.objects.exists()
    assert not SubjectAnswerFile.objects.exists()


def test_a_file_over_10_mb_is_refused_by_name(waiting):
    request = waiting()
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (10 * 1024 * 1024))
    response = _answer(_browser(request), request, text="Big.", files=[big])
    assert response.status_code == 400
    assert "big.pdf is larger than 10 MB." in response.content.decode()
    assert not SubjectAnswer.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("virus.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("invoice.pdf", b"MZ\x90\x00 an executable named like a PDF"),
        ("photo.png", PDF),  # a PDF named like a picture
        ("notes.txt", b"\x00\x01\x02binary"),
        ("page.html", b"<html><script>alert(1)</script></html>"),
    ],
)
def test_a_file_of_another_type_is_refused_by_its_content(waiting, name, content):
    request = waiting()
    response = _answer(_browser(request), request, text="Here.", files=[SimpleUploadedFile(name, content)])
    assert response.status_code == 400
    assert f"{name} is not a PDF, JPG, PNG or text file" in response.content.decode()
    assert not SubjectAnswer.objects.exists()
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT


def test_a_utf8_text_file_is_taken(waiting):
    request = waiting()
    text = "Ærø og Åbenrå: kundenummer 4411\n".encode() * 200
    assert _answer(_browser(request), request, files=[SimpleUploadedFile("svar.txt", text)]).status_code == 302
    assert SubjectAnswerFile.objects.get().kind == "txt"


def test_answers_are_rate_limited(waiting, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "2/hour"
    request = waiting()
    browser = _browser(request)
    for _ in range(2):
        _answer(browser, request, text="x" * 5001)
    assert _answer(browser, request, text="Fine now.").status_code == 429
    assert not SubjectAnswer.objects.exists()


def test_the_page_says_it_in_danish(waiting):
    request = waiting(language="da")
    page = _browser(request, "da").get(reverse("dsr:status", kwargs={"reference": request.reference})).content.decode()
    assert "Det har vi brug for fra dig" in page
    assert "Send mit svar" in page


# --- Staff ---------------------------------------------------------------------------------


def test_staff_see_the_new_answer_and_open_its_file_which_is_audited(
    waiting, agent, django_capture_on_commit_callbacks
):
    request = waiting(reason=SuspensionReason.IDENTITY)
    _answer(_browser(request), request, text="Customer 4411.", files=[SimpleUploadedFile("kvittering.png", PNG)])
    client = verified_client(agent)
    page = client.get(reverse("staff_request", kwargs={"pk": request.pk})).content.decode()
    assert 'data-testid="answers"' in page
    assert "Customer 4411." in page
    assert 'data-testid="answer-new"' in page
    stored = SubjectAnswerFile.objects.get()
    url = reverse("staff_answer_file", kwargs={"pk": request.pk, "file_id": stored.pk})
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action=AuditAction.ANSWER_FILE_DOWNLOADED)
    assert event.data == {"answer_id": stored.answer_id, "file_id": stored.pk}
    # Once a team member has acted after it, the answer is no longer new.
    page = client.get(reverse("staff_request", kwargs={"pk": request.pk})).content.decode()
    assert 'data-testid="answer-new"' not in page


def test_an_auditor_cannot_open_the_persons_files(waiting, auditor_client):
    request = waiting()
    _answer(_browser(request), request, text="", files=[SimpleUploadedFile("a.pdf", PDF)])
    stored = SubjectAnswerFile.objects.get()
    response = auditor_client.get(reverse("staff_answer_file", kwargs={"pk": request.pk, "file_id": stored.pk}))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.ANSWER_FILE_DOWNLOADED).exists()


def test_a_file_of_another_request_is_not_found(waiting, agent_client):
    first, second = waiting(), waiting()
    _answer(_browser(first), first, text="", files=[SimpleUploadedFile("a.pdf", PDF)])
    stored = SubjectAnswerFile.objects.get()
    response = agent_client.get(reverse("staff_answer_file", kwargs={"pk": second.pk, "file_id": stored.pk}))
    assert response.status_code == 404

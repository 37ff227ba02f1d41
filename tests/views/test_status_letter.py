"""A closed request's status page offers the letter its closing email carried, as it was sent."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import AuditAction, AuditEvent, Channel, Request, Right, VerificationMethod
from dsr.workflow import request_status_token
from tests.pdf import pdf_text
from tests.rights.conftest import (  # noqa: F401  (the engine's test company and its fixtures, reused)
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db
REASONS = "You asked for the same copy four times in one month; we sent it on 3 March."


def _browser(request: Request, language: str = "en") -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    link = reverse("dsr:status_link", kwargs={"reference": request.reference, "token": request_status_token(request)})
    assert browser.get(link).status_code == 302
    return browser


def _text(pdf: bytes, tmp_path: Path) -> str:
    return pdf_text(pdf)


def _status(browser: Client, request: Request) -> str:
    return browser.get(reverse("dsr:status", kwargs={"reference": request.reference})).content.decode()


def _letter(browser: Client, request: Request):
    return browser.post(reverse("dsr:status_letter", kwargs={"reference": request.reference}))


@pytest.fixture
def refused(agent, django_capture_on_commit_callbacks):
    """Return a request refused (and its letter emailed) on 10 March 2026, in ``language``."""

    def make(language: str = "en") -> Request:
        actor = Actor.staff(agent)
        with time_machine.travel("2026-03-10 10:00 +01:00", tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                request = workflow.request_submit(
                    right=Right.ACCESS,
                    email="ida@example.dk",
                    name="Ida Jensen",
                    language=language,
                    channel=Channel.EMAIL,
                    received_at=timezone.now() - timedelta(days=2),
                    actor=actor,
                ).request
                workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)
            with django_capture_on_commit_callbacks(execute=True):
                return workflow.request_refuse(request=request, ground="excessive", reasons=REASONS, actor=actor)

    return make


@pytest.mark.parametrize(("language", "dated"), [("en", "10 March 2026"), ("da", "10. marts 2026")])
def test_a_refused_request_offers_the_letter_as_emailed_dated_the_day_it_was_sent(refused, tmp_path, language, dated):
    request = refused(language)
    emailed = mail.outbox[-1].attachments[0]
    with time_machine.travel("2026-04-02 09:00 +02:00", tick=False):
        browser = _browser(request)
        page = _status(browser, request)
        assert 'data-testid="letter"' in page
        assert "Download the letter (PDF)" in page
        response = _letter(browser, request)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{emailed[0]}"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    text = _text(response.content, tmp_path)
    assert dated in text
    assert REASONS.split(";")[0] in " ".join(text.split())
    # The same words as the letter the email carried (the PDF's own metadata differs, its text does not).
    assert text == _text(emailed[1], tmp_path)
    event = AuditEvent.objects.get(action=AuditAction.LETTER_DOWNLOADED)
    assert event.request_id == request.pk
    assert set(event.data) == {"message_id"}


def test_without_the_status_token_there_is_no_letter(refused):
    request = refused()
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert _letter(stranger, request).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.LETTER_DOWNLOADED).exists()


def test_a_get_does_not_render_the_letter(refused):
    request = refused()
    assert (
        _browser(request).get(reverse("dsr:status_letter", kwargs={"reference": request.reference})).status_code == 405
    )


def test_an_open_request_has_no_letter(agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = workflow.request_submit(
            right=Right.ACCESS, email="ida@example.dk", language="en", channel=Channel.EMAIL, actor=Actor.staff(agent)
        ).request
    browser = _browser(request)
    assert 'data-testid="letter"' not in _status(browser, request)
    response = _letter(browser, request)
    assert response.status_code == 404
    assert "There is no letter for this request." in response.content.decode()


def test_a_completed_access_request_has_no_letter_to_offer(company, file, run, staff):
    request = file("access")
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert not request.is_open
    browser = _browser(request)
    assert 'data-testid="letter"' not in _status(browser, request)
    assert _letter(browser, request).status_code == 404


def test_a_letter_is_offered_only_once_its_email_was_sent(refused):
    request = refused()
    request.messages.filter(kind="refused").update(status="failed", sent_at=None)
    browser = _browser(request)
    assert 'data-testid="letter"' not in _status(browser, request)
    assert _letter(browser, request).status_code == 404


def test_a_finished_erasure_offers_its_confirmation_letter(company, file, run, staff, settings, tmp_path):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")
    tasks_finish(request, staff, run)
    browser = _browser(request)
    assert 'data-testid="letter"' in _status(browser, request)
    response = _letter(browser, request)
    assert response.status_code == 200
    text = " ".join(_text(response.content, tmp_path).split())
    assert "Confirmation of the erasure of your personal data" in text or "Bekræftelse" in text


def test_a_purged_request_has_no_status_page_and_no_letter(refused, agent):
    request = refused()
    browser = _browser(request)
    workflow.request_purge(request=request, actor=Actor.staff(agent))
    assert browser.get(reverse("dsr:status", kwargs={"reference": request.reference})).status_code == 403
    assert _letter(browser, request).status_code == 403


def test_the_emailed_status_link_of_a_purged_request_no_longer_opens(refused, agent):
    request = refused()
    workflow.request_purge(request=request, actor=Actor.staff(agent))
    link = reverse("dsr:status_link", kwargs={"reference": request.reference, "token": request_status_token(request)})
    assert Client().get(link).status_code == 404

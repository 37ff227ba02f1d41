"""Fees with a real worker: the letter it sends in Danish and English, payment restarting the work, withdrawal."""

from datetime import date
from email.message import EmailMessage

import pytest
from django.test import Client

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Channel, Fee, FeeStatus, Message, MessageStatus, Request, Right, Status, VerificationMethod
from tests.status_session import status_session_open

pytestmark = pytest.mark.e2e
REASONS = {
    "da": "Du har bedt om den samme kopi fire gange siden januar; gebyret dækker to timers arbejde.",
    "en": "You asked for the same copy four times since January; the fee covers two hours of work.",
}


@pytest.fixture(autouse=True)
def _payment_instructions(settings):
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = "Betal til reg.nr. 1234 konto 5678901."
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN = "Pay to account 1234 5678901."
    settings.DSR_FEE_CURRENCY = "DKK"
    settings.DSR_FEE_MAX_AMOUNT = 2000


def _in_progress(language: str, staff: Actor) -> Request:
    request = workflow.request_submit(
        right=Right.ACCESS,
        email=f"kunde-{language}@example.dk",
        name="Ida Jensen",
        language=language,
        channel=Channel.EMAIL,
        actor=staff,
    ).request
    return workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)


def _sent(worker, wait_until, request: Request, kind: str) -> EmailMessage:
    """Return the email of ``kind`` the worker sent about ``request``, found by the subject it recorded."""
    wait_until(
        lambda: Message.objects.filter(request=request, kind=kind, status=MessageStatus.SENT).exists(),
        timeout=60,
        what=f"the {kind} email sent",
    )
    # Two emails can land in the outbox within the same second, so the last one is not necessarily this one.
    subject = Message.objects.get(request=request, kind=kind).subject
    wait_until(lambda: any(m["Subject"].strip() == subject for m in worker.outbox()), timeout=30, what="the outbox")
    return next(m for m in worker.outbox() if m["Subject"].strip() == subject and m["To"] == request.email)


def _text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    ("language", "subject", "expected"),
    [
        ("da", "Gebyr for din anmodning", ["DKK 1.250,50", "Betal til reg.nr. 1234", "Datatilsynet", "afvise"]),
        ("en", "Fee for your request", ["DKK 1,250.50", "Pay to account 1234", "Datatilsynet", "refuse"]),
    ],
)
def test_a_real_worker_sends_the_fee_letter_and_the_work_waits_for_the_payment(
    celery_worker_process, wait_until, django_user_model, language, subject, expected
):
    user = django_user_model.objects.create_user("agent", "agent@example.org", is_staff=True)
    staff = Actor.staff(user)
    request = _in_progress(language, staff)
    workflow.request_fee_ask(
        request=request, ground="excessive", amount="1250.50", reasons=REASONS[language], actor=staff, user=user
    )
    wait_until(
        lambda: Message.objects.filter(request=request, kind="fee", status=MessageStatus.SENT).exists(),
        timeout=60,
        what="the fee letter sent",
    )
    letter = next(m for m in celery_worker_process.outbox() if subject in m["Subject"])
    text = _text(letter)
    for phrase in [*expected, REASONS[language], request.reference]:
        assert phrase in text, phrase
    [pdf] = [part for part in letter.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert pdf.get_filename().endswith("-gebyr.pdf" if language == "da" else "-fee.pdf")
    assert pdf.get_content().startswith(b"%PDF")
    assert Request.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT

    workflow.request_fee_paid(
        request=request, amount="1250.50", paid_on=date.today(), method="bank_transfer", actor=staff, user=user
    )
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS
    assert Fee.objects.get(request=request).status == FeeStatus.PAID
    # The work starts again in the worker, and the privacy team can finish the request.
    workflow.request_complete(request=request, actor=staff, reasons=REASONS[language])
    completed = _sent(celery_worker_process, wait_until, request, "completed")
    assert request.reference in _text(completed)


@pytest.mark.parametrize(("language", "cancelled"), [("da", "annulleret"), ("en", "cancelled")])
def test_the_requester_withdraws_on_the_status_page_and_the_worker_confirms(
    celery_worker_process, wait_until, django_user_model, language, cancelled
):
    user = django_user_model.objects.create_user("agent", "agent@example.org", is_staff=True)
    staff = Actor.staff(user)
    request = _in_progress(language, staff)
    workflow.request_fee_ask(request=request, ground="excessive", amount="250", reasons=REASONS[language], actor=staff)
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    status_session_open(browser, request)
    page = browser.get(f"/status/{request.reference}/").content.decode()
    assert ("DKK 250,00" if language == "da" else "DKK 250.00") in page
    assert browser.post(f"/status/{request.reference}/withdraw/", {"confirm": "yes"}).status_code == 302
    assert Request.objects.get(pk=request.pk).status == Status.CANCELLED
    confirmation = _sent(celery_worker_process, wait_until, request, "cancelled")
    assert cancelled in (confirmation["Subject"] + _text(confirmation)).lower()

"""Fees (GDPR Art. 12(5)(a), Art. 15(3)): asking, the clock, payment, waiver, withdrawal, letters, API, statistics."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation
from rest_framework.test import APIClient

from dsr import stats, workflow
from dsr.apikeys import apikey_create
from dsr.audit import Actor
from dsr.models import (
    ApiScope,
    AuditAction,
    AuditEvent,
    Channel,
    Fee,
    FeeStatus,
    Message,
    Request,
    Right,
    Status,
    SuspensionReason,
    VerificationMethod,
    WebhookDelivery,
    WebhookEndpoint,
)
from dsr.outbox import message_render
from dsr.portal import status_view
from dsr.workflow import FEE_TEMPLATES, RequestInvalid, TransitionError
from tests.status_session import status_session_open
from tests.views.conftest import agent, auditor, roles, verified_client  # noqa: F401

pytestmark = pytest.mark.django_db
OWN = "You asked for the same copy four times since January; the fee covers two hours of work."


@pytest.fixture(autouse=True)
def _payment_instructions(settings):
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = "Betal til reg.nr. 1234 konto 5678901."
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN = "Pay to account 1234 5678901."
    settings.DSR_FEE_MAX_AMOUNT = 1000
    settings.DSR_FEE_CURRENCY = "DKK"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff(agent):
    return Actor.staff(agent)


@pytest.fixture
def in_progress(staff, django_capture_on_commit_callbacks):
    def make(*, right: str = Right.ACCESS, language: str = "en", days_ago: int = 2) -> Request:
        with django_capture_on_commit_callbacks(execute=True):
            request = workflow.request_submit(
                right=right,
                email="ida@example.dk",
                name="Ida Jensen",
                language=language,
                channel=Channel.EMAIL,
                received_at=timezone.now() - timedelta(days=days_ago),
                actor=staff,
            ).request
            return workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)

    return make


def _ask(request: Request, staff: Actor, **overrides) -> Fee:
    values = {"ground": "excessive", "amount": "250", "reasons": OWN} | overrides
    return workflow.request_fee_ask(request=request, actor=staff, **values)


# --- Asking ----------------------------------------------------------------------------------


def test_asking_a_fee_stops_the_clock_writes_the_letter_and_the_audit(in_progress, staff):
    request = in_progress()
    fee = _ask(request, staff)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert request.suspensions.get(ended_at__isnull=True).reason == SuspensionReason.FEE
    assert (fee.amount, fee.currency, fee.status) == (Decimal("250.00"), "DKK", FeeStatus.AWAITING_PAYMENT)
    assert fee.payment_instructions == "Pay to account 1234 5678901."
    event = AuditEvent.objects.get(action=AuditAction.FEE_REQUESTED)
    assert event.data["amount"] == "250.00"
    assert OWN not in str(event.data)
    assert Message.objects.filter(request=request, kind="fee").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "0"}, "amount", "more than zero"),
        ({"amount": "-5"}, "amount", "more than zero"),
        ({"amount": "12.345"}, "amount", "two decimals"),
        ({"amount": "abc"}, "amount", "as a number"),
        ({"amount": "1000.01"}, "amount", "reasonable"),
        ({"ground": "whim"}, "ground", "Choose a ground"),
        ({"reasons": "  "}, "reasons", "Give the reasons"),
        ({"reasons": FEE_TEMPLATES["excessive"]["en"]}, "reasons", "own reasons"),
        ({"reasons": FEE_TEMPLATES["excessive"]["da"] + " ."}, "reasons", "own reasons"),
    ],
)
def test_a_bad_fee_is_refused_with_a_reason_and_nothing_changes(in_progress, staff, overrides, field, message):
    request = in_progress()
    with pytest.raises(RequestInvalid) as caught:
        _ask(request, staff, **overrides)
    assert message in " ".join(caught.value.message_dict[field])
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert not Fee.objects.exists()
    assert not Message.objects.filter(kind="fee").exists()


def test_further_copies_is_a_ground_only_for_access(in_progress, staff):
    erasure = in_progress(right=Right.ERASURE)
    with pytest.raises(RequestInvalid, match="only to a request for access"):
        _ask(erasure, staff, ground="further_copies")
    access = in_progress()
    assert _ask(access, staff, ground="further_copies").ground == "further_copies"


def test_no_fee_without_payment_instructions(in_progress, staff, settings):
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = settings.DSR_FEE_PAYMENT_INSTRUCTIONS_EN = ""
    request = in_progress()
    with pytest.raises(RequestInvalid, match="No payment instructions"):
        _ask(request, staff)
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS


def test_instructions_fall_back_to_the_other_language(in_progress, staff, settings):
    settings.DSR_FEE_PAYMENT_INSTRUCTIONS_DA = ""
    fee = _ask(in_progress(language="da"), staff)
    assert fee.payment_instructions == "Pay to account 1234 5678901."


def test_a_second_fee_while_one_is_awaited_is_refused(in_progress, staff):
    request = in_progress()
    _ask(request, staff)
    with pytest.raises(TransitionError):
        _ask(request, staff)
    assert Fee.objects.count() == 1


# --- The clock and settling ---------------------------------------------------------------------


def test_restarting_the_clock_by_hand_is_refused_while_a_fee_is_awaited(in_progress, staff):
    request = in_progress()
    _ask(request, staff)
    with pytest.raises(TransitionError, match="waits for payment"):
        workflow.request_resume(request=request, actor=staff)
    with pytest.raises(RequestInvalid):
        workflow.request_suspend(request=request, reason="fee", note="x", actor=staff)
    assert Request.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT


def test_recording_payment_restarts_the_clock_and_adds_the_days_it_stood_still(in_progress, staff, agent):
    request = in_progress()
    due_before = Request.objects.get(pk=request.pk).due_date
    fee = _ask(request, staff)
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        workflow.request_fee_paid(
            request=request,
            amount="250.00",
            paid_on=timezone.localdate(),
            method="mobilepay",
            reference="MP-123",
            actor=staff,
            user=agent,
        )
    request.refresh_from_db()
    fee.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert request.suspended_days >= 9
    assert request.due_date > due_before
    assert (fee.status, fee.paid_amount, fee.payment_method, fee.settled_by) == (
        FeeStatus.PAID,
        Decimal("250.00"),
        "mobilepay",
        agent,
    )
    assert AuditEvent.objects.filter(action=AuditAction.FEE_PAID).count() == 1


@pytest.mark.parametrize(
    ("amount", "paid_on", "field", "message"),
    [
        ("100", date.today(), "amount", "in full"),
        ("250", date.today() + timedelta(days=2), "paid_on", "future"),
        ("250", date.today() - timedelta(days=30), "paid_on", "before the fee was asked"),
    ],
)
def test_a_payment_that_does_not_settle_the_fee_changes_nothing(in_progress, staff, amount, paid_on, field, message):
    request = in_progress()
    _ask(request, staff)
    with pytest.raises(RequestInvalid) as caught:
        workflow.request_fee_paid(request=request, amount=amount, paid_on=paid_on, method="card", actor=staff)
    assert message in " ".join(caught.value.message_dict[field])
    assert Fee.objects.get().status == FeeStatus.AWAITING_PAYMENT
    assert Request.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT


def test_paying_when_no_fee_is_awaited_is_refused(in_progress, staff):
    with pytest.raises(TransitionError, match="does not wait for a fee"):
        workflow.request_fee_paid(request=in_progress(), amount="1", paid_on=date.today(), method="card", actor=staff)


def test_waiving_restarts_the_clock_and_keeps_the_reasons(in_progress, staff):
    request = in_progress()
    _ask(request, staff)
    with pytest.raises(RequestInvalid):
        workflow.request_fee_waive(request=request, reasons=" ", actor=staff)
    fee = workflow.request_fee_waive(request=request, reasons="Lost copy; goodwill.", actor=staff)
    assert (fee.status, fee.waiver_reasons) == (FeeStatus.WAIVED, "Lost copy; goodwill.")
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS


def test_withdrawing_cancels_the_request_and_emails_the_confirmation(in_progress, staff):
    request = in_progress()
    _ask(request, staff)
    fee = workflow.request_fee_withdraw(request=request, actor=Actor.subject())
    request.refresh_from_db()
    assert (request.status, fee.status) == (Status.CANCELLED, FeeStatus.WITHDRAWN)
    assert request.suspensions.filter(ended_at__isnull=True).count() == 0
    assert Message.objects.filter(request=request, kind="cancelled").exists()
    assert AuditEvent.objects.filter(action=AuditAction.FEE_WITHDRAWN, actor_type="subject").exists()


def test_refusing_an_unpaid_request_leaves_the_fee_recorded_as_not_paid(in_progress, staff):
    request = in_progress()
    _ask(request, staff)
    workflow.request_refuse(
        request=request, ground="excessive", reasons="The fee was not paid within a month.", actor=staff
    )
    assert Fee.objects.get().status == FeeStatus.UNPAID


def test_the_webhook_carries_the_fee_but_never_its_reasons(in_progress, staff):
    WebhookEndpoint.objects.create(name="crm", url="https://crm.example/hook", sealed_secret="x")
    request = in_progress()
    _ask(request, staff)
    delivery = WebhookDelivery.objects.get(event_type="request.fee_requested")
    assert delivery.payload["data"]["fee"] == {
        "ground": "excessive",
        "amount": "250.00",
        "currency": "DKK",
        "fee_status": "awaiting_payment",
    }
    assert OWN not in str(delivery.payload)


# --- The letter ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("da", ["DKK 1.250,50", "Betal til reg.nr. 1234", "afvise anmodningen", "Datatilsynet", "trække"]),
        ("en", ["DKK 1,250.50", "Pay to account 1234", "refuse the request", "Datatilsynet", "withdraw"]),
    ],
)
def test_the_letter_states_amount_ground_reasons_how_to_pay_and_the_right_to_complain(
    in_progress, staff, settings, language, expected
):
    settings.DSR_FEE_MAX_AMOUNT = 2000
    request = in_progress(language=language)
    _ask(request, staff, amount="1250.50")
    rendered = message_render(Message.objects.get(request=request, kind="fee"))
    for text in expected:
        assert text in rendered.text, text
    assert OWN in rendered.text
    assert request.reference in rendered.subject
    assert OWN in rendered.html
    [(name, pdf, mime)] = rendered.attachments
    assert name.endswith("-gebyr.pdf" if language == "da" else "-fee.pdf")
    assert mime == "application/pdf"
    assert pdf.startswith(b"%PDF")


# --- The status page ------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [("da", "betaling på DKK 250,00"), ("en", "payment of DKK 250.00")])
def test_the_status_page_says_it_waits_for_the_payment(in_progress, staff, client, language, expected):
    request = in_progress(language=language)
    _ask(request, staff)
    status_session_open(client, request)
    request.refresh_from_db()
    with translation.override(language):
        assert expected in status_view(request).progress
    page = client.get(f"/status/{request.reference}/", HTTP_ACCEPT_LANGUAGE=language)
    assert expected in page.content.decode()
    assert "Pay to account" in page.content.decode() or "Betal til" in page.content.decode()


def test_the_requester_withdraws_from_the_status_page_only_when_confirmed(in_progress, staff, client):
    request = in_progress()
    _ask(request, staff)
    status_session_open(client, request)
    unconfirmed = client.post(f"/status/{request.reference}/withdraw/")
    assert unconfirmed.status_code == 400
    assert Request.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT
    done = client.post(f"/status/{request.reference}/withdraw/", {"confirm": "yes"})
    assert done.status_code == 302
    assert Request.objects.get(pk=request.pk).status == Status.CANCELLED
    again = client.post(f"/status/{request.reference}/withdraw/", {"confirm": "yes"})
    assert again.status_code == 409


def test_a_stranger_without_the_status_link_cannot_withdraw(in_progress, staff, client):
    request = in_progress()
    _ask(request, staff)
    assert client.post(f"/status/{request.reference}/withdraw/", {"confirm": "yes"}).status_code == 403
    assert Request.objects.get(pk=request.pk).status == Status.AWAITING_SUBJECT


# --- The dashboard ----------------------------------------------------------------------------------


def _post(client, request: Request, action: str, **fields):
    request.refresh_from_db()
    data = {f"{action}-seen": request.updated_at.isoformat(timespec="microseconds")}
    data.update({f"{action}-{key}": value for key, value in fields.items()})
    return client.post(f"/dashboard/requests/{request.pk}/{action}/", data, follow=True)


def test_staff_ask_a_fee_and_record_its_payment_on_the_request_page(in_progress, agent):
    client = verified_client(agent)
    request = in_progress()
    page = client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert 'data-action="fee"' in page
    assert "fee-templates" in page
    asked = _post(client, request, "fee", ground="excessive", amount="250", reasons=OWN)
    assert "the clock is stopped until it is paid" in asked.content.decode()
    body = asked.content.decode()
    assert 'data-testid="fee-awaited"' in body
    assert 'data-action="resume"' not in body
    paid = _post(client, request, "fee_paid", amount="250.00", paid_on=date.today().isoformat(), method="bank_transfer")
    assert "Payment of DKK 250.00 recorded" in paid.content.decode()
    assert Fee.objects.get().settled_by == agent


def test_a_bad_fee_form_shows_the_error_and_keeps_the_request_as_it_was(in_progress, agent):
    client = verified_client(agent)
    request = in_progress()
    answer = _post(client, request, "fee", ground="excessive", amount="250", reasons=FEE_TEMPLATES["excessive"]["en"])
    assert answer.status_code == 400
    assert "own reasons" in answer.content.decode()
    assert not Fee.objects.exists()


def test_an_auditor_cannot_ask_a_fee(in_progress, auditor):
    request = in_progress()
    answer = _post(verified_client(auditor), request, "fee", ground="excessive", amount="250", reasons=OWN)
    assert answer.status_code == 403
    assert not Fee.objects.exists()


# --- The API --------------------------------------------------------------------------------------------


def test_the_api_asks_a_fee_and_records_the_withdrawal(in_progress):
    created = apikey_create(name="crm", scopes=list(ApiScope.values), actor=Actor.system())
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.token}")
    request = in_progress()
    base = f"/api/v1/requests/{request.reference}/actions"
    bad = api.post(f"{base}/ask-fee/", {"ground": "excessive", "amount": "5000", "reasons": OWN}, format="json")
    assert bad.status_code == 400
    assert not Fee.objects.exists()
    asked = api.post(f"{base}/ask-fee/", {"ground": "excessive", "amount": "250", "reasons": OWN}, format="json")
    assert asked.status_code == 200, asked.content
    assert asked.json()["fee"]["status"] == "awaiting_payment"
    assert asked.json()["fee"]["amount"] == "250.00"
    resumed = api.post(f"{base}/resume/", {}, format="json")
    assert resumed.status_code == 409
    withdrawn = api.post(f"{base}/record-fee-withdrawal/", {}, format="json")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "cancelled"
    assert withdrawn.json()["fee"]["status"] == "withdrawn"


# --- Statistics -------------------------------------------------------------------------------------------


def test_statistics_count_fees_by_ground_and_by_how_they_ended(in_progress, staff, agent):
    first, second, third = in_progress(), in_progress(), in_progress()
    _ask(first, staff)
    workflow.request_fee_paid(request=first, amount="250", paid_on=date.today(), method="card", actor=staff)
    _ask(second, staff, ground="further_copies", amount="100")
    workflow.request_fee_withdraw(request=second, actor=Actor.subject())
    _ask(third, staff)
    today = timezone.localdate()
    counts = stats.fee_counts(start=today - timedelta(days=30), end=today)
    assert counts.asked == 3
    assert counts.by_ground == {"manifestly_unfounded": 0, "excessive": 2, "further_copies": 1}
    assert (counts.by_status["paid"], counts.by_status["withdrawn"], counts.by_status["awaiting_payment"]) == (1, 1, 1)
    assert counts.received == {"DKK": Decimal("250.00")}
    client = verified_client(agent)
    page = client.get("/dashboard/statistics/").content.decode()
    assert 'data-testid="fee-stats"' in page
    csv = client.get("/dashboard/statistics.csv").content.decode()
    assert "fees_asked,3" in csv
    assert "fees_received_DKK,250.00" in csv

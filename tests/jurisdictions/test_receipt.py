"""CCPA regs § 7021(a): receipt of a request to know, delete or correct is confirmed within 10 business days.

dsr records the confirmation when the email carrying it was sent (a fact of the outbox, not the plan): the
request to confirm the address under `us-ca` already says that the request was received, how it is processed
and verified, and when the answer comes, so a Californian who never confirms is still told in time. Staff see
the date on the request's page and in the queue, and the daily digest names requests whose day is near or past.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from dsr import stats, workflow
from dsr.audit import Actor
from dsr.jurisdictions import PROFILES, profile_get
from dsr.models import AuditAction, AuditEvent, Message, MessageStatus, Request, Right, Status, VerificationMethod
from dsr.outbox import message_render
from dsr.selectors import request_deadline
from dsr.views.staff.queue import queue_row
from tests.views.conftest import agent, agent_client, roles  # noqa: F401  (the fixtures, reused)

CPH = ZoneInfo("Europe/Copenhagen")
CA = profile_get("us-ca")
pytestmark = pytest.mark.django_db
# Tuesday 31 March 2026: ten California business days later is 14 April (no state holiday between).
FILED = datetime(2026, 3, 31, 10, 0, tzinfo=CPH)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def file_request(django_capture_on_commit_callbacks):
    def file(**overrides) -> Request:
        values = {
            "right": Right.ACCESS,
            "email": "consumer@example.com",
            "actor": Actor.subject(),
            "jurisdiction": "us-ca",
            "language": "en",
        } | overrides
        with django_capture_on_commit_callbacks(execute=True):
            request = workflow.request_submit(**values).request
        return Request.objects.get(pk=request.pk)

    return file


def test_the_ten_business_days_apply_to_know_delete_and_correct_but_not_to_an_opt_out():
    received = date(2026, 3, 31)
    for right in ("access", "erasure", "rectification"):
        assert CA.acknowledge_by(received, right=right) == date(2026, 4, 14)
    # § 7026: an opt-out of sale or sharing is acted on within 15 business days; § 7021(a) does not name it.
    assert CA.acknowledge_by(received, right="objection") is None
    for profile in PROFILES.values():
        if profile.code != "us-ca":
            assert profile.acknowledge_by(received, right="access") is None


def test_every_profile_that_asks_for_a_confirmation_says_how_it_processes_in_both_languages():
    for profile in PROFILES.values():
        if profile.acknowledge_working_days is not None:
            assert profile.acknowledge_citation
            for language in ("da", "en"):
                assert "7060" in profile.wording_in(language).receipt_process


def test_the_email_asking_to_confirm_the_address_confirms_receipt_when_it_is_sent(file_request):
    with time_machine.travel(FILED):
        request = file_request()

    # The person never confirms the address; receipt is confirmed all the same, on the day the email went out.
    assert request.status == Status.PENDING_VERIFICATION
    verification = request.messages.get(kind="verification")
    assert verification.status == MessageStatus.SENT
    assert request.receipt_confirmed_at == verification.sent_at
    event = AuditEvent.objects.get(request=request, action=AuditAction.REQUEST_RECEIPT_CONFIRMED)
    assert event.data == {"message_id": verification.pk, "kind": "verification"}
    [sent] = mail.outbox
    text = sent.body
    assert "We received your request on 31 March 2026 and will answer by 14 May 2026." in text
    assert "How we handle your request (Cal. Code Regs. tit. 11, § 7021(a))" in text
    assert "first we verify that it comes from you" in text
    assert "within 45 calendar days" in text
    with time_machine.travel(datetime(2026, 4, 20, 10, 0, tzinfo=CPH)):
        deadline = request_deadline(request)
    assert deadline.receipt_confirmed == date(2026, 3, 31)
    assert not deadline.receipt_due
    assert not deadline.receipt_overdue
    assert not deadline.receipt_late


def test_the_verification_email_says_the_processing_in_danish_too(file_request):
    with time_machine.travel(FILED):
        request = file_request(language="da")

    [sent] = mail.outbox
    text = sent.body
    assert request.receipt_confirmed_at is not None
    assert "Vi modtog din anmodning den 31. marts 2026 og svarer senest 14. maj 2026." in text
    assert "Sådan behandler vi din anmodning" in text


def test_the_receipt_of_a_request_filed_verified_confirms_it_and_a_later_email_changes_nothing(
    file_request, django_capture_on_commit_callbacks
):
    with time_machine.travel(FILED):
        request = file_request(actor=Actor.integration("shop"), pre_verified=True)
    receipt = request.messages.get(kind="receipt")
    assert request.receipt_confirmed_at == receipt.sent_at
    assert "How we handle your request" in message_render(receipt).text

    with time_machine.travel(datetime(2026, 4, 2, 10, 0, tzinfo=CPH)):
        assert workflow.request_receipt_confirmed(message_id=receipt.pk) is None
    request.refresh_from_db()
    assert request.receipt_confirmed_at == receipt.sent_at
    assert AuditEvent.objects.filter(request=request, action=AuditAction.REQUEST_RECEIPT_CONFIRMED).count() == 1


def test_a_message_not_sent_confirms_nothing(file_request, settings):
    settings.EMAIL_BACKEND = "tests.jurisdictions.test_receipt.RefusingBackend"
    with time_machine.travel(FILED):
        request = file_request()

    verification = request.messages.get(kind="verification")
    assert verification.status == MessageStatus.FAILED
    assert request.receipt_confirmed_at is None
    assert workflow.request_receipt_confirmed(message_id=verification.pk) is None
    with time_machine.travel(datetime(2026, 4, 14, 10, 0, tzinfo=CPH)):
        deadline = request_deadline(request)
        assert deadline.receipt_due
        assert not deadline.receipt_overdue
    with time_machine.travel(datetime(2026, 4, 15, 10, 0, tzinfo=CPH)):
        deadline = request_deadline(request)
        assert deadline.receipt_overdue


class RefusingBackend:
    """A mail server that refuses every message for good (a data problem, not a transient one)."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ValueError("refused")


def test_no_confirmation_is_recorded_for_an_opt_out_or_under_another_law(file_request):
    with time_machine.travel(FILED):
        opt_out = file_request(right=Right.OBJECTION, details={"scope": "direct_marketing"})
        danish = file_request(jurisdiction="dk", email="kunde@example.dk")

    for request in (opt_out, danish):
        assert request.messages.get(kind="verification").status == MessageStatus.SENT
        assert request.receipt_confirmed_at is None
        assert request_deadline(request).acknowledge_by is None
        assert not AuditEvent.objects.filter(request=request, action=AuditAction.REQUEST_RECEIPT_CONFIRMED).exists()


@pytest.fixture
def californian(file_request, settings):
    """Return an open `us-ca` access request filed on FILED whose confirmation never went out."""
    settings.EMAIL_BACKEND = "tests.jurisdictions.test_receipt.RefusingBackend"
    with time_machine.travel(FILED):
        request = file_request()
    workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=Actor.system())
    request.refresh_from_db()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return request


def test_the_digest_names_a_request_whose_receipt_is_due_soon_or_overdue(
    californian, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    # 45 days to answer: the answer is far off, but the receipt is due on 14 April.
    with time_machine.travel(datetime(2026, 4, 10, 7, 0, tzinfo=CPH)), django_capture_on_commit_callbacks(execute=True):
        assert workflow.requests_remind_staff() == 1
    digest = Message.objects.get(kind="deadline_reminder")
    text = message_render(digest).text
    assert californian.reference in text
    # The staff digest is in the deployment's language (Danish here).
    assert "bekræft modtagelsen senest 14. april 2026 (Cal. Code Regs. tit. 11 § 7021(a))" in text
    event = AuditEvent.objects.filter(action=AuditAction.REMINDERS_SENT).latest("seq")
    assert event.data["receipts_unconfirmed"] == 1

    with time_machine.travel(datetime(2026, 4, 16, 7, 0, tzinfo=CPH)), django_capture_on_commit_callbacks(execute=True):
        workflow.requests_remind_staff()
    latest = Message.objects.filter(kind="deadline_reminder").latest("pk")
    assert "MODTAGELSEN IKKE BEKRÆFTET: fristen var 14. april 2026" in message_render(latest).text


def test_the_digest_leaves_out_a_request_whose_receipt_went_out(file_request, django_capture_on_commit_callbacks):
    with time_machine.travel(FILED):
        request = file_request()
    assert request.receipt_confirmed_at is not None
    with time_machine.travel(datetime(2026, 4, 10, 7, 0, tzinfo=CPH)), django_capture_on_commit_callbacks(execute=True):
        assert workflow.requests_remind_staff() == 0


def test_the_queue_shows_the_day_to_confirm_receipt_by_and_when_it_is_past(californian):
    row = queue_row(californian, today=date(2026, 4, 10))
    assert row.receipt_by
    assert not row.receipt_overdue
    assert queue_row(californian, today=date(2026, 4, 15)).receipt_overdue
    Request.objects.filter(pk=californian.pk).update(receipt_confirmed_at=FILED)
    californian.refresh_from_db()
    assert queue_row(californian, today=date(2026, 4, 15)).receipt_by == ""


def test_a_confirmation_sent_after_the_day_is_shown_late(californian):
    Request.objects.filter(pk=californian.pk).update(receipt_confirmed_at=datetime(2026, 4, 16, 9, 0, tzinfo=CPH))
    californian.refresh_from_db()
    with time_machine.travel(datetime(2026, 4, 20, 10, 0, tzinfo=CPH)):
        deadline = request_deadline(californian)
    assert deadline.receipt_late
    assert deadline.receipt_confirmed == date(2026, 4, 16)
    assert not deadline.receipt_due
    assert not deadline.receipt_overdue


def _page(client, request) -> str:
    page = client.get(f"/dashboard/requests/{request.pk}/")
    assert page.status_code == 200
    return page.content.decode()


def test_the_staff_page_says_when_receipt_was_confirmed_or_that_it_is_overdue(californian, agent_client, file_request):
    with time_machine.travel(datetime(2026, 4, 10, 10, 0, tzinfo=CPH)):
        assert "Receipt due 14 April 2026" in _page(agent_client, californian)
    with time_machine.travel(datetime(2026, 4, 15, 10, 0, tzinfo=CPH)):
        assert "Receipt not confirmed: due 14 April 2026" in _page(agent_client, californian)
        queue = agent_client.get("/dashboard/").content.decode()
        assert "receipt not confirmed, due" in queue

    with time_machine.travel(FILED):
        confirmed = file_request(email="other@example.com")
    with time_machine.travel(datetime(2026, 4, 15, 10, 0, tzinfo=CPH)):
        page = _page(agent_client, confirmed)
    assert "Receipt confirmed on 31 March 2026" in page
    assert "within 10 business days, Cal. Code Regs. tit. 11 § 7021(a)" in page


def test_the_statistics_count_confirmations_not_sent_in_time_per_law(californian, file_request, agent_client):
    with time_machine.travel(FILED):
        file_request(email="on-time@example.com")
        late = file_request(email="late@example.com")
        file_request(right=Right.OBJECTION, details={"scope": "direct_marketing"}, email="opt-out@example.com")
        file_request(jurisdiction="dk", email="kunde@example.dk")
    Request.objects.filter(pk=late.pk).update(receipt_confirmed_at=datetime(2026, 4, 16, 9, 0, tzinfo=CPH))

    with time_machine.travel(datetime(2026, 4, 20, 10, 0, tzinfo=CPH)):
        figures = stats.summary_by_jurisdiction(start=date(2026, 3, 1), end=date(2026, 3, 31))
        page = agent_client.get("/dashboard/statistics/?months=3").content.decode()
    by_code = {profile.code: summary for profile, summary in figures}
    # Three requests to know: one on time, one confirmed late, one never confirmed; the opt-out needs none.
    assert (by_code["us-ca"].receipts_owed, by_code["us-ca"].receipts_late) == (3, 2)
    assert by_code["dk"].receipts_owed is None
    assert "2 of 3" in page


def test_a_receipt_sent_under_a_law_that_asks_for_no_confirmation_takes_no_lock_and_records_nothing(
    file_request, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with time_machine.travel(FILED):
        request = file_request(jurisdiction="dk", right=Right.ERASURE)
        assert workflow.receipt_confirmation_asked(request) is False
        assert workflow.receipt_confirmation_asked(Request(jurisdiction="us-ca", right="access", received_at=FILED))
        with django_capture_on_commit_callbacks(execute=False):
            workflow.request_verify(request=request, actor=Actor.subject(), method=VerificationMethod.EMAIL_CODE)
        receipt = Message.objects.filter(request=request, kind="receipt").get()
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            from dsr.tasks import message_send

            message_send.apply(args=(receipt.pk,))
    assert Message.objects.get(pk=receipt.pk).status == MessageStatus.SENT
    # The request is not read again, nor its row taken, just to learn that nothing is to be recorded.
    assert not [query for query in queries.captured_queries if 'FROM "dsr_request"' in query["sql"]]
    assert Request.objects.get(pk=request.pk).receipt_confirmed_at is None

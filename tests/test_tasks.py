"""Sending recorded messages: retries for the mail server's trouble, a clear record for the rest."""

import smtplib

import pytest
from django.core import mail

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Message, MessageStatus, Right
from dsr.tasks import message_send, messages_requeue_stuck
from tests.pdf import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued():
    """A request whose verification message is recorded but not yet sent (no after-commit run)."""
    request = workflow.request_submit(right=Right.ACCESS, email="kunde@example.dk", actor=Actor.subject()).request
    return request.messages.get(kind="verification")


class FlakyBackend:
    """An email backend whose server hangs up a set number of times."""

    failures = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("connection lost")
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def retries_run_inline():
    """Let eager retries re-run the task instead of raising Retry to the test."""
    from config.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def test_a_sent_message_is_recorded_and_its_secrets_cleared(queued):
    message_send.delay(queued.pk)
    queued.refresh_from_db()
    assert queued.status == MessageStatus.SENT
    assert queued.sent_at is not None
    assert queued.subject
    assert queued.sealed_context == ""
    assert queued.attempts == 1
    assert len(mail.outbox) == 1


def test_sending_again_does_not_send_twice(queued):
    message_send.delay(queued.pk)
    message_send.delay(queued.pk)
    assert len(mail.outbox) == 1


def test_a_transient_smtp_error_is_retried_until_it_goes_through(queued, settings, retries_run_inline):
    settings.EMAIL_BACKEND = "tests.test_tasks.FlakyBackend"
    FlakyBackend.failures = 2
    message_send.apply(args=[queued.pk])
    queued.refresh_from_db()
    assert queued.status == MessageStatus.SENT
    assert queued.attempts == 3


def test_a_mail_server_that_stays_down_fails_the_message_for_the_timeline(queued, settings, retries_run_inline):
    settings.EMAIL_BACKEND = "tests.test_tasks.FlakyBackend"
    FlakyBackend.failures = 100
    message_send.apply(args=[queued.pk])
    queued.refresh_from_db()
    assert queued.status == MessageStatus.FAILED
    assert queued.last_error == "SMTPServerDisconnected"
    assert "kunde@example.dk" not in queued.last_error


def test_a_message_whose_template_is_missing_fails_without_retrying(queued):
    Message.objects.filter(pk=queued.pk).update(kind="no_such_template")
    message_send.apply(args=[queued.pk])
    queued.refresh_from_db()
    assert queued.status == MessageStatus.FAILED
    assert queued.attempts == 1
    assert queued.last_error == "TemplateDoesNotExist"


def test_a_message_for_a_vanished_row_is_ignored():
    message_send.apply(args=[987654])  # no exception, nothing sent
    assert not mail.outbox


def test_messages_whose_go_signal_was_lost_are_requeued(queued, settings):
    from datetime import timedelta

    from django.utils import timezone

    Message.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    assert messages_requeue_stuck() == 1
    queued.refresh_from_db()
    assert queued.status == MessageStatus.SENT


@pytest.mark.parametrize(
    ("attempts", "minutes_ago", "requeued"),
    [
        (1, 5, False),  # the retry 30 s later may still be waiting in the broker
        (1, 11, True),  # 10 minutes past its 30 s backoff: the worker died or the retry was lost
        (3, 11, False),  # the third retry waits 2 minutes
        (3, 13, True),
    ],
)
def test_a_message_attempted_and_then_lost_is_handed_back_once_its_backoff_has_passed(
    queued, attempts, minutes_ago, requeued
):
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(hours=2)
    Message.objects.filter(pk=queued.pk).update(
        created_at=long_ago, attempts=attempts, attempted_at=timezone.now() - timedelta(minutes=minutes_ago)
    )

    assert messages_requeue_stuck() == int(requeued)
    queued.refresh_from_db()
    assert queued.status == (MessageStatus.SENT if requeued else MessageStatus.QUEUED)
    assert len(mail.outbox) == int(requeued)


def test_a_message_lost_on_every_attempt_fails_instead_of_being_tried_forever(queued):
    from datetime import timedelta

    from django.utils import timezone

    from dsr.tasks import MESSAGE_MAX_RETRIES

    Message.objects.filter(pk=queued.pk).update(
        attempts=MESSAGE_MAX_RETRIES + 1, attempted_at=timezone.now() - timedelta(hours=3)
    )

    assert messages_requeue_stuck() == 0
    queued.refresh_from_db()
    assert queued.status == MessageStatus.FAILED
    assert queued.last_error == "lost"
    assert not mail.outbox


def test_a_handed_back_message_keeps_counting_its_attempts(queued, settings, retries_run_inline):
    from dsr.tasks import MESSAGE_MAX_RETRIES

    Message.objects.filter(pk=queued.pk).update(attempts=MESSAGE_MAX_RETRIES)
    settings.EMAIL_BACKEND = "tests.test_tasks.FlakyBackend"
    FlakyBackend.failures = 1

    message_send.apply(args=[queued.pk])

    queued.refresh_from_db()
    assert queued.status == MessageStatus.FAILED
    assert queued.attempts == MESSAGE_MAX_RETRIES + 1
    assert queued.attempted_at is not None


@pytest.mark.parametrize(
    ("action", "kwargs", "words"),
    [
        (
            "request_refuse",
            {"ground": "excessive", "reasons": "The fourth identical request this month."},
            ["Datatilsynet", "fourth identical request"],
        ),
        ("request_extend", {"reasons": "Eleven years of orders in three systems."}, ["Eleven years of orders"]),
    ],
)
def test_refusal_and_extension_emails_carry_the_formal_letter_as_pdf(
    action, kwargs, words, django_user_model, django_capture_on_commit_callbacks
):

    from dsr.models import VerificationMethod

    staff = Actor.staff(django_user_model.objects.create_user("agent", is_staff=True))
    # The code and receipt go out first: one person's emails are sent in the order they were written.
    with django_capture_on_commit_callbacks(execute=True):
        request = workflow.request_submit(
            right=Right.ACCESS, email="kunde@example.dk", actor=Actor.subject(), language="en"
        ).request
    with django_capture_on_commit_callbacks(execute=True):
        workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        getattr(workflow, action)(request=request, actor=staff, **kwargs)
    [letter_mail] = [m for m in mail.outbox if m.attachments]
    [(filename, pdf, mimetype)] = letter_mail.attachments
    assert mimetype == "application/pdf"
    assert request.reference in filename
    text = pdf_text(pdf)
    assert request.reference in text
    for word in words:
        assert word in " ".join(text.split())


class RefusingBackend:
    """An email backend whose server refuses the recipient, quoting the address as real servers do."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"mailbox unavailable")})


def test_a_refused_recipient_fails_the_message_without_the_address_in_logs(queued, settings, caplog):
    settings.EMAIL_BACKEND = "tests.test_tasks.RefusingBackend"
    message_send.apply(args=[queued.pk])
    queued.refresh_from_db()
    assert queued.status == MessageStatus.FAILED
    assert queued.last_error == "SMTPRecipientsRefused"
    assert "SMTPRecipientsRefused" in caplog.text
    assert "kunde@example.dk" not in caplog.text


@pytest.fixture
def preference_code():
    """The preference centre's code for an address, recorded but not yet sent: it belongs to no request."""
    from dsr import emails

    return emails.email_preference_code(email="kunde@example.dk", language="da", code="123456", link_token="t" * 32)


def test_a_preference_code_that_cannot_be_sent_keeps_neither_address_nor_code(
    preference_code, settings, retries_run_inline
):
    settings.EMAIL_BACKEND = "tests.test_tasks.FlakyBackend"
    FlakyBackend.failures = 100
    assert preference_code.sealed_context

    message_send.apply(args=[preference_code.pk])

    preference_code.refresh_from_db()
    assert preference_code.status == MessageStatus.FAILED
    assert preference_code.sealed_context == ""
    assert preference_code.request is None


def test_a_preference_code_lost_on_every_attempt_keeps_neither_address_nor_code(preference_code):
    from datetime import timedelta

    from django.utils import timezone

    from dsr.tasks import MESSAGE_MAX_RETRIES

    Message.objects.filter(pk=preference_code.pk).update(
        attempts=MESSAGE_MAX_RETRIES + 1, attempted_at=timezone.now() - timedelta(hours=3)
    )

    assert messages_requeue_stuck() == 0
    preference_code.refresh_from_db()
    assert (preference_code.status, preference_code.last_error) == (MessageStatus.FAILED, "lost")
    assert preference_code.sealed_context == ""


def test_a_requesters_failed_message_stays_sealed_until_its_requests_purge(queued):
    Message.objects.filter(pk=queued.pk).update(kind="no_such_template")
    message_send.apply(args=[queued.pk])
    queued.refresh_from_db()
    assert queued.status == MessageStatus.FAILED
    assert queued.sealed_context != ""


def test_a_second_go_while_another_run_is_sending_the_message_sends_nothing(queued):
    from django.utils import timezone

    # Another worker's run took the message a moment ago and is still talking to the mail server.
    Message.objects.filter(pk=queued.pk).update(attempts=1, attempted_at=timezone.now())

    message_send.apply(args=[queued.pk])

    queued.refresh_from_db()
    assert mail.outbox == []
    assert queued.attempts == 1
    assert queued.status == MessageStatus.QUEUED  # the other run records it sent, or its retry comes


def test_a_go_long_after_a_lost_attempt_sends_the_message(queued):
    from datetime import timedelta

    from django.utils import timezone

    # The worker that took it died mid-send; the requeue hands it back much later.
    Message.objects.filter(pk=queued.pk).update(attempts=1, attempted_at=timezone.now() - timedelta(minutes=20))

    message_send.apply(args=[queued.pk])

    queued.refresh_from_db()
    assert len(mail.outbox) == 1
    assert queued.attempts == 2
    assert queued.status == MessageStatus.SENT


# --- A person's messages, one after another in one task --------------------------------


@pytest.fixture
def receipt_and_completion():
    """A pre-verified request's receipt and its completion email, both recorded, neither "go" handed over."""
    from dsr import emails

    request = workflow.request_submit(
        right=Right.OBJECTION,
        email="kunde@example.dk",
        actor=Actor.subject(),
        details={"scope": "direct_marketing"},
        pre_verified=True,
    ).request
    return request.messages.get(kind="receipt"), emails.email_completed(request)


def test_the_receipts_task_sends_the_completion_after_it_with_no_go_of_its_own(receipt_and_completion):
    from dsr.models import TaskSignal

    receipt, completion = receipt_and_completion
    TaskSignal.objects.all().delete()

    message_send.apply(args=[receipt.pk])

    assert [message.subject for message in mail.outbox] == [
        Message.objects.get(pk=receipt.pk).subject,
        Message.objects.get(pk=completion.pk).subject,
    ]
    assert set(Message.objects.filter(pk__in=[receipt.pk, completion.pk]).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }
    assert not TaskSignal.objects.exists()  # nothing left for another task to do


def test_a_retried_send_hands_the_next_message_its_own_go_instead(receipt_and_completion):
    from dsr.models import TaskSignal

    receipt, completion = receipt_and_completion
    TaskSignal.objects.all().delete()

    message_send.apply(args=[receipt.pk], retries=1)

    assert len(mail.outbox) == 1
    assert Message.objects.get(pk=completion.pk).status == MessageStatus.QUEUED
    assert list(TaskSignal.objects.values_list("task", "args")) == [(message_send.name, [completion.pk])]


def test_a_mail_server_that_hangs_up_on_the_next_message_retries_that_one(
    receipt_and_completion, settings, monkeypatch
):
    from celery.exceptions import Retry

    receipt, completion = receipt_and_completion
    settings.EMAIL_BACKEND = "tests.test_tasks.FlakyBackend"
    sends = []
    real_send = FlakyBackend.send_messages

    def hang_up_on_the_second(self, messages):
        sends.append(messages)
        FlakyBackend.failures = 1 if len(sends) == 2 else 0
        return real_send(self, messages)

    monkeypatch.setattr(FlakyBackend, "send_messages", hang_up_on_the_second)
    retried = []

    def retry(*, args, exc, countdown):
        retried.append((args, countdown))
        return Retry(exc=exc)

    monkeypatch.setattr(message_send, "retry", retry)

    with pytest.raises(Retry):
        message_send.apply(args=[receipt.pk], throw=True)

    assert retried == [((completion.pk,), 30)]
    assert Message.objects.get(pk=receipt.pk).status == MessageStatus.SENT
    completion.refresh_from_db()
    assert (completion.status, completion.attempts) == (MessageStatus.QUEUED, 1)


def test_a_persons_later_message_waits_for_the_earlier_and_goes_out_after_it(queued):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dsr import emails

    later = emails.email_receipt(queued.request)

    with CaptureQueriesContext(connection) as queries:
        message_send.apply(args=[later.pk])

    later.refresh_from_db()
    assert (later.status, later.attempts) == (MessageStatus.QUEUED, 0)  # the verification was written first
    # One read says so: the message, its request and whether an earlier one waits.
    reads = [sql for query in queries.captured_queries if (sql := query["sql"]).startswith("SELECT")]
    assert len(reads) == 1
    assert mail.outbox == []

    message_send.apply(args=[queued.pk])  # sent, it hands on to the later one in the same task

    assert [message.subject for message in mail.outbox] == [
        Message.objects.get(pk=pk).subject for pk in (queued.pk, later.pk)
    ]
    assert set(Message.objects.filter(pk__in=[queued.pk, later.pk]).values_list("status", flat=True)) == {
        MessageStatus.SENT
    }

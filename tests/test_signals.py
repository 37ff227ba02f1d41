"""The "go" signals' outbox (dsr/signals.py): filing never needs the broker, and nothing is lost while it is down."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from dsr import emails, signals, workflow
from dsr.audit import Actor
from dsr.models import Message, MessageStatus, Request, Right, Status, TaskSignal
from dsr.tasks import message_send
from dsr.workflow import request_submit

pytestmark = pytest.mark.django_db

# Nothing listens on port 9 (discard): every connection is refused, as when Redis is down.
EMAIL = "kunde@example.dk"


@pytest.fixture
def web_process_with_broker_down():
    """This process as a web process sees it during an outage: every hand-over to the broker fails."""
    with broker_refusing(eager=False) as outage:
        yield outage


class _Outage:
    def __init__(self, publisher):
        self._publisher = publisher

    def back(self) -> None:
        """The broker answers again."""
        signals._publisher = self._publisher


@contextmanager
def broker_refusing(*, eager: bool):
    """Make every hand-over of this process to the broker fail as a refused connection does; restore it after.

    The publisher dsr.apps registers is replaced, whatever the broker's transport: the outbox must keep
    each signal whose hand-over raised a broker error.
    """
    publisher = signals._publisher
    previous_eager = celery_app.conf.task_always_eager

    def refused(task: str, args: list) -> None:
        raise OSError(111, "Connection refused (the broker is down)")

    celery_app.conf.task_always_eager = eager
    signals._publisher = refused
    try:
        yield _Outage(publisher)
    finally:
        signals._publisher = publisher
        celery_app.conf.task_always_eager = previous_eager


def test_a_filing_rolled_back_leaves_no_go_signal(django_capture_on_commit_callbacks):
    def file_then_fail() -> None:
        with transaction.atomic():
            request_submit(
                right=Right.OBJECTION, email=EMAIL, actor=Actor.subject(), details={"scope": "direct_marketing"}
            )
            raise RuntimeError("the caller's transaction fails after filing")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        file_then_fail()
    assert not Request.objects.exists()
    assert not TaskSignal.objects.exists()
    assert mail.outbox == []


def test_filing_with_the_broker_down_stores_the_request_with_its_signals(
    web_process_with_broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = request_submit(
            right=Right.OBJECTION,
            email=EMAIL,
            actor=Actor.integration("shop"),
            details={"scope": "direct_marketing"},
            pre_verified=True,
        )
    assert result.created
    assert result.request.status == Status.IN_PROGRESS
    waiting = list(TaskSignal.objects.values_list("task", "args"))
    receipt = result.request.messages.get(kind="receipt")
    assert ("dsr.tasks.message_send", [receipt.pk]) in waiting
    assert ("dsr.tasks.plan_start", [result.request.pk]) in waiting


def test_the_sweep_keeps_every_signal_while_the_broker_is_down_and_sends_them_oldest_first_after(
    web_process_with_broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = request_submit(right=Right.ACCESS, email=EMAIL, actor=Actor.subject()).request
        second = request_submit(right=Right.ACCESS, email="anden@example.dk", actor=Actor.subject()).request
    assert signals.signals_sweep() == 0
    assert TaskSignal.objects.count() == 2

    # The broker is back (here: tasks run inline, as Celery does without one).
    web_process_with_broker_down.back()
    celery_app.conf.task_always_eager = True
    assert signals.signals_sweep() == 2
    assert not TaskSignal.objects.exists()
    assert [message.to for message in mail.outbox] == [[first.email], [second.email]]
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 2


def test_the_receipt_goes_out_before_the_completion_even_when_its_go_came_late(django_capture_on_commit_callbacks):
    # Filed pre-verified, its signals not yet handed over: the receipt is recorded and waits.
    request = request_submit(
        right=Right.OBJECTION,
        email=EMAIL,
        actor=Actor.subject(),
        details={"scope": "direct_marketing"},
        pre_verified=True,
    ).request
    receipt = request.messages.get(kind="receipt")
    completion = emails.email_completed(request)

    message_send(completion.pk)  # the completion's "go" arrives first
    completion.refresh_from_db()
    assert completion.status == MessageStatus.QUEUED
    assert completion.attempts == 0
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        message_send(receipt.pk)
    completion.refresh_from_db()
    assert completion.status == MessageStatus.SENT
    assert [message.subject for message in mail.outbox] == [
        Message.objects.get(pk=receipt.pk).subject,
        completion.subject,
    ]


# --- A client's retry files nothing twice -------------------------------------------------


SHOP = Actor.integration("shop")


def _objection(actor=SHOP, **extra):
    return request_submit(
        right=Right.OBJECTION, email=EMAIL, actor=actor, details={"scope": "direct_marketing"}, **extra
    )


def test_the_same_filing_again_within_minutes_is_the_same_request():
    first = _objection()
    again = request_submit(
        right=Right.OBJECTION, email=EMAIL.upper(), actor=SHOP, details={"scope": "direct_marketing"}
    )
    assert first.created
    assert not again.created
    assert again.request.pk == first.request.pk
    assert again.status_token == first.status_token
    assert Request.objects.count() == 1
    assert Message.objects.filter(kind="verification").count() == 1


def test_only_the_same_authenticated_filer_gets_the_earlier_request_back():
    """The twin's status token goes back to the caller: nobody else may get it by typing the same email."""
    first = _objection()
    by_another_integration = _objection(actor=Actor.integration("crm"))
    by_the_public = _objection(actor=Actor.subject())
    by_the_public_again = _objection(actor=Actor.subject())
    tokens = {first.status_token, by_another_integration.status_token, by_the_public.status_token}
    assert by_another_integration.created
    assert by_the_public.created
    assert by_the_public_again.created
    assert len(tokens) == 3
    assert by_the_public_again.request.pk != by_the_public.request.pk
    assert Request.objects.count() == 4


def test_a_different_right_or_different_details_is_a_new_request():
    first = _objection()
    profiling = request_submit(
        right=Right.OBJECTION,
        email=EMAIL,
        actor=Actor.subject(),
        details={"scope": "profiling", "grounds": "I do not want to be profiled"},
    )
    access = request_submit(right=Right.ACCESS, email=EMAIL, actor=Actor.subject())
    assert len({first.request.pk, profiling.request.pk, access.request.pk}) == 3


def test_the_same_filing_after_the_window_or_after_the_first_closed_is_a_new_request(settings):
    first = _objection().request
    Request.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.DSR_DUPLICATE_FILING_SECONDS + 1)
    )
    later = _objection()
    assert later.created
    workflow.request_cancel(request=later.request, actor=Actor.subject(), reasons="changed my mind")
    after_cancel = _objection()
    assert after_cancel.created
    assert Request.objects.count() == 3


def test_signals_recorded_together_are_one_insert_and_the_ones_the_broker_took_one_delete(
    django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    published = []

    def publisher(task: str, args: list) -> None:
        if args == [2]:
            raise OSError(111, "Connection refused (the broker went down)")
        published.append(args)

    monkeypatch.setattr(signals, "_publisher", publisher)
    monkeypatch.setattr(signals, "_at_commit", lambda: True)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        signals.signals_record("dsr.tasks.job_run", [[1], [2], [3]])

    statements = [query["sql"] for query in queries.captured_queries]
    assert sum('INSERT INTO "dsr_tasksignal"' in sql for sql in statements) == 1
    assert sum('DELETE FROM "dsr_tasksignal"' in sql for sql in statements) == 1
    # Handed over in order until the broker failed: what it did not take waits for the sweeper.
    assert published == [[1]]
    assert sorted(TaskSignal.objects.values_list("args", flat=True)) == [[2], [3]]


def test_many_signals_are_recorded_in_statements_of_at_most_insert_rows_and_all_handed_over(
    django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    published = []
    monkeypatch.setattr(signals, "_publisher", lambda task, args: published.append(args))
    monkeypatch.setattr(signals, "_at_commit", lambda: True)
    many = [[pk] for pk in range(1, 2 * signals.INSERT_ROWS + 2)]
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        signals.signals_record("dsr.tasks.job_run", many)

    inserts = [query["sql"] for query in queries.captured_queries if 'INSERT INTO "dsr_tasksignal"' in query["sql"]]
    assert len(inserts) == (3 if connection.features.can_return_columns_from_insert else len(many))
    assert published == many
    assert not TaskSignal.objects.exists()


def _signals_in_order() -> list[str]:
    return [task.rsplit(".", 1)[-1] for task in TaskSignal.objects.order_by("pk").values_list("task", flat=True)]


def test_a_verified_filing_sends_the_works_go_before_the_receipts(web_process_with_broker_down):
    # A worker with one process free takes the work the person's answer waits on; the receipt waits on nothing.
    request_submit(right=Right.ACCESS, email=EMAIL, actor=Actor.integration("shop"), pre_verified=True)

    assert _signals_in_order() == ["plan_start", "message_send"]


def test_a_confirmed_email_sends_the_works_go_before_the_receipts(web_process_with_broker_down):
    request = request_submit(right=Right.ACCESS, email=EMAIL, actor=Actor.subject()).request
    TaskSignal.objects.all().delete()

    workflow.request_verify(request=request, method="email_link", actor=Actor.subject())

    assert _signals_in_order() == ["plan_start", "message_send"]

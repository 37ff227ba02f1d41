"""Celery tasks: thin interfaces that load by id, call a service and own the retry policy.

Every task is idempotent: the database says what is already done, the broker
only says "go". See docs/decisions/0007-retries.md.
"""

import functools
import logging
import smtplib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
from celery import current_app, shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from dsr import audit_checkpoints, emails, rows, signals, sweeps, webhooks, workflow
from dsr.engine import callbacks, dispatch, jobs, plans, reconcile
from dsr.exports import transmission
from dsr.exports.delivery import bundles_purge_expired as purge
from dsr.models import Message, MessageStatus, Request
from dsr.outbox import message_render
from dsr.rights.restriction import restrictions_lift_due as lift_due

logger = logging.getLogger(__name__)

# --- "Go" signals (dsr/signals.py) -------------------------------------------------

# True in a worker's processes (config/celery.py): they hold a broker connection and hand signals over at commit.
_in_worker = False


def signals_in_worker_set(value: bool) -> None:
    """Say that this process is a Celery worker's (it hands its signals over at commit)."""
    global _in_worker
    _in_worker = value


def signals_at_commit() -> bool:
    """Return whether this process hands its signals to the broker at commit: a worker, or tasks run inline."""
    return _in_worker or bool(current_app.conf.task_always_eager)


def signal_publish(task: str, args: list) -> None:
    """Hand one "go" to the broker once, without retrying: a broker that is down fails fast and the row stays."""
    current_app.tasks[task].apply_async(args, retry=False)


def signals_sweeper_run(stop: threading.Event) -> None:
    """Sweep the signals' outbox until ``stop`` is set (a thread in each worker).

    It sweeps every DSR_SIGNAL_SWEEP_SECONDS, and on PostgreSQL at once whenever a commit that recorded
    signals notifies it (dsr/signals.py); a listener that fails is connected again at the next turn.
    """
    interval = settings.DSR_SIGNAL_SWEEP_SECONDS
    listener = None
    while not stop.is_set():
        try:
            if listener is None:
                # Before the sweep: a commit between the sweep and the wait still wakes it.
                listener = signals.signals_listener_connect()
            while signals.signals_sweep(listener=listener) and not stop.is_set():
                pass
        except (DatabaseError, psycopg.Error) as exc:
            # The database restarted or is away: the next turn connects again.
            logger.warning("signals: the sweep could not read the outbox (%s)", type(exc).__name__)
        finally:
            # Only without a listener (SQLite, or it failed) is Django's used; one held between sweeps would be
            # inherited by every pool process forked meanwhile.
            connection.close()
        listener = _signals_wait(listener, stop, interval)
    if listener is not None:
        listener.close()


def _signals_wait(
    listener: psycopg.Connection | None, stop: threading.Event, interval: float
) -> psycopg.Connection | None:
    """Wait for the next turn: a notification or the interval; return the listener, or None if it failed."""
    if listener is None:
        stop.wait(interval)
        return None
    try:
        signals.signals_wait(listener, interval, stop=stop)
    except psycopg.Error as exc:
        logger.warning("signals: the listener stopped (%s); sweeping every %s s", type(exc).__name__, interval)
        listener.close()
        stop.wait(interval)
        return None
    return listener


# Worth another try: the mail server or the network, not the message.
_TRANSIENT_MAIL_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPDataError,
    smtplib.SMTPHeloError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
)
MESSAGE_MAX_RETRIES = 6
# Messages to someone other than staff that belong to no request.
_NO_REQUEST_KINDS = ("preference_code", "audit_checkpoint")
# A message whose "go" or retry should have run this long ago was lost with its broker message or worker.
MESSAGE_STUCK_AFTER = timedelta(minutes=10)
# A fresh "go" this soon after an attempt is the same message's second "go", not a retry (retries wait 30 s or more).
MESSAGE_IN_FLIGHT = timedelta(seconds=25)


def message_backoff(attempts: int) -> float:
    """Return the seconds to wait after the ``attempts``-th failed attempt: 30 s doubling, at most an hour."""
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


@shared_task(bind=True, max_retries=MESSAGE_MAX_RETRIES, acks_late=True)
def message_send(self, message_id: int) -> None:
    """Render and send one recorded message; retry transient mail errors with exponential backoff.

    A message sent on its first go hands on to the person's next one in the same task, as its own go would.
    """
    following = _message_send(self, message_id, fresh=self.request.retries == 0)
    while following is not None:
        following = _message_send(self, following, fresh=True)


def _message_send(task, message_id: int, *, fresh: bool) -> int | None:
    """Send one message (``fresh``: not a retry); return the message to send next in this task, if any."""
    with transaction.atomic():
        message = _message_read(message_id)
        if message is None or message.status == MessageStatus.SENT:
            return None
        # A requester's message whose request is gone is not sent; the preference centre's code and an audit
        # checkpoint for the DPO have no request.
        if message.to_staff is False and message.request is None and message.kind not in _NO_REQUEST_KINDS:
            return None
        if message.earlier_waiting and not message.to_staff:
            # One person's messages go out in the order they were written (the receipt before the
            # completion); the earlier one hands this one its "go" once it is settled.
            return None
        now = timezone.now()
        if fresh and message.attempted_at and message.attempted_at > now - MESSAGE_IN_FLIGHT:
            # Its "go" came twice (handed over at commit and by a sweeper, or by the message before it as well):
            # the run that took it moments ago sends it, or schedules its own retry.
            return None
        # Taken only if no other run took it since it was read (SQLite does not lock the row for the read).
        if not _message_statement_run(
            "take", [message.attempts + 1, connection.ops.adapt_datetimefield_value(now), message.pk, message.attempts]
        ):
            return None
        message.attempts += 1
        message.attempted_at = now
    try:
        rendered = message_render(message)
        if not rendered.to:
            _message_fail(message, "no recipient")
            return None
        email = EmailMultiAlternatives(subject=rendered.subject, body=rendered.text, to=rendered.to)
        email.attach_alternative(rendered.html, "text/html")
        for filename, content, mimetype in rendered.attachments:
            email.attach(filename, content, mimetype)
        email.send()
    except _TRANSIENT_MAIL_ERRORS as exc:
        # The row counts attempts, so a message handed back by messages_requeue_stuck does not start over.
        if message.attempts > task.max_retries:
            _message_fail(message, type(exc).__name__)
            return None
        logger.warning("message %s: transient mail error %s, retrying", message_id, type(exc).__name__)
        raise task.retry(args=(message.pk,), exc=exc, countdown=message_backoff(message.attempts)) from exc
    except Exception as exc:
        # A template or data problem: retrying will not help. Recorded for the timeline.
        # Only the type: an exception's text may quote an address (SMTPRecipientsRefused does).
        _message_fail(message, type(exc).__name__)
        logger.error("message %s (%s) could not be sent: %s", message_id, message.kind, type(exc).__name__)
        return None
    with transaction.atomic():
        sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
        _message_statement_run("sent", [MessageStatus.SENT, sent_at, rendered.subject[:255], message.pk])
        if message.kind in workflow.RECEIPT_CONFIRMING_KINDS and workflow.receipt_confirmation_asked(message.request):
            # CCPA regs § 7021(a): receipt counts as confirmed when this email went out, not when it was queued.
            workflow.request_receipt_confirmed(message_id=message.pk)
    # A retry's task goes no further than its own message: Celery counts the retries of the task, not of each.
    following = _message_settled(message, hand_on=not fresh)
    if message.kind in LIFT_NOTICE_KINDS:
        # GDPR Art. 18(3): the person has now been told; a restriction waiting for this letter may be lifted.
        restrictions_lift_due.delay()
    return following


# The messages a restriction's lift may wait for: the notice itself, and an objection's decision letter.
LIFT_NOTICE_KINDS = ("restriction_lift", "refused")


def _message_fail(message: Message, error: str) -> None:
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, last_error=error[:255], **_message_fail_forgets(message)
    )
    _message_settled(message)


def _message_fail_forgets(message: Message) -> dict[str, str]:
    """Return the fields a failed message empties: a message of no request keeps nothing it was sealed with.

    A requester's failed message stays sealed (the timeline shows it) and goes with its request's purge. The
    preference centre's code (its address, code and link) and a checkpoint for the DPO have no request: no
    purge would ever take them, and nothing sends them again (the person asks for a new code).
    """
    if message.request_id is None and not message.to_staff:
        return {"sealed_context": ""}
    return {}


def _message_read(message_id: int) -> Message | None:
    """Read and lock the message with its request (rendering needs it) and ``earlier_waiting``.

    ``earlier_waiting``: the same person has an earlier message still queued (a staff message has no such
    order). Only the message's row is locked. One statement, written once (dsr/rows.py).
    """
    row = rows.fetch_one(_message_read_statement(), [MessageStatus.QUEUED, message_id])
    if row is None:
        return None
    message = rows.instance(Message, row)
    message.request = rows.instance(Request, row, rows.width(Message))
    message.earlier_waiting = bool(row[-1])
    return message


@functools.cache
def _message_statements() -> dict[str, str]:
    """The statements every message runs, written once (dsr/rows.py): its taking, its sending, the next one's read."""
    table = connection.ops.quote_name(Message._meta.db_table)
    return {
        "take": f"UPDATE {table} SET attempts = %s, attempted_at = %s WHERE id = %s AND attempts = %s",  # noqa: S608
        "sent": (
            f"UPDATE {table} SET status = %s, sent_at = %s, subject = %s, sealed_context = '', "  # noqa: S608
            "last_error = '' WHERE id = %s"
        ),
        "following": (
            f"SELECT id FROM {table} WHERE request_id = %s AND NOT to_staff AND status = %s AND id > %s "  # noqa: S608
            "ORDER BY id LIMIT 1"
        ),
    }


def _message_statement_run(name: str, params: list) -> int:
    """Run one of ``_message_statements``; return the rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(_message_statements()[name], params)
        return cursor.rowcount


@functools.cache
def _message_read_statement() -> str:
    quote = connection.ops.quote_name
    table, requests = quote(Message._meta.db_table), quote(Request._meta.db_table)
    return (
        f"SELECT {rows.columns(Message, 'm')}, {rows.columns(Request, 'r')}, "  # noqa: S608 (names, no values)
        f"EXISTS (SELECT 1 FROM {table} e WHERE e.request_id = m.request_id AND NOT e.to_staff "
        "AND e.status = %s AND e.id < m.id) "
        f"FROM {table} m LEFT JOIN {requests} r ON r.id = m.request_id WHERE m.id = %s{rows.for_update('m')}"
    )


def _message_settled(message: Message, *, hand_on: bool = True) -> int | None:
    """Let the person's next queued message go now that ``message`` is sent or failed.

    ``hand_on``: record its "go"; otherwise return its id, for the caller to send it next.
    """
    following = None
    if message.request_id is not None and not message.to_staff:
        with connection.cursor() as cursor:
            cursor.execute(_message_statements()["following"], [message.request_id, MessageStatus.QUEUED, message.pk])
            row = cursor.fetchone()
        following = row[0] if row is not None else None
        if following is not None and hand_on:
            signals.signal_record(message_send.name, following)
    if message.kind == "transmission":
        # GDPR Art. 20(2): the link counts as sent to the receiving controller once its email went out.
        transmission.transmission_message_settled(message_id=message.pk)
    return None if hand_on else following


@shared_task(acks_late=True)
def restrictions_lift_due() -> int:
    """Lift the restrictions whose notice has gone out and whose announced date has come (GDPR Art. 18(3))."""
    return lift_due()


@shared_task(acks_late=True)
def requests_expire_unverified() -> int:
    """Expire requests whose email was never confirmed."""
    return workflow.requests_expire_unverified()


@shared_task(acks_late=True)
def requests_remind_staff() -> int:
    """Send staff the daily digest of requests due soon or overdue."""
    return workflow.requests_remind_staff()


@shared_task(acks_late=True)
def requests_purge_closed() -> int:
    """Erase requesters' details from requests closed longer than the retention period."""
    return workflow.requests_purge_closed()


@shared_task(acks_late=True)
def bundles_purge_expired() -> int:
    """Delete export bundles past their expiry (dsr/exports/delivery.py); each deletion is audited."""
    return purge()


@shared_task(acks_late=True)
def messages_requeue_stuck() -> int:
    """Hand back to the workers every queued message whose "go" or retry was lost; return how many.

    Never attempted: its "go" signal was lost (a broker restart). Attempted: the worker died while
    sending, or the retry it scheduled was lost; it is handed back once its backoff has passed.
    """
    now = timezone.now()
    queued = Message.objects.filter(status=MessageStatus.QUEUED)
    ids = list(queued.filter(attempts=0, created_at__lt=now - MESSAGE_STUCK_AFTER).values_list("pk", flat=True)[:500])
    attempted = queued.filter(attempts__gt=0, attempted_at__lt=now - MESSAGE_STUCK_AFTER)
    for pk, attempts, attempted_at in attempted.values_list("pk", "attempts", "attempted_at")[:500]:
        if attempted_at >= now - MESSAGE_STUCK_AFTER - timedelta(seconds=message_backoff(attempts)):
            continue
        if attempts > MESSAGE_MAX_RETRIES:
            # Lost on every try (a worker that dies on this message): recorded for the timeline, not tried again.
            lost = Message.objects.get(pk=pk)
            Message.objects.filter(pk=pk, status=MessageStatus.QUEUED).update(
                status=MessageStatus.FAILED, last_error="lost", **_message_fail_forgets(lost)
            )
            continue
        ids.append(pk)
    for pk in ids:
        message_send.delay(pk)
    return len(ids)


# --- The work on the sources (dsr/engine/, docs/decisions/0008-jobs.md) ---------


def job_backoff(attempts: int) -> float:
    """Return the seconds to wait after the ``attempts``-th failed run: doubling, at most an hour."""
    return min(settings.DSR_JOB_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 3600)


@shared_task(acks_late=True)
def job_run(job_id: int) -> str:
    """Run one job; a transient source error is retried with exponential backoff (the job row counts attempts).

    The stage the job's plan moves on to is run by this task too, where it needs no task of its own.
    """
    with _next_stages_run():
        outcome = jobs.job_run(job_id=job_id, max_attempts=settings.DSR_JOB_MAX_ATTEMPTS, backoff=job_backoff)
        _job_retries_send([job_id], [outcome])
    return outcome.status


@shared_task(acks_late=True)
def jobs_run(job_ids: list[int]) -> list[str]:
    """Run a stage's jobs on sources that touch only their own database, one after another, as job_run each.

    The stage the plan moves on to is run by this task too, where it needs no task of its own.
    """
    with _next_stages_run():
        outcomes = jobs.jobs_run(job_ids=job_ids, max_attempts=settings.DSR_JOB_MAX_ATTEMPTS, backoff=job_backoff)
        _job_retries_send(job_ids, outcomes)
    return [outcome.status for outcome in outcomes]


@shared_task(acks_late=True)
def plan_start(request_id: int) -> None:
    """Create (or resume) a verified request's plan of per-source jobs, and run its first job."""
    with _next_stages_run():
        plans.plan_start(request_id=request_id)


# How long after its start a task still runs the stages it made itself (_jobs_kept_run).
KEPT_RUN_SECONDS = 30


def _job_retries_send(job_ids: list[int], outcomes: list[jobs.JobOutcome]) -> None:
    for job_id, outcome in zip(job_ids, outcomes, strict=True):
        if outcome.retry_in is not None:
            # The row says queued until not_before; if this "go" is lost, the reconciler sends another.
            job_run.apply_async((job_id,), countdown=outcome.retry_in)


@contextmanager
def _next_stages_run() -> Iterator[None]:
    """Keep the stages the block's steps make (dispatch.jobs_kept) and run them after it, as _jobs_kept_run does."""
    started = time.monotonic()
    with dispatch.jobs_kept() as kept:
        yield
        _jobs_kept_run(kept, started)


def _jobs_kept_run(kept: list[list[int]], started: float) -> None:
    """Run the jobs this task's own steps made and kept (dispatch.jobs_kept), stage after stage.

    Only within KEPT_RUN_SECONDS of the task's start (``started``, time.monotonic): after that the stage gets its
    "go" like any other, so a request of large stages never piles them into one task's time limit.
    """
    while kept:
        batch = kept.pop(0)
        if time.monotonic() - started > KEPT_RUN_SECONDS:
            dispatch.jobs_kept_send(batch)
            return
        outcomes = jobs.jobs_run(job_ids=batch, max_attempts=settings.DSR_JOB_MAX_ATTEMPTS, backoff=job_backoff)
        _job_retries_send(batch, outcomes)


@shared_task(acks_late=True)
def jobs_reconcile() -> dict:
    """Re-send the "go" for jobs with no progress and advance plans whose jobs all finished."""
    return reconcile.jobs_reconcile().as_dict()


# --- Direct transmission to another controller (dsr/exports/transmission.py) -------------


@shared_task(acks_late=True)
def transmission_attempt(transmission_id: int) -> str:
    """POST one transmission notice; a failed attempt is tried again with exponential backoff (the row counts)."""
    outcome = transmission.transmission_attempt(transmission_id=transmission_id)
    if outcome.retry_in is not None:
        transmission_attempt.apply_async((transmission_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def transmissions_reconcile() -> int:
    """Settle emailed transmissions whose email went out, and re-send lost "go" signals for endpoint ones."""
    transmission.transmissions_sync()
    return transmission.transmissions_reconcile()


# --- Outbound webhooks (dsr/webhooks.py, docs/webhooks.md) ---------------------------


@shared_task(acks_late=True)
def webhook_delivery_attempt(delivery_id: int) -> str:
    """Send one webhook delivery; a failed attempt is tried again with exponential backoff (the row counts)."""
    outcome = webhooks.webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        # The row says pending until next_attempt_at; if this "go" is lost, the reconciler sends another.
        webhook_delivery_attempt.apply_async((delivery_id,), countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True)
def deliveries_reconcile() -> int:
    """Re-send the "go" for webhook deliveries that are due and were not sent (a lost message, a dead worker)."""
    return webhooks.deliveries_reconcile()


@shared_task(acks_late=True)
def requests_flag_deadline_near() -> int:
    """Emit "deadline near" once for each open request due soon."""
    return webhooks.requests_flag_deadline_near()


@shared_task(acks_late=True)
def callbacks_prune() -> int:
    """Forget processors' callbacks older than a day (their signatures are long past the replay window)."""
    return callbacks.callbacks_prune()


@shared_task(acks_late=True)
def audit_checkpoint_write() -> int | None:
    """Sign the audit chain's head into a new checkpoint file if it moved; return its sequence number."""
    if audit_checkpoints.signing_key() is None:
        # dsr.W402 says so at start-up; the chain alone still proves order.
        logger.warning("no DSR_AUDIT_SIGNING_KEY: no audit checkpoint written")
        return None
    checkpoint = audit_checkpoints.audit_checkpoint_write()
    if checkpoint is None:
        return None
    emails.email_audit_checkpoint(checkpoint)
    return checkpoint.seq


@shared_task(acks_late=True)
def retention_sweep_run(sweep_id: int) -> str:
    """Run an approved retention sweep (dsr/sweeps.py); a worker lost mid-sweep resumes it where it stopped."""
    return sweeps.sweep_run(sweep_id).status


@shared_task(acks_late=True)
def retention_sweeps_scheduled() -> list[int]:
    """Plan and run the sweeps of the rules the privacy admin turned on."""
    return sweeps.sweeps_scheduled()

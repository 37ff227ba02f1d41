"""The "go" signals' outbox: recorded in the transaction that made the work, handed to the broker after.

A service that creates work (a request's plan, a job, an email, a webhook
delivery) records its "go" as a row in the same transaction, so the work and
its signal commit together or not at all. Filing therefore never talks to the
broker and never fails because the broker is down. The rows reach the broker:

- at commit, in a process that already holds a broker connection (a worker's
  task, or Celery running tasks inline); a failure leaves the row;
- from the sweeper in every worker (config/celery.py), every
  DSR_SIGNAL_SWEEP_SECONDS: everything the web processes recorded, and
  whatever a failed hand-over left. On PostgreSQL a transaction that records
  a signal outside a worker also sends ``NOTIFY dsr_signals``, which the
  database delivers when (and only if) it commits, once however many signals
  it recorded; the sweepers LISTEN and sweep at once instead of at their
  next turn. The notification carries nothing but its channel's name.

A signal handed over twice runs nothing twice: every task is idempotent
(docs/decisions/0007-retries.md).
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from psycopg import sql

from dsr.models import TaskSignal

logger = logging.getLogger(__name__)

# The channel a commit that recorded signals wakes the sweepers on (PostgreSQL); no payload, so no personal data.
WAKE_CHANNEL = "dsr_signals"

# The listener's application_name, as pg_stat_activity shows it.
LISTENER_NAME = "dsr signals sweeper"
# What a broker that is down or unwritable raises: kombu's wrapper, or the socket's or the folder's own error.
_BROKER_ERRORS = (BrokerError, OSError)

# Hands one signal to the broker (the task's apply_async), registered by dsr.apps; raises if the broker is down.
_publisher: Callable[[str, list], object] | None = None
# Whether this process hands its signals over at commit (a worker, or tasks run inline), registered the same way.
_at_commit: Callable[[], bool] = lambda: False  # noqa: E731


def publisher_set(publisher: Callable[[str, list], object] | None, *, at_commit: Callable[[], bool]) -> None:
    """Register the function that hands a signal to the broker and the test for handing over at commit."""
    global _publisher, _at_commit
    _publisher = publisher
    _at_commit = at_commit


# The most signals one INSERT records (three parameters each).
INSERT_ROWS = 500


def signal_record(task: str, *args: int | str) -> None:
    """Record a "go" for ``task`` in the current transaction; it reaches the broker once committed."""
    signals_record(task, [list(args)])


def signals_record(task: str, args_list: list[list]) -> None:
    """Record a "go" for ``task`` with each of ``args_list``, INSERT_ROWS to a statement; handed over at commit."""
    if not args_list:
        return
    if connection.features.can_return_columns_from_insert:
        # Written out (every job, message and step records some): the rows and their keys in one statement.
        field = TaskSignal._meta.get_field("args")
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        keys = []
        # At most INSERT_ROWS rows a statement: a database takes only so many parameters in one.
        for start in range(0, len(args_list), INSERT_ROWS):
            batch = args_list[start : start + INSERT_ROWS]
            params = [value for args in batch for value in (task, field.get_db_prep_save(args, connection), now)]
            with connection.cursor() as cursor:
                cursor.execute(_insert_statement(len(batch)), params)
                keys += [row[0] for row in cursor.fetchall()]
        signals = [(pk, task, args) for pk, args in zip(keys, args_list, strict=True)]
    else:
        # A database that would not give the rows' keys back (needed to delete them once sent): one at a time.
        signals = [(TaskSignal.objects.create(task=task, args=args).pk, task, args) for args in args_list]
    if signals_at_commit():
        transaction.on_commit(lambda: _signals_hand_over(signals))
    elif connection.vendor == "postgresql":
        # Delivered at commit, never for a rollback; the same notification twice in one transaction is sent once.
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {WAKE_CHANNEL}")


@dataclass(frozen=True)
class SignalStarter:
    """A starter (as the layers below register them) that records a "go" for ``task``.

    Its ``task`` is public: a service that writes its rows in one statement of its own (a filing on PostgreSQL,
    dsr.workflow.filing_sql) records the signal rows in that statement too.
    """

    task: str

    def __call__(self, *args: int | str) -> None:
        signal_record(self.task, *args)


def signal_starter(task: str) -> SignalStarter:
    """Return a starter (as the layers below register them) that records a "go" for ``task``."""
    return SignalStarter(task)


def signals_at_commit() -> bool:
    """Return whether this process hands its signals to the broker itself at commit (else the sweepers do)."""
    return _publisher is not None and _at_commit()


def signals_starter(task: str) -> Callable[[list[int]], None]:
    """Return a starter that records a "go" for ``task`` for each of a list of ids, in one statement."""
    return lambda ids: signals_record(task, [[pk] for pk in ids])


@functools.lru_cache(maxsize=16)
def _insert_statement(count: int) -> str:
    table = connection.ops.quote_name(TaskSignal._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * count)
    return f"INSERT INTO {table} (task, args, created_at) VALUES {values} RETURNING id"  # noqa: S608 (a table name)


def _signals_hand_over(signals: list[tuple[int, str, list]]) -> int:
    """Hand the (id, task, args) signals to the broker, in order; delete those it took in one statement."""
    sent = _published(signals)
    if sent:
        _signals_delete(sent)
    return len(sent)


def _signals_delete(keys: list[int]) -> None:
    table = connection.ops.quote_name(TaskSignal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(keys))})", keys)  # noqa: S608


def _published(signals) -> list[int]:
    """Hand (id, task, args) signals to the broker in order; stop at its first refusal; return the ids it took.

    The rest stay in the outbox, and a sweep hands them over once the broker is back.
    """
    sent: list[int] = []
    for pk, task, args in signals:
        try:
            _publisher(task, args)
        except _BROKER_ERRORS as exc:
            logger.warning("signals: the broker refused a hand-over (%s); %s sent", type(exc).__name__, len(sent))
            break
        sent.append(pk)
    return sent


def signals_sweep(*, limit: int = 500, listener: psycopg.Connection | None = None) -> int:
    """Hand the waiting signals to the broker, oldest first; stop at the first failure; return how many went.

    On PostgreSQL two sweepers skip each other's rows (SKIP LOCKED); elsewhere
    a row may be handed over twice, which runs nothing twice. With ``listener``
    (``signals_listener_connect``), the sweep runs on that connection, which stays
    open between sweeps, instead of opening Django's for every wake-up.
    """
    if _publisher is not None and listener is not None:
        return _signals_sweep_on(listener, limit)
    if _publisher is None or not TaskSignal.objects.exists():
        # Nothing waiting (the usual case): no transaction, so SQLite's write lock is not taken every second.
        return 0
    with transaction.atomic():
        rows = TaskSignal.objects.order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        sent = _published(rows.values_list("pk", "task", "args")[:limit])
        if sent:
            _signals_delete(sent)
    return len(sent)


def _signals_sweep_on(listener: psycopg.Connection, limit: int) -> int:
    """Sweep as ``signals_sweep`` does, in a transaction of the listener's own connection (PostgreSQL)."""
    table = sql.Identifier(TaskSignal._meta.db_table)
    with listener.transaction():
        rows = listener.execute(
            sql.SQL("SELECT id, task, args FROM {} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED").format(table), [limit]
        ).fetchall()
        sent = _published(rows)
        if sent:
            listener.execute(sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(table), [sent])
    return len(sent)


def signals_listener_connect() -> psycopg.Connection | None:
    """Return a connection of its own that LISTENs for the sweepers' wake-up, or None where there is none.

    Only PostgreSQL notifies (``signal_record``); elsewhere the sweeper keeps its interval alone.
    """
    if connection.vendor != "postgresql":
        return None
    # Not Django's connection (closed after every sweep): a listener stays open in between, and the sweeps it
    # wakes run on it (``signals_sweep``); notifications that come during a sweep wait in psycopg's backlog for
    # the next wait. Django's own cursor
    # class and adapters are left out; the notifications are all this connection reads. A pool process forked
    # meanwhile inherits its socket but never uses it, and psycopg closes a connection only in the process
    # that opened it, so a pool process that exits does not end this one's session.
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key not in ("cursor_factory", "context")
    }
    # Named, so that an operator (and a test) can tell it in pg_stat_activity.
    params["application_name"] = LISTENER_NAME
    listener = psycopg.connect(**params, autocommit=True)
    listener.execute(f"LISTEN {WAKE_CHANNEL}")
    return listener


def signals_wait(listener: psycopg.Connection, timeout: float, *, stop: threading.Event) -> bool:
    """Wait up to ``timeout`` seconds for a commit that recorded signals; return whether one came.

    Notifications that arrived meanwhile are taken too: one sweep sends everything waiting. ``stop`` is
    looked at every half second, so a worker shutting down is not kept waiting.
    """
    deadline = time.monotonic() + timeout
    woken = False
    while not woken and not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        for _ in listener.notifies(timeout=min(remaining, 0.5), stop_after=1):
            woken = True
    if woken:
        for _ in listener.notifies(timeout=0):
            pass
    return woken

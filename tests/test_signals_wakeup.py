"""Waking the sweepers (dsr/signals.py): on PostgreSQL a commit that recorded signals starts them at once.

A web process's transaction that records a "go" sends NOTIFY dsr_signals; the
database delivers it at commit, once, and never for a rollback. The sweeper
thread LISTENs and sweeps as soon as it arrives instead of at its next turn;
a listener that fails is connected again and the interval carries on meanwhile.
SQLite has no notifications: there the interval is all there is.
"""

import logging
import threading
import time

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dsr import signals, tasks
from dsr.models import TaskSignal

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="notifications are PostgreSQL's (CI=true runs these)"
)


@pytest.fixture
def broker_sent(monkeypatch) -> list[tuple[str, list]]:
    """Record what the sweepers hand to the broker, in order."""
    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(signals, "_publisher", lambda task, args: sent.append((task, list(args))))
    return sent


@pytest.fixture
def listener():
    """A connection that LISTENs as a worker's sweeper does."""
    listening = signals.signals_listener_connect()
    yield listening
    listening.close()


@pytest.fixture
def sweeper(settings):
    """Start the sweeper thread of a worker whose interval is 30 s; stop it after the test."""
    settings.DSR_SIGNAL_SWEEP_SECONDS = 30
    stop = threading.Event()
    thread = threading.Thread(target=tasks.signals_sweeper_run, args=(stop,), daemon=True)

    def start() -> threading.Thread:
        thread.start()
        return thread

    yield start
    stop.set()
    if thread.is_alive():
        thread.join(timeout=5)
        assert not thread.is_alive(), "the sweeper did not stop within 5 s of being told to"


def _notifications(listening: psycopg.Connection, *, within: float = 1.0) -> list[psycopg.Notify]:
    return list(listening.notifies(timeout=within))


def _wait_for(predicate, *, timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


@postgresql_only
def test_a_commit_that_records_signals_wakes_the_sweepers_once_and_says_nothing_else(web_process, listener):
    with transaction.atomic():
        signals.signal_record("dsr.tasks.plan_start", 41)
        signals.signal_record("dsr.tasks.message_send", 42)
        signals.signal_record("dsr.tasks.message_send", 43)
        assert _notifications(listener, within=0.3) == [], "delivered before the commit"

    received = _notifications(listener)
    assert [(n.channel, n.payload) for n in received] == [("dsr_signals", "")]


@postgresql_only
def test_a_rolled_back_transaction_wakes_no_one(web_process, listener):
    def file_then_fail() -> None:
        with transaction.atomic():
            signals.signal_record("dsr.tasks.plan_start", 41)
            raise RuntimeError("the filing fails after recording its signal")

    with pytest.raises(RuntimeError):
        file_then_fail()

    assert _notifications(listener) == []
    assert not TaskSignal.objects.exists()


@postgresql_only
def test_a_worker_hands_its_signals_over_at_commit_and_wakes_no_one(listener, broker_sent):
    # Tasks run inline (the unit-test default) hand over at commit, as a worker's processes do.
    with transaction.atomic():
        signals.signal_record("dsr.tasks.plan_start", 41)

    assert broker_sent == [("dsr.tasks.plan_start", [41])]
    assert _notifications(listener) == []


def test_without_postgresql_a_signal_is_recorded_with_no_notification(web_process, monkeypatch):
    # On a PostgreSQL run the connection is taken for another database, so the SQLite path runs everywhere.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as queries:
        signals.signal_record("dsr.tasks.plan_start", 41)

    assert TaskSignal.objects.count() == 1
    assert not any("NOTIFY" in query["sql"] for query in queries.captured_queries)
    assert signals.signals_listener_connect() is None


@postgresql_only
def test_the_sweeper_sends_a_committed_signal_at_once_not_at_its_next_turn(web_process, broker_sent, sweeper):
    signals.signal_record("dsr.tasks.plan_start", 1)
    sweeper()
    # Its first sweep took the signal recorded before it started; it now waits up to 30 s for its next turn.
    _wait_for(lambda: broker_sent == [("dsr.tasks.plan_start", [1])], timeout=5)

    with transaction.atomic():
        signals.signal_record("dsr.tasks.message_send", 2)
    # Well within the 30 s the sweeper would otherwise wait (the margin is for a loaded machine).
    _wait_for(lambda: len(broker_sent) == 2, timeout=10)

    assert broker_sent[1] == ("dsr.tasks.message_send", [2])
    # The row goes once the sweep's transaction commits, just after the hand-over.
    _wait_for(lambda: not TaskSignal.objects.exists(), timeout=5)


@postgresql_only
def test_a_listener_the_database_dropped_is_connected_again(web_process, broker_sent, sweeper, settings, caplog):
    settings.DSR_SIGNAL_SWEEP_SECONDS = 1
    sweeper_thread = sweeper()
    _wait_for(_listener_pids, timeout=5)
    first = _listener_pids()

    with caplog.at_level(logging.WARNING, logger="dsr.tasks"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first[0]])
        # Noticed within half a second; after one interval of sweeping without it, it listens again.
        _wait_for(lambda: _listener_pids() not in ([], first), timeout=10)

    # Noticed while waiting, or by a sweep that was running on it when the database dropped it.
    assert "the listener stopped" in caplog.text or "could not read the outbox (AdminShutdown)" in caplog.text
    with transaction.atomic():
        signals.signal_record("dsr.tasks.message_send", 3)
    _wait_for(lambda: broker_sent == [("dsr.tasks.message_send", [3])], timeout=5)
    assert sweeper_thread.is_alive()


def _listener_pids() -> list[int]:
    """Return the sweepers' listening connections (by their application name; the test's own has none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s "
            "ORDER BY pid",
            [signals.LISTENER_NAME],
        )
        return [row[0] for row in cursor.fetchall()]


def _web_filing(*pairs: tuple[str, int]) -> None:
    """Record signals as a web process's filing does, and commit them."""
    with transaction.atomic():
        for task, arg in pairs:
            signals.signal_record(task, arg)


@postgresql_only
def test_the_sweep_runs_on_the_listeners_connection_and_not_on_djangos(web_process, broker_sent, listener):
    _web_filing(("dsr.tasks.plan_start", 1), ("dsr.tasks.message_send", 2))

    with CaptureQueriesContext(connection) as queries:
        assert signals.signals_sweep(listener=listener) == 2

    assert queries.captured_queries == []  # not one statement on Django's connection
    assert broker_sent == [("dsr.tasks.plan_start", [1]), ("dsr.tasks.message_send", [2])]
    assert not TaskSignal.objects.exists()


@postgresql_only
def test_the_listeners_sweep_keeps_what_the_broker_refused_for_the_next_one(web_process, listener, monkeypatch):
    _web_filing(("dsr.tasks.plan_start", 1), ("dsr.tasks.message_send", 2), ("dsr.tasks.message_send", 3))
    sent = []

    def broker_down_after_one(task, args):
        if sent:
            raise OSError("the broker went away")
        sent.append((task, args))

    monkeypatch.setattr(signals, "_publisher", broker_down_after_one)

    assert signals.signals_sweep(listener=listener) == 1

    assert sent == [("dsr.tasks.plan_start", [1])]
    assert list(TaskSignal.objects.order_by("pk").values_list("task", "args")) == [
        ("dsr.tasks.message_send", [2]),
        ("dsr.tasks.message_send", [3]),
    ]


@postgresql_only
def test_a_commit_during_the_listeners_sweep_still_wakes_it_for_the_next(web_process, listener, monkeypatch):
    _web_filing(("dsr.tasks.plan_start", 1))
    sent = []

    def publish_while_another_files(task, args):
        sent.append((task, args))
        # Another web process commits while this sweep's transaction is open on the listener.
        _web_filing(("dsr.tasks.plan_start", 2))

    monkeypatch.setattr(signals, "_publisher", publish_while_another_files)
    assert signals.signals_sweep(listener=listener) == 1

    assert signals.signals_wait(listener, 0.5, stop=threading.Event()) is True
    monkeypatch.setattr(signals, "_publisher", lambda task, args: sent.append((task, args)))
    assert signals.signals_sweep(listener=listener) == 1
    assert sent == [("dsr.tasks.plan_start", [1]), ("dsr.tasks.plan_start", [2])]


@postgresql_only
def test_the_sweeper_sweeps_on_its_listener(web_process, broker_sent, sweeper, monkeypatch):
    sweeps = []
    sweep = signals.signals_sweep

    def spy(**kwargs):
        sweeps.append(kwargs.get("listener"))
        return sweep(**kwargs)

    monkeypatch.setattr(signals, "signals_sweep", spy)
    sweeper()
    _web_filing(("dsr.tasks.plan_start", 7))
    _wait_for(lambda: broker_sent == [("dsr.tasks.plan_start", [7])], timeout=10)

    assert sweeps
    assert all(isinstance(listener, psycopg.Connection) for listener in sweeps)

"""What the row-lock tests share: they run on PostgreSQL only, and watch a backend wait for a lock."""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection

# Row locks are PostgreSQL's; SQLite writes one transaction at a time (CI=true runs these).
ROW_LOCK_TESTS = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's (CI=true runs these)"),
]


def waiting_on_a_lock(pid: int) -> bool:
    """Return whether the backend ``pid`` is waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def run_until_it_waits(work: Callable[[], None], *, what: str) -> tuple[threading.Thread, list[Exception]]:
    """Run ``work`` in a thread on a connection of its own; return once that connection waits for a lock.

    Returns the thread (join it) and the exceptions ``work`` raised, for the test's assertions.
    """
    backend, failures = [], []

    def run() -> None:
        try:
            connection.ensure_connection()
            backend.append(connection.connection.info.backend_pid)
            work()
        except Exception as exc:  # the caller's assertion shows it
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while not (backend and waiting_on_a_lock(backend[0])):
        assert time.monotonic() < deadline, f"{what} never waited for the lock"
        time.sleep(0.02)
    return thread, failures

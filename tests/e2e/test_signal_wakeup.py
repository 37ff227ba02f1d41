"""A real worker starts the work a filing recorded as soon as it commits, not at its sweeper's next turn.

The worker's sweeper is given a 30-second interval: on PostgreSQL the filing's
NOTIFY wakes it (dsr/signals.py), so the verification email is out within
seconds; without the notification it would wait for the interval.
"""

import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

SWEEP_SECONDS = 30

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="notifications are PostgreSQL's (CI=true runs this)"),
]


@pytest.fixture
def slow_sweeper(monkeypatch) -> None:
    """Give the worker's sweeper an interval far longer than the test waits."""
    monkeypatch.setenv("DSR_SIGNAL_SWEEP_SECONDS", str(SWEEP_SECONDS))


@pytest.fixture
def worker(slow_sweeper, celery_worker_process):
    """Return the real worker, started with the slow sweeper."""
    return celery_worker_process


def test_a_filing_wakes_the_worker_at_once(worker, wait_until):
    # The worker's first sweep ran as it started; its next turn is 30 s away.
    time.sleep(1)
    filed_at = time.monotonic()
    filed = APIClient().post(
        "/api/v1/requests/", {"right": "access", "email": "kunde@example.dk", "language": "en"}, format="json"
    )
    assert filed.status_code == 201, filed.content

    wait_until(lambda: worker.outbox(), timeout=SWEEP_SECONDS / 3, interval=0.1, what="the verification email")

    assert worker.outbox()[0]["To"] == "kunde@example.dk"
    assert time.monotonic() - filed_at < SWEEP_SECONDS / 3

"""Faults a real worker lives through: a broker that is down while people file, and a worker that dies mid-job.

Filing records its "go" signals with the request (dsr/signals.py); the worker's
sweeper hands them to the broker. A working job renews its lease; a dead
worker's job is taken over once the lease runs out (dsr/engine/jobs.py).
"""

import re
import signal
import threading
import time

import pytest
from rest_framework.test import APIClient

from dsr.apikeys import apikey_create
from dsr.audit import Actor
from dsr.engine import reconcile
from dsr.models import ApiScope, Job, JobStatus, Operation, Request, Status, TaskSignal
from dsr.rights.base import request_plan_approve
from tests.e2e.test_worker_jobs import _file, _status, _tasks_finish, company, engine_env, worker  # noqa: F401
from tests.rights.conftest import PERSON, company_map_load
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401
from tests.test_signals import broker_refusing

pytestmark = pytest.mark.e2e

# PRODUCT.md: waiting work starts within 15 s of the broker's return.
START_WITHIN = 15


@pytest.fixture
def broker_down():
    """Point this process (the web side) at a broker that refuses every connection."""
    with broker_refusing(eager=False):
        yield


def _form_token(client) -> str:
    page = client.get("/request/access/").content.decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def test_filing_while_the_broker_is_down_answers_and_the_work_starts_once_it_is_back(
    worker, company, broker_down, client, wait_until
):
    worker.stop()  # the broker is down for the worker too: nothing consumes, nothing sweeps
    key = apikey_create(name="shop account pages", scopes=[ApiScope.REQUESTS_CREATE], actor=Actor.system())
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")

    filed = api.post(
        "/api/v1/requests/",
        {"right": "objection", "email": PERSON, "details": {"scope": "direct_marketing"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-77-objection",
    )
    assert filed.status_code == 201, filed.content
    portal = client.post("/request/access/", {"email": "ida@example.com", "form_token": _form_token(client)})
    assert portal.status_code == 302
    assert portal["Location"].startswith("/verify/")
    # The client did not trust the first answer and sends the same filing again: the same request.
    again = api.post(
        "/api/v1/requests/",
        {"right": "objection", "email": PERSON, "details": {"scope": "direct_marketing"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-77-objection",
    )
    assert again.status_code == 200
    assert again.json()["reference"] == filed.json()["reference"]
    assert Request.objects.count() == 2
    assert TaskSignal.objects.count() >= 2  # the objection's plan and receipt, the code's email

    worker.start()  # the broker is back
    back = time.monotonic()
    objection = Request.objects.get(reference=filed.json()["reference"])
    wait_until(lambda: objection.jobs.exists(), timeout=START_WITHIN, what="the objection's jobs")
    wait_until(
        lambda: {message["To"] for message in worker.outbox()} >= {PERSON, "ida@example.com"},
        timeout=START_WITHIN - (time.monotonic() - back),
        what="the receipt and the code",
    )
    assert time.monotonic() - back < START_WITHIN
    wait_until(lambda: not TaskSignal.objects.exists(), timeout=5, what="the outbox emptied")


def _processor_holds_first_submission(company, seconds: float) -> threading.Event:
    """Make the ad partner answer its first erasure only after ``seconds`` (the connector waits up to 30 s)."""
    company_map_load(company, lambda document: document["sources"]["adpartner"].update(timeout_seconds=30))
    posted = threading.Event()
    answer = company.processor.answer

    def slow_first_submission(method, path, body, signature):
        status, reply = answer(method, path, body, signature)
        if method == "POST" and not posted.is_set():
            posted.set()
            time.sleep(seconds)
        return status, reply

    company.processor.answer = slow_first_submission
    return posted


def _erasure_running(company, wait_until) -> Request:
    request = _file("erasure")
    wait_until(lambda: _status(request) == Status.AWAITING_APPROVAL, timeout=60, what="the plan")
    request_plan_approve(request=request, actor=Actor.system())
    return request


def _reconcile_every(seconds: float, until) -> None:
    """Run the reconciler as beat would, every ``seconds``, until ``until()`` is true."""
    while not until():
        reconcile.jobs_reconcile()
        time.sleep(seconds)


def test_a_job_that_works_longer_than_its_lease_keeps_it_and_runs_once(worker, company, wait_until, settings):
    lease = settings.DSR_JOB_LEASE_SECONDS
    posted = _processor_holds_first_submission(company, seconds=2 * lease + 1)
    request = _erasure_running(company, wait_until)
    assert posted.wait(timeout=60), "the ad partner never received the erasure"
    job = Job.objects.get(request=request, source_key="adpartner", operation=Operation.ERASURE)

    # The reconciler runs all the time the job works; the job's renewed lease never runs out.
    _reconcile_every(0.5, until=lambda: Job.objects.get(pk=job.pk).status != JobStatus.RUNNING)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 1
    submissions = [call for call in company.processor.calls if call == ("POST", "/opengdpr/opengdpr_requests")]
    assert len(submissions) == 1


def test_a_killed_workers_job_is_taken_over_by_another_worker_within_two_minutes(worker, company, wait_until, settings):
    posted = _processor_holds_first_submission(company, seconds=20)
    request = _erasure_running(company, wait_until)
    assert posted.wait(timeout=60), "the ad partner never received the erasure"
    job = Job.objects.get(request=request, source_key="adpartner", operation=Operation.ERASURE)
    assert job.status == JobStatus.RUNNING

    worker.kill(signal.SIGKILL)
    killed = time.monotonic()
    worker.start()  # another worker
    _tasks_finish(request, wait_until)
    _reconcile_every(
        1.0, until=lambda: Job.objects.get(pk=job.pk).status == JobStatus.DONE or time.monotonic() > killed + 120
    )

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 2
    assert time.monotonic() - killed < 120
    wait_until(lambda: _status(request) == Status.COMPLETED, timeout=60, what="the request completed")

"""A real Celery worker carries out rights on real databases, through kills, outages and lost messages.

The company is the demo shop and a Chinook copy (SQLite files in the test's
tmp dir), the chat system run by hand, and an OpenGDPR ad partner served on a
local port by this test process. The worker gets short leases, polls and
backoffs so recovery happens in seconds.
"""

import hashlib
import signal
import sqlite3
import threading
import time
from contextlib import closing

import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app
from dsr import tasks
from dsr.audit import Actor
from dsr.engine.jobs import job_retry
from dsr.engine.manual import manual_task_complete
from dsr.models import (
    AuditEvent,
    Job,
    JobStatus,
    ManualTask,
    ManualTaskStatus,
    NotificationChannel,
    Operation,
    RecipientNotification,
    Request,
    Status,
    TaskSignal,
)
from dsr.rights.base import request_plan_approve
from dsr.suppression import suppression_check
from dsr.workflow import request_submit
from tests.conftest import E2E_BROKER_DIR
from tests.rights.conftest import PERSON, Company, company_load, shop_rows
from tests.sources.conftest import chinook_sqlite  # noqa: F401  (the fixture, reused)
from tests.sources.http.processor import Processor, processor  # noqa: F401  (the fixture, reused)

PERSON_SHA256 = hashlib.sha256(PERSON.encode()).hexdigest()
WORKER_SETTINGS = {
    "DSR_JOB_POLL_SECONDS": "1",
    "DSR_JOB_DISPATCH_GRACE_SECONDS": "1",
    "DSR_JOB_RETRY_SECONDS": "0.2",
    "DSR_JOB_MAX_ATTEMPTS": "3",
    "DSR_JOB_LEASE_SECONDS": "4",
}


@pytest.fixture
def engine_env(monkeypatch, settings) -> None:
    """Give the worker (and this process's reconciler calls) short leases, polls and backoffs."""
    for name, value in WORKER_SETTINGS.items():
        monkeypatch.setenv(name, value)
        setattr(settings, name, float(value) if "." in value else int(value))


@pytest.fixture
def worker(engine_env, celery_worker_process):
    """Return the real worker, started with the short settings above."""
    return celery_worker_process


@pytest.fixture
def company(worker, tmp_path, chinook_sqlite, processor: Processor) -> Company:
    """Return the test company (demo shop, Chinook, chats, ad partner) as the worker's data map."""
    return company_load(tmp_path, chinook_sqlite, processor)


def _status(request: Request) -> str:
    return Request.objects.values_list("status", flat=True).get(pk=request.pk)


def _file(right: str, **details) -> Request:
    result = request_submit(
        right=right,
        email=PERSON,
        actor=Actor.integration("shop"),
        language="en",
        details=details or None,
        pre_verified=True,
    )
    return result.request


def _reconcile_until(request: Request, status: str, wait_until, timeout: float = 60) -> None:
    """Send the reconciler's "go" (as beat would) until the request reaches ``status``."""

    def reached() -> bool:
        if _status(request) == status:
            return True
        tasks.jobs_reconcile.delay()
        return False

    wait_until(reached, timeout=timeout, interval=1.0, what=f"request {status}")


def _tasks_finish(request: Request, wait_until) -> None:
    def opened() -> bool:
        if ManualTask.objects.filter(request=request, status=ManualTaskStatus.OPEN).exists():
            return True
        # A job a killed worker held (claimed, or its "go" taken and never acknowledged) comes back through the
        # reconciler, as beat sends it in production.
        tasks.jobs_reconcile.delay()
        return False

    wait_until(opened, timeout=60, interval=1.0, what="the owner's manual task")
    for task in ManualTask.objects.filter(request=request, status=ManualTaskStatus.OPEN):
        manual_task_complete(task=task, finding="done", attestation="Deleted in PureCloud", actor=Actor.system())


def _foreign_keys_hold(path) -> bool:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _broker_drop_everything() -> None:
    """Lose every message in the broker, as a broker restart without persistence would."""
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for message in (E2E_BROKER_DIR / "queue").glob("*.msg"):
            message.unlink(missing_ok=True)
    else:
        celery_app.control.purge()


def test_an_approved_erasure_completes_and_leaves_the_databases_consistent(worker, company, wait_until):
    request = _file("erasure")
    wait_until(lambda: _status(request) == Status.AWAITING_APPROVAL, timeout=60, what="the plan")
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(1,)]

    request_plan_approve(request=request, actor=Actor.system())
    _tasks_finish(request, wait_until)
    _reconcile_until(request, Status.COMPLETED, wait_until)

    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(0,)]
    assert shop_rows(company.shop, "SELECT first_name FROM customer WHERE id = 1") == [("[erased]",)]
    assert shop_rows(company.shop, "SELECT count(*) FROM invoice WHERE customer_id = 1")[0][0] > 0
    with closing(sqlite3.connect(company.chinook)) as conn:
        assert conn.execute("SELECT count(*) FROM Customer WHERE Email = ?", (PERSON,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM Invoice WHERE CustomerId = 1").fetchone()[0] > 0
    assert _foreign_keys_hold(company.shop)
    assert _foreign_keys_hold(company.chinook)
    assert PERSON_SHA256 not in company.processor.audience
    assert suppression_check(PERSON)
    wait_until(
        lambda: any(message["To"] == PERSON and "is complete" in message["Subject"] for message in worker.outbox()),
        timeout=30,
        what="the confirmation",
    )
    confirmation = next(
        message for message in worker.outbox() if message["To"] == PERSON and "complete" in message["Subject"]
    )
    text = confirmation.get_body(preferencelist=("plain",)).get_content()
    assert "Kept because the law requires it" in text
    # Each recipient's Art. 19 notification is a message of its own, sent by its own task: to the ad platforms
    # that received the person's (hashed) email under the consent they gave. The payment processors received
    # no identifier of the person per the map, so staff tell them by hand; no email names the person to them.
    wait_until(
        lambda: {"privacy@meta.example", "privacy@google.example"} <= {message["To"] for message in worker.outbox()},
        timeout=30,
        what="the recipients' notifications",
    )
    assert "dpo@adyen.example" not in {message["To"] for message in worker.outbox()}
    manual = RecipientNotification.objects.filter(request=request, channel=NotificationChannel.MANUAL)
    assert {"adyen", "braintree"} <= set(manual.values_list("recipient_key", flat=True))


def test_a_worker_killed_mid_job_finishes_the_request_after_restart_with_no_duplicate_effect(
    worker, company, wait_until
):
    posted = threading.Event()
    answer = company.processor.answer

    def slow_first_submission(method, path, body, signature):
        status, reply = answer(method, path, body, signature)
        if method == "POST" and not posted.is_set():
            posted.set()
            time.sleep(5)  # the worker is killed while it waits for this answer
        return status, reply

    company.processor.answer = slow_first_submission
    request = _file("erasure")
    wait_until(lambda: _status(request) == Status.AWAITING_APPROVAL, timeout=60, what="the plan")
    request_plan_approve(request=request, actor=Actor.system())
    assert posted.wait(timeout=60), "the ad partner never received the erasure"

    worker.kill(signal.SIGKILL)
    job = Job.objects.get(request=request, source_key="adpartner", operation=Operation.ERASURE)
    assert job.status == JobStatus.RUNNING
    worker.start()
    _tasks_finish(request, wait_until)
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=90)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 2
    submissions = [call for call in company.processor.calls if call == ("POST", "/opengdpr/opengdpr_requests")]
    assert len(submissions) == 1
    assert PERSON_SHA256 not in company.processor.audience
    # Every job's effect was recorded once.
    done = AuditEvent.objects.filter(request=request, action="job.done").values_list("data", flat=True)
    per_job = [event["job"] for event in done]
    assert len(per_job) == len(set(per_job)) == request.jobs.count()
    assert AuditEvent.objects.filter(request=request, action="request.completed").count() == 1
    assert _foreign_keys_hold(company.shop)


def test_a_source_that_is_down_is_retried_then_fails_cleanly_and_the_request_needs_attention(
    worker, company, wait_until
):
    company.processor.mode = "down"
    request = _file("consent_withdrawal", consents=["ad_retargeting", "newsletter"])
    wait_until(lambda: _status(request) == Status.NEEDS_ATTENTION, timeout=60, what="needs attention")

    job = Job.objects.get(request=request, source_key="adpartner")
    assert job.status == JobStatus.FAILED
    assert job.attempts == 3
    assert "HTTP 500" in job.last_error
    assert PERSON not in job.last_error
    assert PERSON_SHA256 not in job.last_error
    shop = Job.objects.get(request=request, source_key="shop")
    assert shop.status == JobStatus.DONE
    assert shop_rows(company.shop, "SELECT count(*) FROM consent WHERE customer_id = 1 AND granted = 1") == [(0,)]

    # Staff retry once the partner is back.
    company.processor.mode = "normal"
    job_retry(job=job, actor=Actor.system())
    wait_until(lambda: _status(request) == Status.COMPLETED, timeout=60, what="completed after the retry")
    assert PERSON_SHA256 not in company.processor.audience


def test_requests_whose_messages_were_lost_all_finish_after_the_reconciler_runs(worker, company, wait_until):
    worker.stop()
    # Three different withdrawals: the same one filed three times within minutes would be one request.
    consents = (["newsletter"], ["ad_retargeting"], ["newsletter", "ad_retargeting"])
    requests = [_file("consent_withdrawal", consents=chosen) for chosen in consents]
    requests.append(_file("objection", scope="direct_marketing"))
    # Their "go" signals handed over, then lost with the broker's contents (a restart without persistence).
    TaskSignal.objects.all().delete()
    _broker_drop_everything()
    worker.start()
    time.sleep(1.5)  # past the dispatch grace
    assert {_status(request) for request in requests} == {Status.IN_PROGRESS}
    assert not Job.objects.filter(request__in=requests).exists()

    tasks.jobs_reconcile.delay()
    wait_until(
        lambda: {_status(request) for request in requests} == {Status.COMPLETED},
        timeout=90,
        interval=0.5,
        what="every request completed",
    )
    assert Job.objects.filter(request__in=requests).exclude(status=JobStatus.DONE).count() == 0
    assert shop_rows(company.shop, "SELECT granted FROM consent WHERE customer_id = 1 AND purpose = 'newsletter'") == [
        (0,)
    ]

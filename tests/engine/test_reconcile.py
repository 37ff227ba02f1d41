"""The reconciler: expired leases, lost "go" signals, waiting work polled, stuck plans moved on, closed requests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsr.audit import Actor
from dsr.engine.jobs import _job_release, job_claim, job_run
from dsr.engine.plans import plan_start
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import Job, JobStatus, ManualTask, ManualTaskStatus, Operation, Plan, PlanStage, Status
from dsr.restrictions import restriction_lift_schedule
from dsr.rights.base import request_plan_approve
from dsr.workflow import TransitionError, request_cancel, request_submit
from tests.rights.conftest import PERSON, PERSON_SHA256
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def _later(**delta):
    return timezone.now() + timedelta(**delta)


def _submitted(right: str = "consent_withdrawal", **details):
    """Return a verified request whose start signal was lost (submitted outside any commit)."""
    return request_submit(
        right=right,
        email=PERSON,
        actor=Actor.integration("shop"),
        language="en",
        details=details or {"consents": ["newsletter"]},
        pre_verified=True,
    ).request


def _undispatched() -> Job:
    """Return the first job of a started plan whose "go" signal was lost."""
    request = _submitted()
    plan_start(request_id=request.pk)
    return Job.objects.get(request=request, operation=Operation.RESOLVE)


# --- Leases ------------------------------------------------------------------------------------------


def test_a_running_job_is_left_alone_until_its_lease_expires(company):
    job = _undispatched()
    job_claim(job_id=job.pk)
    job.refresh_from_db()

    assert jobs_reconcile().requeued == 0
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING

    assert jobs_reconcile(now=job.lease_expires_at + timedelta(seconds=1)).requeued == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.claim == ""


def test_a_dead_workers_late_result_is_discarded_after_the_job_was_taken_over(company):
    job = _undispatched()
    stale_claim = job_claim(job_id=job.pk)
    jobs_reconcile(now=_later(days=1))
    job_claim(job_id=job.pk)

    assert not _job_release(job, stale_claim, status=JobStatus.DONE)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.attempts == 2


def test_a_job_whose_worker_died_is_run_again_and_the_request_finishes(company, run):
    job = _undispatched()
    job_claim(job_id=job.pk)  # a worker took it, then died
    job.refresh_from_db()

    run(jobs_reconcile, now=job.lease_expires_at + timedelta(seconds=1))

    job.request.refresh_from_db()
    assert job.request.status == Status.COMPLETED


# --- Lost signals ------------------------------------------------------------------------------------


def test_a_lost_start_signal_is_sent_again_and_the_request_finishes(company, run, settings):
    settings.DSR_JOB_DISPATCH_GRACE_SECONDS = 0
    request = _submitted()
    assert not Plan.objects.filter(request=request).exists()

    done = run(jobs_reconcile, now=_later(seconds=1))

    assert done.started == 1
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert Job.objects.filter(request=request, operation=Operation.RESOLVE, status=JobStatus.DONE).exists()


def test_a_queued_job_with_no_progress_gets_its_go_again_once_per_grace_period(company, settings):
    settings.DSR_JOB_DISPATCH_GRACE_SECONDS = 120
    job = _undispatched()
    start = timezone.now()

    assert jobs_reconcile(now=start + timedelta(seconds=60)).dispatched == 0
    assert jobs_reconcile(now=start + timedelta(seconds=121)).dispatched == 1
    assert jobs_reconcile(now=start + timedelta(seconds=180)).dispatched == 0
    assert jobs_reconcile(now=start + timedelta(seconds=250)).dispatched == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_a_plan_whose_next_step_signal_was_lost_is_moved_on(company, settings):
    settings.DSR_JOB_DISPATCH_GRACE_SECONDS = 0
    # A correction no source maps: after resolution the stage has no job, and the step after it is a signal.
    request = _submitted("rectification", corrections=[{"field": "Favourite colour", "correct": "Blue"}])
    plan_start(request_id=request.pk)
    resolve = Job.objects.get(request=request, operation=Operation.RESOLVE)
    job_run(job_id=resolve.pk, max_attempts=3, backoff=lambda attempts: 0)
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.PLANNING

    done = jobs_reconcile(now=_later(seconds=1))

    assert done.advanced == 1
    request.refresh_from_db()
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.AWAITING_APPROVAL
    assert request.status == Status.AWAITING_APPROVAL


# --- Waiting work ------------------------------------------------------------------------------------


def test_work_waiting_for_a_processor_is_looked_at_again_when_its_poll_is_due(company, file, run):
    company.processor.mode = "pending"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = request.jobs.get(source_key="adpartner", operation=Operation.AUDIENCE_REMOVAL)
    assert job.status == JobStatus.WAITING
    company.processor.mode = "normal"

    assert run(jobs_reconcile).polled == 0
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING

    assert run(jobs_reconcile, now=job.not_before + timedelta(seconds=1)).polled == 1
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert PERSON_SHA256 not in company.processor.audience


# --- Closed requests ---------------------------------------------------------------------------------


def test_a_cancelled_request_runs_no_more_jobs_and_forgets_the_identifiers(company, file, run, staff):
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    chats = request.jobs.get(source_key="chats", operation=Operation.ERASURE)
    assert chats.status == JobStatus.WAITING

    run(request_cancel, request=request, actor=staff, reasons="Withdrawn by phone")
    done = run(jobs_reconcile)

    assert done.closed == 1
    chats.refresh_from_db()
    assert chats.status == JobStatus.CANCELLED
    request.plan.refresh_from_db()
    assert request.plan.identifiers == {}
    assert request.plan.stage == PlanStage.CLOSED
    with pytest.raises(TransitionError):
        request_plan_approve(request=request, actor=staff)
    # Closing twice does nothing more.
    assert run(jobs_reconcile).closed == 0


def test_closing_a_cancelled_requests_plan_takes_the_request_before_the_plan(company, file, run, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request = file("erasure")
    run(request_cancel, request=request, actor=staff, reasons="Withdrawn by phone")

    with CaptureQueriesContext(connection) as queries:
        assert run(jobs_reconcile).closed == 1

    statements = [query["sql"] for query in queries.captured_queries]
    plan_written = next(i for i, sql in enumerate(statements) if sql.startswith('UPDATE "dsr_plan"'))
    request_taken = [i for i, sql in enumerate(statements) if 'FROM "dsr_request"' in sql and "FOR UPDATE" in sql]
    if connection.features.has_select_for_update:
        # As a plan's step and a job failing take them: on PostgreSQL the other order could deadlock with those.
        assert request_taken
        assert request_taken[0] < plan_written


def test_a_restriction_being_lifted_still_runs_after_the_request_closed(company, file, run, staff):
    request = file("restriction", ground="accuracy_contested")
    tasks_finish(request, staff, run)
    # The notice goes out and the lift follows it.
    run(restriction_lift_schedule, request=request, actor=staff, reasons="Verified.")
    waiting = request.jobs.get(source_key="chats", operation=Operation.RESTRICTION_LIFT)
    assert waiting.status == JobStatus.WAITING

    run(jobs_reconcile, now=_later(hours=1))

    waiting.refresh_from_db()
    assert waiting.status == JobStatus.WAITING
    task = ManualTask.objects.get(request=request, source_key="chats", operation=Operation.RESTRICTION_LIFT)
    assert task.status == ManualTaskStatus.OPEN
    # The lift needs the person's identifiers until every source has lifted it; then they are forgotten.
    request.plan.refresh_from_db()
    assert request.plan.identifiers["email"] == [PERSON]

    tasks_finish(request, staff, run)
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.DONE
    run(jobs_reconcile)
    request.plan.refresh_from_db()
    assert request.plan.identifiers == {}

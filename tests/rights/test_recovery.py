"""Recovery: one job never runs twice at once, backoff, failure for good, retry, and the reconciler."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsr.engine.jobs import _job_release, job_claim, job_retry, job_run
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import Job, JobStatus, Operation, Plan, PlanStage, Status
from dsr.tasks import job_backoff
from dsr.workflow import TransitionError
from tests.rights.conftest import PERSON

pytestmark = pytest.mark.django_db


def _queued_job(file, company):
    """Return a queued erasure job of an approved plan, with nothing sent to a worker."""
    request = file("consent_withdrawal", consents=["newsletter"])
    job = Job.objects.get(request=request, source_key="shop")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, finished_at=None, attempts=0)
    Plan.objects.filter(request=request).update(stage=PlanStage.RUNNING)
    from dsr.models import Request

    Request.objects.filter(pk=request.pk).update(status=Status.IN_PROGRESS, closed_at=None)
    job.refresh_from_db()
    return job


def test_a_job_is_claimed_by_one_worker_only(company, file):
    job = _queued_job(file, company)

    first = job_claim(job_id=job.pk)
    second = job_claim(job_id=job.pk)

    assert first is not None
    assert second is None
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.attempts == 1


def test_a_running_job_is_left_alone_until_its_lease_expires(company, file):
    job = _queued_job(file, company)
    job_claim(job_id=job.pk)

    assert jobs_reconcile().requeued == 0
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING

    later = timezone.now() + timedelta(seconds=job.lease_expires_at.timestamp() - timezone.now().timestamp() + 1)
    assert jobs_reconcile(now=later).requeued == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_a_dead_workers_late_result_is_discarded_after_the_job_was_taken_over(company, file):
    job = _queued_job(file, company)
    stale_claim = job_claim(job_id=job.pk)
    jobs_reconcile(now=timezone.now() + timedelta(days=1))
    job_claim(job_id=job.pk)

    assert not _job_release(job, stale_claim, status=JobStatus.DONE)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING


def test_a_transient_error_requeues_the_job_with_backoff(company, file):
    company.processor.mode = "down"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = Job.objects.get(request=request, source_key="adpartner")

    assert job.status == JobStatus.QUEUED
    assert job.attempts == 1
    assert job.not_before > timezone.now()
    assert "HTTP 500" in job.last_error
    # The next "go" before the backoff is over does nothing.
    outcome = job_run(job_id=job.pk, max_attempts=3, backoff=job_backoff)
    assert outcome.status == "skipped"


def test_the_backoff_doubles_and_stops_at_an_hour(settings):
    settings.DSR_JOB_RETRY_SECONDS = 30
    assert [job_backoff(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert job_backoff(20) == 3600


def test_a_permanent_error_fails_the_job_at_once_and_the_request_needs_attention(company, file):
    company.processor.mode = "garbage"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = Job.objects.get(request=request, source_key="adpartner")
    request.refresh_from_db()

    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert "not JSON" in job.last_error
    assert request.status == Status.NEEDS_ATTENTION
    assert request.plan.stage == PlanStage.NEEDS_ATTENTION


def test_retrying_a_failed_job_puts_the_request_back_to_work_and_finishes_it(company, file, run, staff):
    company.processor.mode = "garbage"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = Job.objects.get(request=request, source_key="adpartner")
    company.processor.mode = "normal"

    run(job_retry, job=job, actor=staff)
    request.refresh_from_db()

    assert request.status == Status.COMPLETED
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 1


def test_only_a_failed_job_can_be_retried(company, file, staff):
    request = file("consent_withdrawal", consents=["newsletter"])
    job = Job.objects.get(request=request, source_key="shop")

    with pytest.raises(TransitionError):
        job_retry(job=job, actor=staff)


def test_a_lost_start_signal_is_sent_again_by_the_reconciler(company, settings):
    from dsr.audit import Actor
    from dsr.workflow import request_submit

    settings.DSR_JOB_DISPATCH_GRACE_SECONDS = 0
    request = request_submit(
        right="consent_withdrawal",
        email=PERSON,
        actor=Actor.integration("shop"),
        details={"consents": ["newsletter"]},
        pre_verified=True,
    ).request  # outside a captured commit: the "go" is never sent
    assert not Plan.objects.filter(request=request).exists()

    done = jobs_reconcile(now=timezone.now() + timedelta(seconds=1))
    assert done.started == 1
    assert Job.objects.filter(request=request, operation=Operation.RESOLVE).exists()


def test_an_internal_error_fails_the_job_without_its_message(company, file, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError(f"cannot handle {PERSON}")

    monkeypatch.setitem(orchestration._RUNNERS, Operation.CONSENT_WITHDRAWAL, broken)
    request = file("consent_withdrawal", consents=["newsletter"])
    job = Job.objects.get(request=request, source_key="shop")

    assert job.status == JobStatus.FAILED
    assert job.last_error == "internal error: ValueError"


def test_a_queued_job_with_no_progress_gets_its_go_again_once_per_grace_period(company, file, settings):
    settings.DSR_JOB_DISPATCH_GRACE_SECONDS = 120
    job = _queued_job(file, company)
    start = timezone.now()

    assert jobs_reconcile(now=start + timedelta(seconds=60)).dispatched == 0
    assert jobs_reconcile(now=start + timedelta(seconds=121)).dispatched == 1
    assert jobs_reconcile(now=start + timedelta(seconds=180)).dispatched == 0
    assert jobs_reconcile(now=start + timedelta(seconds=250)).dispatched == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED

"""Running one job: claimed by one worker, its result recorded, transient errors retried, failures for staff."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsr.audit import Actor
from dsr.engine import registry
from dsr.engine.jobs import job_claim, job_retry, job_run, job_take
from dsr.engine.plans import plan_start
from dsr.engine.registry import runner_register
from dsr.models import AuditEvent, DataMapVersion, Job, JobStatus, Operation, PlanStage, Status
from dsr.tasks import job_backoff
from dsr.workflow import TransitionError, request_cancel, request_submit
from tests.rights.conftest import PERSON, PERSON_SHA256, shop_rows

pytestmark = pytest.mark.django_db


def _undispatched(right: str = "consent_withdrawal", **details) -> Job:
    """Return the first job of a fresh request whose "go" signal was never sent (no commit in this test)."""
    request = request_submit(
        right=right,
        email=PERSON,
        actor=Actor.integration("shop"),
        details=details or {"consents": ["newsletter"]},
        pre_verified=True,
    ).request
    plan_start(request_id=request.pk)
    return Job.objects.get(request=request, operation=Operation.RESOLVE)


def _run(job: Job, *, max_attempts: int = 3) -> str:
    return job_run(job_id=job.pk, max_attempts=max_attempts, backoff=lambda attempts: 60).status


def test_a_job_is_claimed_by_one_worker_only(company):
    job = _undispatched()

    first = job_claim(job_id=job.pk)
    second = job_claim(job_id=job.pk)

    assert first is not None
    assert second is None
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.claim == first
    assert job.attempts == 1
    assert job.lease_expires_at > timezone.now()


def test_a_job_comes_back_from_its_claim_as_claimed_with_its_requests_status(company):
    job = _undispatched()
    Job.objects.filter(pk=job.pk).update(attempts=2, state={"cursor": "ø 1"})
    before = timezone.now()

    taken = job_take(job_id=job.pk)

    stored = Job.objects.get(pk=job.pk)
    assert taken is not None
    assert (taken.status, taken.claim, taken.attempts) == (JobStatus.RUNNING, stored.claim, 3)
    assert taken.started_at == stored.started_at
    assert taken.started_at >= before
    assert taken.lease_expires_at == stored.lease_expires_at > taken.started_at
    assert (taken.state, taken.request_id, taken.operation) == ({"cursor": "ø 1"}, job.request_id, Operation.RESOLVE)
    assert taken.request_status == Status.IN_PROGRESS
    assert job_take(job_id=job.pk) is None  # taken: a second claim gets nothing


def test_a_second_run_of_a_job_keeps_its_first_start(company):
    job = _undispatched()
    first = job_take(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)

    again = job_take(job_id=job.pk, now=timezone.now() + timedelta(minutes=1))

    assert again.started_at == first.started_at
    assert again.attempts == 2


def test_a_job_is_not_claimed_before_its_backoff_is_over(company):
    job = _undispatched()
    Job.objects.filter(pk=job.pk).update(not_before=timezone.now() + timedelta(minutes=5))

    assert job_claim(job_id=job.pk) is None
    assert job_claim(job_id=job.pk, now=timezone.now() + timedelta(minutes=6)) is not None


def test_a_job_that_runs_records_its_result_and_moves_the_plan_on(company):
    job = _undispatched()

    assert _run(job) == JobStatus.DONE

    job.refresh_from_db()
    assert job.finished_at is not None
    assert job.plan == {}
    request = job.request
    request.plan.refresh_from_db()
    assert request.plan.identifiers["email"] == [PERSON]
    # The resolution finished: the right's next jobs exist (their "go" is sent on commit).
    shop = Job.objects.get(request=request, source_key="shop", operation=Operation.CONSENT_WITHDRAWAL)
    assert shop.status == JobStatus.QUEUED
    assert request.plan.stage == PlanStage.RUNNING
    assert AuditEvent.objects.filter(request=request, action="job.done", data__job=job.pk).count() == 1


def test_a_second_go_for_a_finished_job_runs_nothing(company):
    job = _undispatched()
    _run(job)
    shop = Job.objects.get(request=job.request, source_key="shop")
    assert _run(shop) == JobStatus.DONE
    withdrawn_at = shop_rows(
        company.shop, "SELECT withdrawn_at FROM consent WHERE customer_id = 1 AND purpose = ?", "newsletter"
    )

    assert _run(shop) == "skipped"
    shop.refresh_from_db()
    assert shop.attempts == 1
    assert (
        shop_rows(company.shop, "SELECT withdrawn_at FROM consent WHERE customer_id = 1 AND purpose = ?", "newsletter")
        == withdrawn_at
    )


def test_a_transient_error_requeues_the_job_with_backoff(company, file):
    company.processor.mode = "down"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = Job.objects.get(request=request, source_key="adpartner")

    assert job.status == JobStatus.QUEUED
    assert job.attempts == 1
    assert job.not_before > timezone.now()
    assert "HTTP 500" in job.last_error
    assert PERSON not in job.last_error
    # The next "go" before the backoff is over does nothing.
    assert job_run(job_id=job.pk, max_attempts=3, backoff=job_backoff).status == "skipped"
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS


def test_the_backoff_doubles_and_stops_at_an_hour(settings):
    settings.DSR_JOB_RETRY_SECONDS = 30
    assert [job_backoff(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert job_backoff(20) == 3600


def test_a_source_that_comes_back_within_the_attempts_finishes_the_request(company, file):
    company.processor.mode = "down"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = Job.objects.get(request=request, source_key="adpartner")
    assert job.status == JobStatus.QUEUED

    company.processor.mode = "normal"
    Job.objects.filter(pk=job.pk).update(not_before=None)
    assert _run(job) == JobStatus.DONE

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert PERSON_SHA256 not in company.processor.audience
    job.refresh_from_db()
    assert job.attempts == 2
    assert job.last_error == ""


def test_a_transient_error_fails_the_job_once_its_attempts_are_used_up(company, file):
    company.processor.mode = "down"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    job = Job.objects.get(request=request, source_key="adpartner")

    for _ in range(2):
        Job.objects.filter(pk=job.pk).update(not_before=None)
        _run(job)
    job.refresh_from_db()
    request.refresh_from_db()

    assert job.status == JobStatus.FAILED
    assert job.attempts == 3
    assert request.status == Status.NEEDS_ATTENTION


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
    event = AuditEvent.objects.get(request=request, action="job.failed")
    assert event.data == {"job": job.pk, "source": "adpartner", "operation": "audience_removal"}
    # Nothing is recorded or said about the request until staff deal with the failure.
    assert request.plan.outcome == {}


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
    assert PERSON_SHA256 not in company.processor.audience
    assert AuditEvent.objects.filter(request=request, action="job.retried").count() == 1


def test_only_a_failed_job_can_be_retried(company, file, staff):
    request = file("consent_withdrawal", consents=["newsletter"])
    job = Job.objects.get(request=request, source_key="shop")

    with pytest.raises(TransitionError):
        job_retry(job=job, actor=staff)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE


def test_a_failed_job_of_a_closed_request_cannot_be_retried(company, file, run, staff):
    company.processor.mode = "garbage"
    request = file("consent_withdrawal", consents=["ad_retargeting"])
    run(request_cancel, request=request, actor=staff, reasons="Withdrawn by phone")
    job = Job.objects.get(request=request, source_key="adpartner")

    with pytest.raises(TransitionError):
        job_retry(job=job, actor=staff)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_a_job_of_a_closed_request_is_cancelled_instead_of_run(company, staff):
    resolve = _undispatched()
    _run(resolve)
    shop = Job.objects.get(request=resolve.request, source_key="shop")
    request_cancel(request=resolve.request, actor=staff, reasons="Withdrawn by phone")

    assert _run(shop) == JobStatus.CANCELLED

    shop.refresh_from_db()
    assert shop.status == JobStatus.CANCELLED
    assert shop_rows(company.shop, "SELECT granted FROM consent WHERE customer_id = 1 AND purpose = 'newsletter'") == [
        (1,)
    ]


def test_a_job_without_a_loaded_data_map_fails_for_good(company):
    job = _undispatched()
    DataMapVersion.objects.update(active=False)

    assert _run(job) == JobStatus.FAILED

    job.refresh_from_db()
    assert job.last_error == "source 'dsr': no data map is loaded"
    job.request.refresh_from_db()
    assert job.request.status == Status.NEEDS_ATTENTION


@pytest.fixture
def defect_operation():
    """Register a runner with a defect that raises an error naming the person; unregister it afterwards."""

    def broken(ctx):
        raise ValueError(f"cannot handle {PERSON}")

    runner_register("defect", broken)
    yield "defect"
    registry._runners.pop("defect", None)


def test_an_internal_error_fails_the_job_without_its_message(company, defect_operation):
    resolve = _undispatched()
    job = Job.objects.create(request=resolve.request, source_key="shop", operation=defect_operation)

    assert _run(job) == JobStatus.FAILED

    job.refresh_from_db()
    assert job.last_error == "internal error: ValueError"
    job.request.refresh_from_db()
    assert job.request.status == Status.NEEDS_ATTENTION
    for event in AuditEvent.objects.filter(request=job.request):
        assert PERSON not in str(event.data)

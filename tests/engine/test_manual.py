"""Manual tasks: a source worked by hand gets one task; its owner's finding and attestation are what it reports."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dsr.audit import Actor
from dsr.engine.jobs import job_retry
from dsr.engine.manual import ManualTaskError, manual_task_complete
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import (
    AuditEvent,
    Job,
    JobStatus,
    ManualFinding,
    ManualTask,
    ManualTaskStatus,
    Operation,
    PlanStage,
    Request,
    Status,
)
from dsr.rights.base import request_plan_approve
from dsr.workflow import request_submit
from tests.rights.conftest import PERSON, company_load
from tests.rights.helpers import closing_email, emails_to, source_states, task_finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def chats_access(company, file):
    """Return PERSON's access request, waiting for the chat owner's task."""
    request = file("access")
    assert request.jobs.get(source_key="chats", operation=Operation.ACCESS).status == JobStatus.WAITING
    return request


def _task(request, operation=Operation.ACCESS) -> ManualTask:
    return ManualTask.objects.get(request=request, source_key="chats", operation=operation)


def test_a_source_worked_by_hand_gets_one_task_for_its_owner_in_the_persons_language(company, file):
    request = file("access", language="da")

    task = _task(request)
    assert task.status == ManualTaskStatus.OPEN
    assert task.owner == "Kundeservicechef (administrator af Genesys PureCloud)"
    assert task.instructions.startswith("Søg personen frem i PureCloud")
    assert AuditEvent.objects.filter(request=request, action="manual_task.created").count() == 1


def test_a_job_looking_again_at_its_task_creates_no_second_task(chats_access, run):
    job = chats_access.jobs.get(source_key="chats", operation=Operation.ACCESS)

    run(jobs_reconcile, now=job.not_before + timedelta(seconds=1))

    job.refresh_from_db()
    assert job.status == JobStatus.WAITING
    assert job.attempts == 2
    assert ManualTask.objects.filter(request=chats_access).count() == 1
    assert AuditEvent.objects.filter(request=chats_access, action="manual_task.created").count() == 1


def test_attesting_a_task_moves_its_job_on_at_once(chats_access, run, staff):
    # No reconciler run: the attestation itself hands the job back to the workers.
    run(
        manual_task_complete,
        task=_task(chats_access),
        finding=ManualFinding.DONE,
        attestation="Exported from PureCloud",
        actor=staff,
    )

    job = chats_access.jobs.get(source_key="chats", operation=Operation.ACCESS)
    assert job.status == JobStatus.DONE
    assert job.result["finding"] == ManualFinding.DONE
    chats_access.refresh_from_db()
    assert chats_access.status == Status.COMPLETED
    task = _task(chats_access)
    assert task.completed_by_id == int(staff.id)
    assert task.completed_at is not None


@pytest.mark.parametrize("finding", ["", "maybe"])
def test_the_owner_must_say_what_they_found(chats_access, staff, finding):
    with pytest.raises(ManualTaskError):
        manual_task_complete(task=_task(chats_access), finding=finding, attestation="Looked", actor=staff)

    assert _task(chats_access).status == ManualTaskStatus.OPEN


@pytest.mark.parametrize("attestation", ["", "   "])
def test_the_owner_must_say_what_was_done(chats_access, staff, attestation):
    with pytest.raises(ManualTaskError):
        manual_task_complete(task=_task(chats_access), finding=ManualFinding.DONE, attestation=attestation, actor=staff)

    assert _task(chats_access).status == ManualTaskStatus.OPEN


@pytest.mark.parametrize("finding", [ManualFinding.NOTHING_FOUND, ManualFinding.NOT_DONE])
def test_a_file_belongs_only_to_a_task_that_found_the_persons_data(chats_access, staff, finding):
    chats = SimpleUploadedFile("chats.json", b'[{"text": "Hej"}]')

    with pytest.raises(ManualTaskError):
        manual_task_complete(task=_task(chats_access), finding=finding, attestation="x", file=chats, actor=staff)

    task = _task(chats_access)
    assert task.status == ManualTaskStatus.OPEN
    assert not task.uploaded_file


def test_a_task_done_with_a_file_keeps_the_file_for_the_persons_export(chats_access, run, staff):
    chats = SimpleUploadedFile("chats.json", b'[{"text": "Hej"}]')

    run(
        manual_task_complete,
        task=_task(chats_access),
        finding=ManualFinding.DONE,
        attestation="Exported",
        file=chats,
        actor=staff,
    )

    task = _task(chats_access)
    assert task.uploaded_file
    assert AuditEvent.objects.get(request=chats_access, action="manual_task.completed").data["file"] is True


def test_a_task_is_completed_once(chats_access, run, staff):
    task_finish(chats_access, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    with pytest.raises(ManualTaskError):
        manual_task_complete(task=_task(chats_access), finding=ManualFinding.DONE, attestation="Again", actor=staff)
    assert _task(chats_access).finding == ManualFinding.NOTHING_FOUND


def test_nothing_found_is_reported_as_the_source_holding_nothing(chats_access, run, staff):
    task_finish(chats_access, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert chats_access.status == Status.COMPLETED
    assert source_states(chats_access)["chats"] == "nothing_found"


def test_a_task_not_done_fails_the_job_and_the_request_needs_attention(company, file, run, staff, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")

    task_finish(request, "chats", staff, run, finding=ManualFinding.NOT_DONE, attestation="PureCloud is down")

    job = request.jobs.get(source_key="chats", operation=Operation.ERASURE)
    assert job.status == JobStatus.FAILED
    assert "could not do manual task" in job.last_error
    assert "PureCloud is down" not in job.last_error
    assert request.status == Status.NEEDS_ATTENTION
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.NEEDS_ATTENTION


def test_a_retry_reopens_the_task_not_done_and_its_new_finding_finishes_the_request(company, file, run, staff):
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOT_DONE, attestation="PureCloud is down")
    job = request.jobs.get(source_key="chats", operation=Operation.ERASURE)

    run(job_retry, job=job, actor=staff)

    task = _task(request, Operation.ERASURE)
    assert task.status == ManualTaskStatus.OPEN
    assert task.finding == ""
    assert task.completed_at is None
    job.refresh_from_db()
    assert job.status == JobStatus.WAITING
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS

    task_finish(request, "chats", staff, run, finding=ManualFinding.DONE, attestation="Deleted 3 chats")

    assert request.status == Status.COMPLETED
    assert "Customer-service chat and calls" in closing_email(request).body.split("Done by hand")[1]


def test_the_person_is_told_nothing_of_the_result_before_the_owner_answered(company, file):
    mail.outbox.clear()
    request = file("access")

    assert [message.subject for message in emails_to(request.email)] == [
        f"We have received your request {request.reference}"
    ]
    request.plan.refresh_from_db()
    assert request.plan.outcome == {}


# --- With a real worker ----------------------------------------------------------------------------


@pytest.fixture
def company_of_worker(celery_worker_process, tmp_path, chinook_sqlite, processor):
    """Return the test company as the data map of a real Celery worker (default poll interval: minutes)."""
    return company_load(tmp_path, chinook_sqlite, processor)


def test_with_a_real_worker_the_owners_answer_finishes_the_request_before_any_poll(company_of_worker, wait_until):
    request = request_submit(
        right="access", email=PERSON, actor=Actor.integration("shop"), language="en", pre_verified=True
    ).request

    def chats_waiting() -> Job | None:
        return Job.objects.filter(
            request=request, source_key="chats", operation=Operation.ACCESS, status=JobStatus.WAITING
        ).first()

    job = wait_until(chats_waiting, timeout=60, what="the chats job waiting for its owner")
    task = _task(request)

    manual_task_complete(task=task, finding=ManualFinding.DONE, attestation="Exported", actor=Actor.system())

    wait_until(
        lambda: Request.objects.filter(pk=request.pk, status=Status.COMPLETED).exists(),
        timeout=60,
        what="the completed request",
    )
    # Nothing polled the job: it would have looked at the task again only at not_before. It ran twice: once to
    # create the task, once when the answer woke it.
    assert timezone.now() < job.not_before
    assert Job.objects.get(pk=job.pk).attempts == 2

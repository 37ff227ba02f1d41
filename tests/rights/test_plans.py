"""Plans per right: when the work starts, access and portability collection, and the bundle that ends it."""

import pytest

from dsr.audit import Actor
from dsr.engine.plans import request_jobs, request_plan
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import AuditEvent, Job, JobStatus, ManualTask, Operation, PlanStage, Status
from dsr.rights.base import request_plan_approve
from dsr.workflow import TransitionError, request_cancel, request_submit, request_verify
from tests.rights.conftest import PERSON
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def test_access_collects_from_every_source_and_waits_for_the_bundle(company, file, run, staff):
    request = file("access")

    collect = {job.source_key: job for job in request.jobs.filter(operation=Operation.ACCESS)}
    assert set(collect) == {"shop", "chats", "adpartner", "chinook"}
    assert collect["shop"].result["tables"]["customer"] == 1
    assert collect["shop"].result["tables"]["invoice"] >= 1
    assert collect["chinook"].result["tables"]["Invoice"] == 7
    assert collect["adpartner"].result["tables"] == {"audience": 1}
    assert collect["chats"].status == JobStatus.WAITING
    assert ManualTask.objects.filter(request=request, source_key="chats", operation="access").exists()

    tasks_finish(request, staff, run)

    # Collected: the bundle job built the export, and its release completed the request.
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.plan.stage == PlanStage.DONE
    assert request.plan.identifiers == {}
    summary = orchestration.collection_summary(request)
    assert set(summary["holding"]) == {"shop", "chats", "adpartner", "chinook"}
    assert AuditEvent.objects.filter(request=request, action="collection.done").count() == 1
    bundle_job = request.jobs.get(operation=Operation.BUNDLE)
    assert bundle_job.status == JobStatus.DONE
    assert request.bundles.get().pk == bundle_job.result["bundle"]


def test_portability_counts_only_provided_data_from_consent_or_contract_sources(company, file):
    request = file("portability")

    collect = {job.source_key: job for job in request.jobs.filter(operation=Operation.ACCESS)}
    # GDPR Art. 20(1)(a): the ad partner's audience rests on consent, the shop on contract; both take part.
    assert {"shop", "adpartner", "chinook"} <= set(collect)
    assert collect["shop"].result["provided"] == collect["shop"].result["records"]
    # Chinook's invoices are bookkeeping, not provided by the person: only the customer row counts.
    assert collect["chinook"].result["tables"] == {"Customer": 1}


def test_work_starts_when_the_email_is_confirmed_not_before(company, run):
    result = run(request_submit, right="access", email=PERSON, actor=Actor.subject(), language="en")
    request = result.request
    assert not Job.objects.filter(request=request).exists()

    run(request_verify, request=request, method="email_code", actor=Actor.subject())

    assert Job.objects.filter(request=request, operation=Operation.RESOLVE, status=JobStatus.DONE).exists()
    assert request.plan.identifiers["email"] == [PERSON]
    # Resolution found the person's phone numbers in the shop (Danish) and in Chinook (Brazilian).
    phones = request.plan.identifiers["phone"]
    assert {phone[:3] for phone in phones} == {"+45", "+55"}


def test_without_a_data_map_the_plan_says_so_and_nothing_runs(file):
    request = file("erasure", email="someone@example.dk")

    assert request.plan.stage == PlanStage.UNMAPPED
    assert not request.jobs.exists()
    assert request.status == Status.IN_PROGRESS


def test_a_cancelled_request_runs_no_more_jobs_and_forgets_the_identifiers(company, file, run, staff):
    request = file("erasure")
    run(request_cancel, request=request, actor=staff, reasons="Withdrawn by phone")
    run(jobs_reconcile)
    request.refresh_from_db()

    assert request.plan.identifiers == {}
    assert request.plan.stage == PlanStage.CLOSED
    with pytest.raises(TransitionError):
        request_plan_approve(request=request, actor=staff)


def test_the_staff_selectors_list_jobs_in_plan_order(company, file):
    request = file("erasure")

    jobs = request_jobs(request)
    assert jobs[0].operation == Operation.RESOLVE
    assert [job.pk for job in jobs] == sorted(job.pk for job in jobs)
    assert request_plan(request).stage == PlanStage.AWAITING_APPROVAL


def test_attesting_a_manual_task_moves_its_job_on_at_once(company, file, run, staff):
    from dsr.engine.manual import manual_task_complete

    request = file("access")
    job = request.jobs.get(source_key="chats", operation=Operation.ACCESS)
    assert job.status == JobStatus.WAITING
    task = ManualTask.objects.get(request=request, source_key="chats")

    # No reconciler run: the attestation itself hands the job back to the workers.
    run(manual_task_complete, task=task, attestation="Exported from PureCloud", actor=staff)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    request.refresh_from_db()
    assert request.status == Status.COMPLETED

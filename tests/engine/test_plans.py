"""A request's plan: started once verified, moved on by its right each time every job of a stage has finished."""

import pytest

from dsr.audit import Actor
from dsr.engine.plans import plan_advance, plan_start, request_jobs, request_plan
from dsr.models import AuditEvent, Job, JobStatus, Operation, Plan, PlanStage, Status
from dsr.rights.base import request_plan_approve
from dsr.workflow import request_submit, request_verify
from tests.rights.conftest import PERSON, company_map_load
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def test_work_starts_when_the_email_is_confirmed_not_before(company, run):
    result = run(request_submit, right="access", email=PERSON, actor=Actor.subject(), language="en")
    request = result.request
    assert request.status == Status.PENDING_VERIFICATION
    assert not Plan.objects.filter(request=request).exists()
    assert not Job.objects.filter(request=request).exists()
    # A start signal for an unconfirmed request does nothing either.
    assert plan_start(request_id=request.pk) is None

    run(request_verify, request=request, method="email_code", actor=Actor.subject())

    assert Job.objects.filter(request=request, operation=Operation.RESOLVE, status=JobStatus.DONE).exists()
    request.plan.refresh_from_db()
    assert request.plan.identifiers["email"] == [PERSON]
    # Resolution found the person's phone numbers in the shop (Danish) and in Chinook (Brazilian).
    phones = request.plan.identifiers["phone"]
    assert {phone[:3] for phone in phones} == {"+45", "+55"}
    # The consents the shop shows the person gave, for Art. 15 and Art. 19 lineage.
    assert request.plan.consents == ["ad_retargeting", "newsletter"]


def test_without_a_data_map_the_plan_says_so_and_nothing_runs(file):
    request = file("erasure", email="someone@example.dk")

    assert request.plan.stage == PlanStage.UNMAPPED
    assert not request.jobs.exists()
    assert request.status == Status.IN_PROGRESS
    assert AuditEvent.objects.filter(request=request, action="plan.unmapped").exists()


def test_starting_a_plan_again_resumes_it_and_creates_nothing_twice(company, file, run):
    request = file("erasure")
    jobs = request.jobs.count()

    run(plan_start, request_id=request.pk)

    assert request.jobs.count() == jobs
    assert request.jobs.filter(operation=Operation.RESOLVE).count() == 1
    assert AuditEvent.objects.filter(request=request, action="plan.created").count() == 1
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.AWAITING_APPROVAL


def test_each_stage_of_an_erasure_starts_only_when_the_last_one_finished(company, file, run, staff):
    request = file("erasure")

    # Resolved, planned, and waiting for staff: nothing is erased before approval.
    assert request.plan.stage == PlanStage.AWAITING_APPROVAL
    operations = set(request.jobs.values_list("operation", flat=True))
    assert operations == {Operation.RESOLVE, Operation.ERASURE_PLAN}

    run(request_plan_approve, request=request, actor=staff)
    request.refresh_from_db()
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.RUNNING
    assert request.plan.approved_at is not None
    # One source is still with its owner: the stage is not finished and the request is not closed.
    assert request.jobs.get(source_key="chats", operation=Operation.ERASURE).status == JobStatus.WAITING
    assert request.status == Status.IN_PROGRESS
    assert request.plan.outcome == {}

    tasks_finish(request, staff, run)
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.DONE
    assert request.status == Status.COMPLETED
    assert request.plan.outcome["right"] == "erasure"


def test_access_builds_the_bundle_only_once_every_source_was_collected(company, file, run, staff):
    request = file("access")

    assert request.plan.stage == PlanStage.RUNNING
    assert not request.jobs.filter(operation=Operation.BUNDLE).exists()

    tasks_finish(request, staff, run)
    assert request.jobs.get(operation=Operation.BUNDLE).status == JobStatus.DONE
    assert request.status == Status.COMPLETED


def test_a_stage_with_nothing_to_wait_for_moves_on_at_once(company, file):
    # A correction no source maps: there is nothing to preview, and the request goes straight to staff.
    request = file("rectification", corrections=[{"field": "Favourite colour", "correct": "Blue"}])

    assert request.plan.stage == PlanStage.AWAITING_APPROVAL
    assert request.status == Status.AWAITING_APPROVAL
    assert not request.jobs.filter(operation=Operation.RECTIFICATION_PLAN).exists()


def test_a_failed_job_holds_the_plan_until_staff_act(company, file):
    company.processor.mode = "garbage"
    request = file("consent_withdrawal", consents=["ad_retargeting"])

    assert plan_advance(request_id=request.pk) == PlanStage.NEEDS_ATTENTION
    request.refresh_from_db()
    assert request.status == Status.NEEDS_ATTENTION
    assert request.closed_at is None


def test_a_source_that_cannot_be_reached_while_resolving_does_not_stop_the_others(company, file, run, staff):
    def broken_chinook(document):
        document["sources"]["chinook"]["url"] = "sqlite:////nonexistent/folder/chinook.sqlite"

    company_map_load(company, broken_chinook)
    request = file("access")

    assert "chinook" in request.plan.resolution_errors
    assert PERSON not in str(request.plan.resolution_errors)
    # The others were asked with what the others found; Chinook's own job fails and says why.
    assert request.jobs.get(source_key="shop", operation=Operation.ACCESS).status == JobStatus.DONE
    chinook = request.jobs.get(source_key="chinook", operation=Operation.ACCESS)
    assert chinook.status == JobStatus.FAILED
    assert chinook.last_error
    request.refresh_from_db()
    assert request.status == Status.NEEDS_ATTENTION


def test_the_staff_selectors_list_jobs_in_plan_order(company, file):
    request = file("erasure")

    jobs = request_jobs(request)
    assert jobs[0].operation == Operation.RESOLVE
    assert [job.pk for job in jobs] == sorted(job.pk for job in jobs)
    assert request_plan(request).stage == PlanStage.AWAITING_APPROVAL


def _dispatched(monkeypatch) -> list:
    from dsr.engine import dispatch

    sent = []
    monkeypatch.setattr(dispatch, "_job_starter", sent.extend)
    return sent


def test_a_stages_jobs_are_written_in_one_statement_and_their_go_signals_in_one(company, file, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dsr.engine.dispatch import jobs_create
    from dsr.signals import signals_starter

    request = file("access")
    sources = ["one", "two", "three", "four"]
    monkeypatch.setattr("dsr.engine.dispatch._job_starter", signals_starter("dsr.tasks.job_run"))

    with CaptureQueriesContext(connection) as queries:
        ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in sources])

    statements = [query["sql"] for query in queries.captured_queries]
    assert sum('INSERT INTO "dsr_job"' in sql for sql in statements) == 1
    assert sum('INSERT INTO "dsr_tasksignal"' in sql for sql in statements) == 1
    # The jobs already made are read without sorting them by their request's due date (a join).
    assert not [sql for sql in statements if 'JOIN "dsr_request"' in sql]
    assert sorted(request.jobs.filter(pk__in=ids).values_list("source_key", flat=True)) == sorted(sources)
    assert jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in sources]) == []  # nothing twice


def test_jobs_another_transaction_made_meanwhile_are_left_and_the_rest_still_made(company, file, monkeypatch):
    from dsr.engine import dispatch

    request = file("access")
    sent = _dispatched(monkeypatch)
    theirs = Job.objects.create(request=request, source_key="two", operation=Operation.RESTRICTION)
    # The look-up ran before the other worker's transaction committed the second job: the one write collides.
    monkeypatch.setattr(dispatch, "_jobs_existing", lambda request: set())

    ids = dispatch.jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("one", "two", "three")])

    made = dict(Job.objects.filter(pk__in=ids).values_list("source_key", "pk"))
    assert sorted(made) == ["one", "three"]
    assert list(Job.objects.filter(request=request, source_key="two").values_list("pk", flat=True)) == [theirs.pk]
    assert sent == ids


def test_a_step_of_the_plan_reads_the_jobs_without_joining_their_request(company, file, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    request = file("access")
    Job.objects.filter(request=request).update(status=JobStatus.RUNNING)

    with CaptureQueriesContext(connection) as queries:
        assert plan_advance(request_id=request.pk) == request.plan.stage  # a job still runs: no step

    reads = [sql for query in queries.captured_queries if 'FROM "dsr_job"' in (sql := query["sql"])]
    assert reads
    assert not [sql for sql in reads if 'JOIN "dsr_request"' in sql]

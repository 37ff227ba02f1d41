"""A stage's jobs on sources that touch only their own database run one after another in one task."""

import copy

import pytest

from dsr.engine import jobs as engine_jobs
from dsr.engine import registry
from dsr.engine.dispatch import jobs_create, jobs_grouped
from dsr.engine.jobs import jobs_run
from dsr.engine.registry import Step, runner_register
from dsr.models import Job, JobStatus, Operation, PlanStage, TaskSignal
from dsr.sources.base import SourceTransientError
from tests.rights.conftest import company_map_load

pytestmark = pytest.mark.django_db


def _jobs(request, keys: list[str], operation: str = Operation.RESTRICTION) -> list[Job]:
    return [Job.objects.create(request=request, source_key=key, operation=operation) for key in keys]


def _ids(jobs: list[Job]) -> list[int]:
    return [job.pk for job in jobs]


def test_database_sources_share_a_task_and_a_processor_a_person_or_no_source_get_their_own(company, file):
    request = file("access")
    shop, chinook, adpartner, chats, resolve = _jobs(request, ["shop", "chinook", "adpartner", "chats", ""])

    together, alone = jobs_grouped([shop, adpartner, chinook, chats, resolve])

    assert together == [[shop.pk, chinook.pk]]
    assert alone == [adpartner.pk, chats.pk, resolve.pk]


def test_a_source_no_longer_in_the_map_gets_a_task_of_its_own(company, file):
    request = file("access")
    shop, gone = _jobs(request, ["shop", "gone"])

    assert jobs_grouped([shop, gone]) == ([], [shop.pk, gone.pk])


@pytest.mark.parametrize("size", [1, 0, -3])
def test_one_job_per_task_when_the_setting_says_one_or_less(company, file, settings, size):
    settings.DSR_JOBS_PER_TASK = size
    request = file("access")
    jobs = _jobs(request, ["shop", "chinook"])

    assert jobs_grouped(jobs) == ([], _ids(jobs))


def test_at_most_the_settings_number_of_jobs_share_a_task(company, file, settings):
    def third_database(document):
        document["sources"]["warehouse"] = copy.deepcopy(document["sources"]["shop"])

    company_map_load(company, third_database)
    settings.DSR_JOBS_PER_TASK = 2
    request = file("access")
    shop, chinook, warehouse = _jobs(request, ["shop", "chinook", "warehouse"])

    assert jobs_grouped([shop, chinook, warehouse]) == ([[shop.pk, chinook.pk]], [warehouse.pk])


def test_creating_a_stage_records_one_go_for_the_databases_and_one_for_each_other_job(company, file):
    request = file("access")
    TaskSignal.objects.all().delete()

    ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("shop", "adpartner", "chinook")])

    made = dict(Job.objects.filter(pk__in=ids).values_list("source_key", "pk"))
    signals = sorted((signal.task, signal.args) for signal in TaskSignal.objects.all())
    assert signals == [
        ("dsr.tasks.job_run", [made["adpartner"]]),
        ("dsr.tasks.jobs_run", [[made["shop"], made["chinook"]]]),
    ]


@pytest.fixture
def operations():
    """Register runners for made-up operations: "fine" is done, "flaky" fails for now; unregister them afterwards."""
    ran = []

    def fine(ctx):
        ran.append(ctx.job.source_key)
        return Step(JobStatus.DONE, {}, {})

    def flaky(ctx):
        ran.append(ctx.job.source_key)
        raise SourceTransientError(ctx.job.source_key, "the database is restarting")

    runner_register("fine", fine)
    runner_register("flaky", flaky)
    yield ran
    registry._runners.pop("fine", None)
    registry._runners.pop("flaky", None)


def _resolved(file):
    """Return a request whose plan is past its resolution, waiting for the jobs a test makes."""
    request = file("access")
    request.jobs.exclude(operation=Operation.RESOLVE).delete()
    request.plan.stage = PlanStage.RUNNING
    request.plan.save(update_fields=["stage"])
    return request


def test_the_jobs_run_in_turn_and_the_plan_moves_on_once_after_the_last(company, file, operations, monkeypatch):
    request = _resolved(file)
    jobs = _jobs(request, ["shop", "chinook"], "fine")
    advanced = []
    monkeypatch.setattr(engine_jobs, "plan_advance", lambda *, request_id: advanced.append(request_id))

    outcomes = jobs_run(job_ids=_ids(jobs), max_attempts=3, backoff=lambda attempts: 60)

    assert [outcome.status for outcome in outcomes] == [JobStatus.DONE, JobStatus.DONE]
    assert operations == ["shop", "chinook"]
    assert advanced == [request.pk]
    assert set(Job.objects.filter(pk__in=_ids(jobs)).values_list("status", flat=True)) == {JobStatus.DONE}


def test_a_job_to_retry_or_taken_by_another_worker_does_not_stop_the_others(company, file, operations, monkeypatch):
    request = _resolved(file)
    flaky = _jobs(request, ["shop"], "flaky")[0]
    taken = _jobs(request, ["warehouse"], "fine")[0]
    fine = _jobs(request, ["chinook"], "fine")[0]
    Job.objects.filter(pk=taken.pk).update(status=JobStatus.RUNNING, claim="another worker's")
    advanced = []
    monkeypatch.setattr(engine_jobs, "plan_advance", lambda *, request_id: advanced.append(request_id))

    outcomes = jobs_run(job_ids=[flaky.pk, taken.pk, fine.pk], max_attempts=3, backoff=lambda attempts: 60)

    assert [(outcome.status, outcome.retry_in) for outcome in outcomes] == [
        (JobStatus.QUEUED, 60),
        ("skipped", None),
        (JobStatus.DONE, None),
    ]
    assert operations == ["shop", "chinook"]
    flaky.refresh_from_db()
    assert (flaky.status, flaky.last_error) == (JobStatus.QUEUED, "source 'shop': the database is restarting")
    assert advanced == [request.pk]


def test_the_jobs_read_their_request_once_and_its_status_at_each_claim(company, file, operations, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dsr.models import Request, Status

    request = _resolved(file)
    jobs = _jobs(request, ["shop", "chinook", "warehouse"], "fine")
    monkeypatch.setattr(engine_jobs, "plan_advance", lambda *, request_id: None)
    closed = []

    def close_after_the_first(ctx):
        # Staff close the request while the first job runs: the jobs after it are not run.
        if not closed:
            Request.objects.filter(pk=ctx.request.pk).update(status=Status.CANCELLED)
            closed.append(ctx.job.source_key)
        return Step(JobStatus.DONE, {}, {})

    runner_register("fine", close_after_the_first)
    table = Request._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        outcomes = jobs_run(job_ids=_ids(jobs), max_attempts=3, backoff=lambda attempts: 60)

    assert [outcome.status for outcome in outcomes] == [JobStatus.DONE, JobStatus.CANCELLED, JobStatus.CANCELLED]
    # The audit's row lock on PostgreSQL is not a read.
    reads = [sql for query in queries.captured_queries if (sql := query["sql"]).startswith("SELECT")]
    assert sum(f'"{table}"' in sql and "FOR KEY SHARE" not in sql for sql in reads) == 1


def test_the_task_hands_a_job_to_retry_its_own_go_after_the_backoff(company, file, operations, monkeypatch):
    from dsr import tasks

    request = _resolved(file)
    flaky, fine = _jobs(request, ["shop"], "flaky") + _jobs(request, ["chinook"], "fine")
    later = []
    monkeypatch.setattr(tasks.job_run, "apply_async", lambda args, countdown: later.append((args, countdown)))

    assert tasks.jobs_run([flaky.pk, fine.pk]) == [JobStatus.QUEUED, JobStatus.DONE]

    assert later == [((flaky.pk,), tasks.job_backoff(1))]


def test_jobs_done_before_a_failure_to_record_still_move_the_plan_on(company, file, operations, monkeypatch):
    from django.db import DatabaseError

    request = _resolved(file)
    first, second = _jobs(request, ["shop", "chinook"], "fine")
    advanced = []
    monkeypatch.setattr(engine_jobs, "plan_advance", lambda *, request_id: advanced.append(request_id))
    take = engine_jobs.job_take

    def take_or_fail(*, job_id, now=None):
        if job_id == second.pk:
            raise DatabaseError("the server closed the connection")
        return take(job_id=job_id, now=now)

    monkeypatch.setattr(engine_jobs, "job_take", take_or_fail)

    with pytest.raises(DatabaseError):
        jobs_run(job_ids=[first.pk, second.pk], max_attempts=3, backoff=lambda attempts: 60)

    assert advanced == [request.pk]
    second.refresh_from_db()
    assert second.status == JobStatus.QUEUED  # its "go" comes again from the reconciler


def test_an_erasure_plans_in_its_databases_in_one_task(company, file, jobs_runs):
    request = file("erasure")

    assert [("chinook", Operation.ERASURE_PLAN), ("shop", Operation.ERASURE_PLAN)] in jobs_runs
    assert set(request.jobs.filter(operation=Operation.ERASURE_PLAN).values_list("status", flat=True)) == {
        JobStatus.DONE
    }


def test_one_thread_renews_the_leases_of_the_jobs_this_process_runs_and_only_while_they_run(company, file):
    from datetime import timedelta

    from django.utils import timezone

    from dsr.engine.jobs import _lease_kept, _leases, job_claim

    request = _resolved(file)
    first, second = _jobs(request, ["shop", "chinook"], "fine")
    claims = {job.pk: job_claim(job_id=job.pk) for job in (first, second)}
    soon = timezone.now() + timedelta(seconds=1)
    Job.objects.filter(pk__in=claims).update(lease_expires_at=soon)

    with _lease_kept(first.pk, claims[first.pk]):
        renewer = _leases.renewer
        with _lease_kept(second.pk, claims[second.pk]):
            assert _leases.renewer is renewer  # no thread of its own for the second job
            assert renewer.is_alive()
            assert _leases.renew_once() == 2
        assert _leases.renew_once() == 1  # the second job's block is over: its lease is left to run out
        Job.objects.filter(pk=first.pk).update(claim="taken over")
        assert _leases.renew_once() == 0  # a lease another worker took over is not moved

    assert _leases.held == {}
    leases = dict(Job.objects.filter(pk__in=claims).values_list("pk", "lease_expires_at"))
    assert leases[first.pk] > soon + timedelta(seconds=30)
    assert leases[second.pk] > soon + timedelta(seconds=30)


def test_with_no_task_registered_for_jobs_together_each_job_gets_its_own_go(company, file, monkeypatch):
    from dsr.engine import dispatch

    request = file("access")
    sent = []
    monkeypatch.setattr(dispatch, "_job_starter", sent.extend)
    monkeypatch.setattr(dispatch, "_jobs_together_starter", None)

    ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("shop", "chinook")])

    assert sorted(sent) == sorted(ids)

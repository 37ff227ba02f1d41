"""A worker task that moves a plan on runs the next stage itself where it needs no task of its own."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from dsr import tasks
from dsr.audit import Actor
from dsr.engine import dispatch
from dsr.engine import jobs as engine_jobs
from dsr.engine.dispatch import jobs_create, jobs_kept
from dsr.engine.plans import plan_start
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import Job, JobStatus, Operation, Request, Status, TaskSignal
from dsr.workflow import request_submit
from tests.rights.conftest import PERSON

pytestmark = pytest.mark.django_db


def _signalled() -> list[tuple[str, list]]:
    return sorted((signal.task, signal.args) for signal in TaskSignal.objects.all())


def _made(ids: list[int]) -> dict[str, int]:
    return dict(Job.objects.filter(pk__in=ids).values_list("source_key", "pk"))


def test_the_databases_jobs_are_kept_with_no_go_and_the_processors_job_gets_its_own(company, file):
    request = file("access")
    TaskSignal.objects.all().delete()

    with jobs_kept() as kept:
        ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("shop", "adpartner", "chinook")])

    made = _made(ids)
    assert kept == [[made["shop"], made["chinook"]]]
    assert _signalled() == [("dsr.tasks.job_run", [made["adpartner"]])]


def test_one_list_is_kept_at_a_time_and_a_second_stage_made_meanwhile_gets_its_go(company, file):
    first, second = file("access"), file("access", email="another@example.dk")
    TaskSignal.objects.all().delete()

    with jobs_kept() as kept:
        kept_ids = jobs_create(first, [(key, Operation.RESTRICTION, {}) for key in ("shop", "chinook")])
        sent_ids = jobs_create(second, [(key, Operation.RESTRICTION, {}) for key in ("shop", "chinook")])

    assert kept == [kept_ids]
    assert _signalled() == [("dsr.tasks.jobs_run", [sent_ids])]


def test_a_database_job_beside_a_processors_is_kept_even_alone(company, file):
    request = file("access")
    TaskSignal.objects.all().delete()

    with jobs_kept() as kept:
        ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("adpartner", "chinook")])

    made = _made(ids)
    assert kept == [[made["chinook"]]]
    assert _signalled() == [("dsr.tasks.job_run", [made["adpartner"]])]


def test_a_stages_only_job_is_kept_whatever_its_source(company, file):
    request = file("access")
    TaskSignal.objects.all().delete()

    with jobs_kept() as kept:
        ids = jobs_create(request, [("adpartner", Operation.RESTRICTION, {})])

    assert kept == [ids]
    assert _signalled() == []


def test_two_jobs_that_each_need_a_task_are_both_sent(company, file):
    request = file("access")
    TaskSignal.objects.all().delete()

    with jobs_kept() as kept:
        ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("adpartner", "chats")])

    assert kept == []
    assert _signalled() == sorted(("dsr.tasks.job_run", [pk]) for pk in ids)


@pytest.mark.parametrize("size", [1, 0])
def test_nothing_is_kept_when_each_job_is_to_have_its_task(company, file, settings, size):
    settings.DSR_JOBS_PER_TASK = size
    request = file("access")
    TaskSignal.objects.all().delete()

    with jobs_kept() as kept:
        ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("shop", "chinook")])

    assert kept == []
    assert _signalled() == sorted(("dsr.tasks.job_run", [pk]) for pk in ids)


def test_outside_a_task_every_job_gets_its_go(company, file):
    request = file("access")
    TaskSignal.objects.all().delete()

    ids = jobs_create(request, [("adpartner", Operation.RESTRICTION, {})])

    assert _signalled() == [("dsr.tasks.job_run", ids)]


def _verified() -> Request:
    """Return an access request filed and verified, whose plan has not started (its "go" is left unsent)."""
    result = request_submit(
        right="access",
        email=PERSON,
        phone="",
        customer_number="",
        actor=Actor.integration("shop"),
        language="en",
        details=None,
        pre_verified=True,
    )
    TaskSignal.objects.all().delete()
    return Request.objects.get(pk=result.request.pk)


def _sources_of(args: list) -> list[str]:
    ids = args[0] if isinstance(args[0], list) else args
    return list(Job.objects.filter(pk__in=ids).values_list("source_key", flat=True))


def _run(ids: list[int]) -> list[str]:
    return [outcome.status for outcome in engine_jobs.jobs_run(job_ids=ids, max_attempts=3, backoff=lambda n: 60)]


def test_the_plans_start_runs_the_resolution_and_the_databases_stage_after_it_in_one_task(company, monkeypatch):
    request = _verified()
    sent = []
    monkeypatch.setattr(tasks.job_run, "apply_async", lambda *args, **kwargs: sent.append(args))

    tasks.plan_start(request.pk)

    statuses = dict(request.jobs.values_list("source_key", "status"))
    assert statuses[""] == JobStatus.DONE  # the resolution, run by this task
    assert statuses["shop"] == JobStatus.DONE
    assert statuses["chinook"] == JobStatus.DONE
    # Only the processor's and the person's jobs were sent a "go"; nothing waits for the databases.
    jobs_signalled = [args for task, args in _signalled() if task in (tasks.job_run.name, tasks.jobs_run.name)]
    assert sorted(source for args in jobs_signalled for source in _sources_of(args)) == ["adpartner", "chats"]
    assert sent == []  # and none is to be tried again


def test_a_stage_kept_by_a_worker_that_died_is_sent_by_the_reconciler_after_the_grace(company, settings):
    request = _verified()

    with jobs_kept() as kept:
        plan_start(request_id=request.pk)
    # The worker died here: the resolution was made and committed, but never run, and no "go" was recorded.
    resolve = request.jobs.get()
    assert kept == [[resolve.pk]]
    assert (resolve.status, _signalled()) == (JobStatus.QUEUED, [])

    assert jobs_reconcile().dispatched == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS + 1)):
        assert jobs_reconcile().dispatched == 1

    assert _signalled() == [("dsr.tasks.job_run", [resolve.pk])]


def test_jobs_kept_in_a_transaction_rolled_back_are_skipped(company, file):
    request = file("access")

    def stage_that_fails():
        with transaction.atomic():
            jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("shop", "chinook")])
            raise RuntimeError("the plan's step failed")

    with jobs_kept() as kept:
        with pytest.raises(RuntimeError):
            stage_that_fails()
        gone = kept.pop()

    assert not Job.objects.filter(pk__in=gone).exists()
    assert _run(gone) == ["skipped", "skipped"]
    request.refresh_from_db()
    assert request.status != Status.NEEDS_ATTENTION


def test_the_task_runs_each_stage_it_kept_in_turn(company, jobs_runs):
    request = _verified()

    tasks.plan_start(request.pk)

    assert jobs_runs == [
        [("", Operation.RESOLVE)],
        [("chinook", Operation.ACCESS), ("shop", Operation.ACCESS)],
    ]
    assert dispatch._kept.get() is None


def test_a_task_that_has_run_long_sends_the_stage_it_made_instead_of_running_it(company, monkeypatch):
    monkeypatch.setattr(tasks, "KEPT_RUN_SECONDS", -1)
    request = _verified()

    tasks.plan_start(request.pk)

    resolve = request.jobs.get()
    assert resolve.status == JobStatus.QUEUED
    assert _signalled() == [("dsr.tasks.job_run", [resolve.pk])]


def test_a_long_tasks_list_of_database_jobs_gets_one_go(company, file, monkeypatch):
    request = file("access")
    TaskSignal.objects.all().delete()
    with jobs_kept() as kept:
        ids = jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in ("shop", "chinook")])
    monkeypatch.setattr(tasks, "KEPT_RUN_SECONDS", -1)

    tasks._jobs_kept_run(kept, started=0)

    assert kept == []
    assert _signalled() == [("dsr.tasks.jobs_run", [ids])]
    assert set(Job.objects.filter(pk__in=ids).values_list("status", flat=True)) == {JobStatus.QUEUED}

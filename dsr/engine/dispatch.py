"""Creating jobs and recording their "go" signals in the transaction that made them (dsr/signals.py).

The broker carries only "go": the job row says what is to be done. The
Celery task that runs a job lives above the engine (dsr.tasks), so it
registers itself here when the app is ready (``job_starter_set``).
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get, datamap_current
from dsr.models import Job, JobStatus, Request

# Records the "go" for a list of job ids (dsr.tasks.job_run's signals), registered by dsr.apps; None sends nothing.
_job_starter: Callable[[list[int]], object] | None = None
# Records one "go" per list of job ids that one task runs one after another (dsr.tasks.jobs_run's signals).
_jobs_together_starter: Callable[[list[list[int]]], object] | None = None
# Starts or resumes one request's plan (dsr.tasks.plan_start.delay), registered the same way.
_plan_starter: Callable[[int], object] | None = None
# Inside ``jobs_kept``: the jobs the running task is to run itself once the step that made them has committed.
_kept: ContextVar[list[list[int]] | None] = ContextVar("dsr_jobs_kept", default=None)


def job_starter_set(starter: Callable[[list[int]], object] | None) -> None:
    """Register the function that records the "go" signals of a list of jobs (dsr.signals.signals_starter)."""
    global _job_starter
    _job_starter = starter


def jobs_together_starter_set(starter: Callable[[list[list[int]]], object] | None) -> None:
    """Register the function that records one "go" for each list of jobs a single task is to run in turn."""
    global _jobs_together_starter
    _jobs_together_starter = starter


def plan_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that starts a request's plan in a worker (the Celery task's ``delay``)."""
    global _plan_starter
    _plan_starter = starter


@contextmanager
def jobs_kept() -> Iterator[list[list[int]]]:
    """Keep, inside the block, the next stage's jobs that need no task of their own, for the caller to run.

    A worker task whose step moves a plan on runs the stage it made itself, instead of sending a "go" and
    waiting for the broker to hand it back: the jobs on sources that touch only their own database (up to
    DSR_JOBS_PER_TASK of them), or the stage's only job. One list of jobs is kept at a time; the caller runs it
    after the transaction that made it has committed, and may keep the following stage the same way. Should
    the worker die before, the jobs are queued with no "go", and the reconciler sends one once
    DSR_JOB_DISPATCH_GRACE_SECONDS have passed, as for a run of jobs cut short (decision 0019).
    """
    kept: list[list[int]] = []
    token = _kept.set(kept)
    try:
        yield kept
    finally:
        _kept.reset(token)


def jobs_kept_send(job_ids: list[int]) -> None:
    """Record the "go" of jobs a task kept (``jobs_kept``) but will not run itself after all."""
    with transaction.atomic():
        if len(job_ids) > 1 and _jobs_together_starter is not None:
            _jobs_together_starter([list(job_ids)])
        else:
            jobs_dispatch_on_commit(job_ids)


def jobs_dispatch_on_commit(job_ids: list[int]) -> None:
    """Record a "go" for each job in the transaction that created or re-queued it; it is sent after commit."""
    starter = _job_starter
    if starter is None or not job_ids:
        return
    starter(list(job_ids))


def plan_start_on_commit(request: Request) -> None:
    """Start (or resume) the request's work in a worker: the "go" is recorded now and sent after commit."""
    starter = _plan_starter
    if starter is not None:
        starter(request.pk)


def jobs_create(request: Request, specs: list[tuple[str, str, dict]], *, datamap: DataMap | None = None) -> list[int]:
    """Create the jobs (source, operation, input) that do not exist yet; dispatch them and return their ids.

    A stage's jobs are written in one statement; should another transaction have made one of them meanwhile,
    they are made one at a time instead, and the ones already there are left alone.
    """
    existing = _jobs_existing(request)
    new = {}
    for source_key, operation, plan in specs:
        if (source_key, operation) not in existing:
            new.setdefault((source_key, operation), plan)
    if not new:
        return []
    if not connection.features.can_return_columns_from_insert:
        # A database that would not give the new rows' keys back from one statement.
        created = _jobs_create_each(request, specs)
    else:
        jobs = [Job(request=request, source_key=key, operation=op, plan=plan) for (key, op), plan in new.items()]
        created = _jobs_insert(jobs)
    if _jobs_together_starter is None:
        together, alone = [], [job.pk for job in created]
    else:
        together, alone = _jobs_keep(*jobs_grouped(created, datamap=datamap, singles=True))
    jobs_dispatch_on_commit(alone)
    if together:
        _jobs_together_starter(together)
    return [job.pk for job in created]


def _jobs_keep(together: list[list[int]], alone: list[int]) -> tuple[list[list[int]], list[int]]:
    """Take the list of jobs the running task keeps (``jobs_kept``) out of those to send a "go" for."""
    kept = _kept.get()
    if kept is not None and not kept and settings.DSR_JOBS_PER_TASK > 1:
        if together:
            kept.append(together.pop(0))
        elif len(alone) == 1:
            # The stage's only job (identity resolution, say): no other job waits to run beside it.
            kept.append([alone.pop()])
    # A list of one is sent as one job's "go".
    return [batch for batch in together if len(batch) > 1], alone + [batch[0] for batch in together if len(batch) == 1]


def jobs_grouped(
    jobs: list[Job], *, datamap: DataMap | None = None, singles: bool = False
) -> tuple[list[list[int]], list[int]]:
    """Split new jobs into lists one task runs in turn, and the jobs that each get a task of their own.

    A source whose operations touch only its own database (``reads_in_place``: a SQL database, this
    application's models) answers in milliseconds, so a stage's jobs on such sources go to one task, up to
    DSR_JOBS_PER_TASK of them: one task and one step of the plan instead of one each. A source that asks a
    processor or a person, and a job of no source, keeps its own task, so a slow answer holds up nothing else.
    ``singles``: a list of one such job is a list too, not a job alone.
    """
    size = settings.DSR_JOBS_PER_TASK
    if size <= 1:
        # One job per task (0 and below read as 1).
        return [], [job.pk for job in jobs]
    if datamap is None and any(job.source_key for job in jobs):
        datamap = datamap_current()
    local = [
        job.pk
        for job in jobs
        if datamap is not None
        and job.source_key in datamap.sources
        and connector_get(job.source_key, datamap).reads_in_place
    ]
    together = [
        batch for start in range(0, len(local), size) if len(batch := local[start : start + size]) > 1 or singles
    ]
    shared = {pk for batch in together for pk in batch}
    return together, [job.pk for job in jobs if job.pk not in shared]


def _jobs_existing(request: Request) -> set[tuple[str, str]]:
    # In no order: the jobs' default one joins their request's table to sort by its due date.
    return set(Job.objects.filter(request=request).order_by().values_list("source_key", "operation"))


def _jobs_insert(jobs: list[Job]) -> list[Job]:
    """Write the jobs in one statement and return the ones written; one another transaction made is left alone.

    Written out (every stage of every request makes its jobs here): no savepoint to recover from a conflict, as
    the ORM's bulk insert would need, and no statement built anew.
    """
    fields = [field for field in Job._meta.concrete_fields if not field.primary_key]
    params = [field.get_db_prep_save(field.pre_save(job, add=True), connection) for job in jobs for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_statement(len(jobs)), params)
        keys = {(source_key, operation): pk for pk, source_key, operation in cursor.fetchall()}
    written = []
    for job in jobs:
        job.pk = keys.get((job.source_key, job.operation))
        if job.pk is not None:
            job._state.adding, job._state.db = False, connection.alias
            written.append(job)
    return written


@functools.lru_cache(maxsize=16)
def _insert_statement(count: int) -> str:
    quote = connection.ops.quote_name
    fields = [field for field in Job._meta.concrete_fields if not field.primary_key]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {quote(Job._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)} ON CONFLICT DO NOTHING RETURNING id, source_key, operation"
    )


def _jobs_create_each(request: Request, specs: list[tuple[str, str, dict]]) -> list[Job]:
    jobs = []
    for source_key, operation, plan in specs:
        job, created = Job.objects.get_or_create(
            request=request, source_key=source_key, operation=operation, defaults={"plan": plan}
        )
        if created:
            jobs.append(job)
    return jobs


def jobs_wake(*, request: Request, source_key: str, operations: list[str]) -> list[int]:
    """Queue the request's waiting jobs of this source now (their person or processor has answered)."""
    ids = list(
        Job.objects.filter(
            request=request, source_key=source_key, operation__in=operations, status=JobStatus.WAITING
        ).values_list("pk", flat=True)
    )
    Job.objects.filter(pk__in=ids, status=JobStatus.WAITING).update(
        status=JobStatus.QUEUED, not_before=None, updated_at=timezone.now()
    )
    jobs_dispatch_on_commit(ids)
    return ids

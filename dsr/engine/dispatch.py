"""Creating jobs and recording their "go" signals in the transaction that made them (dsr/signals.py).

The broker carries only "go": the job row says what is to be done. The
Celery task that runs a job lives above the engine (dsr.tasks), so it
registers itself here when the app is ready (``job_starter_set``).
"""

from collections.abc import Callable

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from dsr.models import Job, JobStatus, Request

# Records the "go" for a list of job ids (dsr.tasks.job_run's signals), registered by dsr.apps; None sends nothing.
_job_starter: Callable[[list[int]], object] | None = None
# Starts or resumes one request's plan (dsr.tasks.plan_start.delay), registered the same way.
_plan_starter: Callable[[int], object] | None = None


def job_starter_set(starter: Callable[[list[int]], object] | None) -> None:
    """Register the function that records the "go" signals of a list of jobs (dsr.signals.signals_starter)."""
    global _job_starter
    _job_starter = starter


def plan_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that starts a request's plan in a worker (the Celery task's ``delay``)."""
    global _plan_starter
    _plan_starter = starter


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


def jobs_create(request: Request, specs: list[tuple[str, str, dict]]) -> list[int]:
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
    if not connection.features.can_return_rows_from_bulk_insert:
        # A database that would not give the new rows' keys back from one statement.
        ids = _jobs_create_each(request, specs)
    else:
        try:
            with transaction.atomic():
                created = Job.objects.bulk_create(
                    [
                        Job(request=request, source_key=key, operation=operation, plan=plan)
                        for (key, operation), plan in new.items()
                    ]
                )
            ids = [job.pk for job in created]
        except IntegrityError:
            ids = _jobs_create_each(request, specs)
    jobs_dispatch_on_commit(ids)
    return ids


def _jobs_existing(request: Request) -> set[tuple[str, str]]:
    return set(Job.objects.filter(request=request).values_list("source_key", "operation"))


def _jobs_create_each(request: Request, specs: list[tuple[str, str, dict]]) -> list[int]:
    ids = []
    for source_key, operation, plan in specs:
        job, created = Job.objects.get_or_create(
            request=request, source_key=source_key, operation=operation, defaults={"plan": plan}
        )
        if created:
            ids.append(job.pk)
    return ids


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

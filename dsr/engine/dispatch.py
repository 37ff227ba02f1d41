"""Creating jobs and recording their "go" signals in the transaction that made them (dsr/signals.py).

The broker carries only "go": the job row says what is to be done. The
Celery task that runs a job lives above the engine (dsr.tasks), so it
registers itself here when the app is ready (``job_starter_set``).
"""

from collections.abc import Callable

from django.utils import timezone

from dsr.models import Job, JobStatus, Request

# Sends the "go" for one job id (dsr.tasks.job_run.delay), registered by dsr.apps; None sends nothing.
_job_starter: Callable[[int], object] | None = None
# Starts or resumes one request's plan (dsr.tasks.plan_start.delay), registered the same way.
_plan_starter: Callable[[int], object] | None = None


def job_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that sends a job's "go" signal (the Celery task's ``delay``)."""
    global _job_starter
    _job_starter = starter


def plan_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that starts a request's plan in a worker (the Celery task's ``delay``)."""
    global _plan_starter
    _plan_starter = starter


def jobs_dispatch_on_commit(job_ids: list[int]) -> None:
    """Record a "go" for each job in the transaction that created or re-queued it; it is sent after commit."""
    starter = _job_starter
    if starter is None:
        return
    for job_id in job_ids:
        starter(job_id)


def plan_start_on_commit(request: Request) -> None:
    """Start (or resume) the request's work in a worker: the "go" is recorded now and sent after commit."""
    starter = _plan_starter
    if starter is not None:
        starter(request.pk)


def jobs_create(request: Request, specs: list[tuple[str, str, dict]]) -> list[int]:
    """Create the jobs (source, operation, input) that do not exist yet; dispatch them and return their ids."""
    ids = []
    for source_key, operation, plan in specs:
        job, created = Job.objects.get_or_create(
            request=request, source_key=source_key, operation=operation, defaults={"plan": plan}
        )
        if created:
            ids.append(job.pk)
    jobs_dispatch_on_commit(ids)
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

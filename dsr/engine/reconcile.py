"""The reconciler: re-send lost "go" signals, poll waiting work, advance stuck plans, close closed requests' work.

Run by beat every DSR_RECONCILE_INTERVAL_SECONDS. Everything it does is
idempotent: the database says what is done, and each step is a
compare-and-set, so a signal sent twice runs nothing twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dsr.engine.dispatch import jobs_dispatch_on_commit
from dsr.engine.jobs import RUN_AFTER_CLOSE
from dsr.engine.plans import WORKING_STAGES, plan_advance, plan_close, plan_start
from dsr.models import CLOSED_STATUSES, JOB_FINISHED, Job, JobStatus, Plan, PlanStage, Request, Status
from dsr.recipients import recipient_notifications_sync


def _grace() -> timedelta:
    return timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS)


@dataclass
class Reconciled:
    requeued: int = 0
    polled: int = 0
    dispatched: int = 0
    advanced: int = 0
    started: int = 0
    closed: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def jobs_reconcile(*, now: datetime | None = None) -> Reconciled:
    """Re-send the "go" for every job that made no progress, and advance plans whose jobs all finished.

    A running job whose lease expired belonged to a worker that died (a working
    job renews its lease every third of DSR_JOB_LEASE_SECONDS, and a task is
    killed at CELERY_TASK_TIME_LIMIT); it goes back to the queue by
    compare-and-set, so it never runs twice at once.
    """
    now = now or timezone.now()
    done = Reconciled()
    expired = list(
        Job.objects.filter(status=JobStatus.RUNNING, lease_expires_at__lt=now).values_list("pk", flat=True)[:1000]
    )
    done.requeued = Job.objects.filter(pk__in=expired, status=JobStatus.RUNNING, lease_expires_at__lt=now).update(
        status=JobStatus.QUEUED, claim="", lease_expires_at=None, not_before=None, updated_at=now
    )
    # Async work (a processor, a person) is looked at again.
    due = list(Job.objects.filter(status=JobStatus.WAITING, not_before__lte=now).values_list("pk", flat=True)[:1000])
    done.polled = Job.objects.filter(pk__in=due, status=JobStatus.WAITING).update(
        status=JobStatus.QUEUED, not_before=None, updated_at=now
    )
    stale = Job.objects.filter(status=JobStatus.QUEUED, updated_at__lte=now - _grace()).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    ids = sorted(set(stale.values_list("pk", flat=True)[:1000]) | set(expired) | set(due))
    with transaction.atomic():
        # A "go" stuck behind a long queue is sent again at most once per grace period, not at every run.
        Job.objects.filter(pk__in=ids, status=JobStatus.QUEUED).update(updated_at=now)
        jobs_dispatch_on_commit(ids)
    done.dispatched = len(ids)
    for plan in Plan.objects.filter(stage__in=WORKING_STAGES, updated_at__lte=now - _grace()).select_related("request"):
        if not plan.request.jobs.exclude(status__in=JOB_FINISHED).exists():
            plan_advance(request_id=plan.request_id)
            done.advanced += 1
    # A request verified while its "start" signal was lost.
    for request_id in Request.objects.filter(
        status=Status.IN_PROGRESS, plan__isnull=True, updated_at__lte=now - _grace()
    ).values_list("pk", flat=True)[:500]:
        plan_start(request_id=request_id)
        done.started += 1
    for plan in Plan.objects.filter(request__status__in=CLOSED_STATUSES).select_related("request")[:1000]:
        if plan.stage in (PlanStage.CLOSED, PlanStage.DONE) and not plan.identifiers:
            continue
        # A closed request's queued and waiting work is dropped; a restriction being lifted still runs.
        plan.request.jobs.filter(status__in=(JobStatus.QUEUED, JobStatus.WAITING)).exclude(
            operation__in=RUN_AFTER_CLOSE
        ).update(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
        if plan.request.jobs.exclude(status__in=JOB_FINISHED).exists():
            continue
        with transaction.atomic():
            # The request's row before the plan's, as a plan's step takes them; the plan is read again under it.
            Request.objects.select_for_update().filter(pk=plan.request_id).first()
            plan = Plan.objects.select_related("request").get(pk=plan.pk)
            if plan.stage in (PlanStage.CLOSED, PlanStage.DONE) and not plan.identifiers:
                continue  # a plan's step closed it meanwhile
            plan_close(plan)
        done.closed += 1
    recipient_notifications_sync()
    return done

"""Running one job: claim by compare-and-set, run its operation, record the result, retry or fail.

Workers claim a job by compare-and-set on its status (``UPDATE ... WHERE
status = 'queued'``), so one job never runs twice at the same time; the
broker only carries "go" signals, and the reconciler re-sends them for jobs
that made no progress. See docs/decisions/0008-jobs.md and 0007-retries.md.
"""

import functools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import rows, workflow
from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get, datamap_current
from dsr.engine.dispatch import jobs_dispatch_on_commit
from dsr.engine.manual import tasks_reopen
from dsr.engine.plans import plan_advance, request_read
from dsr.engine.registry import JobContext, Step, handler_for, runner_for, runner_register
from dsr.models import (
    CLOSED_STATUSES,
    AuditAction,
    Job,
    JobStatus,
    Operation,
    Plan,
    PlanStage,
    Request,
    WebhookEvent,
)
from dsr.sources.base import SourceError, SourcePermanentError
from dsr.sources.resolution import identifiers_normalise, identities_resolve_detailed
from dsr.webhooks import webhook_event_emit
from dsr.workflow import TransitionError

logger = logging.getLogger(__name__)

SYSTEM = Actor.system()
# Jobs that still run for a closed request: a restriction being lifted (GDPR Art. 18(3)).
RUN_AFTER_CLOSE = (Operation.RESTRICTION_LIFT,)


def _lease() -> timedelta:
    return timedelta(seconds=settings.DSR_JOB_LEASE_SECONDS)


def _poll() -> timedelta:
    return timedelta(seconds=settings.DSR_JOB_POLL_SECONDS)


@dataclass
class JobOutcome:
    """What a run of a job came to; ``retry_in`` is the backoff in seconds for a transient error.

    ``advance`` is the request whose plan may move on now that this job is done.
    """

    status: str
    retry_in: float | None = None
    advance: int | None = None


def job_claim(*, job_id: int, now: datetime | None = None) -> str | None:
    """Take a queued job for this worker by compare-and-set; return the claim, or None if another has it."""
    taken = job_take(job_id=job_id, now=now)
    return taken.claim if taken is not None else None


def job_take(*, job_id: int, now: datetime | None = None) -> Job | None:
    """Claim a queued job as ``job_claim`` does and return it as claimed, or None if another has it.

    The job comes back from the statement that claims it, with ``claim`` set and ``request_status``, the status
    its request has at the claim: one statement instead of a claim and a read.
    """
    now = now or timezone.now()
    claim = uuid.uuid4().hex
    if not connection.features.can_return_columns_from_insert:
        # SQLite before 3.35 has no UPDATE ... RETURNING: the claim, then a read.
        taken = (
            Job.objects.filter(pk=job_id, status=JobStatus.QUEUED)
            .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
            .update(
                status=JobStatus.RUNNING,
                claim=claim,
                lease_expires_at=now + _lease(),
                attempts=F("attempts") + 1,
                started_at=Coalesce("started_at", Value(now)),
                updated_at=now,
            )
        )
        return Job.objects.annotate(request_status=F("request__status")).get(pk=job_id) if taken else None
    at = connection.ops.adapt_datetimefield_value(now)
    lease_end = connection.ops.adapt_datetimefield_value(now + _lease())
    row = rows.fetch_one(_take_statement(), [JobStatus.RUNNING, claim, lease_end, at, at, job_id, JobStatus.QUEUED, at])
    if row is None:
        return None
    job = rows.instance(Job, row)
    job.request_status = row[-1]
    return job


@functools.cache
def _take_statement() -> str:
    """The claim of ``job_take``, returning the job's columns and its request's status (built once per process)."""
    quote = connection.ops.quote_name
    job, request = quote(Job._meta.db_table), quote(Request._meta.db_table)
    return (
        f"UPDATE {job} SET status = %s, claim = %s, lease_expires_at = %s, attempts = attempts + 1, "  # noqa: S608
        "started_at = COALESCE(started_at, %s), updated_at = %s "
        "WHERE id = %s AND status = %s AND (not_before IS NULL OR not_before <= %s) "
        f"RETURNING {rows.columns(Job, job)}, "
        f"(SELECT {request}.status FROM {request} WHERE {request}.id = {job}.request_id) AS request_status"
    )


class _Leases:
    """The leases of the jobs this process is running, renewed together by one thread every third of a lease.

    A job is renewed within a third of a lease of its start and every third after, as a thread of its own
    would; starting and joining such a thread for every job cost more than many a job's own work.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.held: dict[int, str] = {}
        self.renewer: threading.Thread | None = None
        self.pid = 0

    def hold(self, job_id: int, claim: str) -> None:
        with self.lock:
            self.held[job_id] = claim
            if self.renewer is None or self.pid != os.getpid() or not self.renewer.is_alive():
                # The first job of this process (a forked pool process inherits no thread).
                self.pid = os.getpid()
                self.renewer = threading.Thread(target=self.renew, name="dsr-leases", daemon=True)
                self.renewer.start()

    def release(self, job_id: int) -> None:
        with self.lock:
            self.held.pop(job_id, None)

    def renew(self) -> None:
        while True:
            time.sleep(_lease().total_seconds() / 3)
            with self.lock:
                busy = bool(self.held)
            if not busy:
                continue
            try:
                self.renew_once()
                # Not held between rounds: a database restart meanwhile would leave it broken.
                connection.close()
            except Exception as exc:
                # The thread serves every job of this process: it lives on, and tries again at the next round.
                logger.error("job leases: not renewed (%s)", type(exc).__name__)

    def renew_once(self) -> int:
        """Move the lease of every job held on by a whole lease from now; return how many were renewed."""
        with self.lock:
            held = dict(self.held)
        renewed = 0
        for job_id, claim in held.items():
            try:
                renewed += Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, claim=claim).update(
                    lease_expires_at=timezone.now() + _lease()
                )
            except DatabaseError as exc:
                # The next renewal tries again; a lease that runs out meanwhile only means the job runs again.
                logger.warning("job %s: lease not renewed (%s)", job_id, type(exc).__name__)
        return renewed


_leases = _Leases()


@contextmanager
def _lease_kept(job_id: int, claim: str) -> Iterator[None]:
    """Renew the job's lease every third of it while the block runs: only a dead worker's job outlives its lease."""
    _leases.hold(job_id, claim)
    try:
        yield
    finally:
        _leases.release(job_id)


def _job_release(job: Job, claim: str, **values) -> bool:
    """Record the end of this run if the claim still holds; return False if the job was taken over.

    Written once per set of fields (``_release_statement``): every job ends here at least once.
    """
    values = {"updated_at": timezone.now(), **values, "claim": "", "lease_expires_at": None}
    names = tuple(values)
    params = [Job._meta.get_field(name).get_db_prep_save(values[name], connection) for name in names]
    with connection.cursor() as cursor:
        cursor.execute(_release_statement(names), [*params, job.pk, JobStatus.RUNNING, claim])
        return cursor.rowcount > 0


@functools.lru_cache(maxsize=32)
def _release_statement(names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(Job._meta.get_field(name).column)} = %s" for name in names)
    return f"UPDATE {quote(Job._meta.db_table)} SET {assignments} WHERE id = %s AND status = %s AND claim = %s"  # noqa: S608 (names)


def job_run(*, job_id: int, max_attempts: int, backoff: Callable[[int], float]) -> JobOutcome:
    """Claim the job, carry out its operation through the operation's runner, and record the result.

    A transient source error re-queues the job after ``backoff(attempts)`` seconds
    until ``max_attempts`` runs have failed; a permanent one fails it at once, and
    a failed job puts the request in "needs attention". A job done moves its plan on.
    """
    outcome = _job_run(job_id=job_id, max_attempts=max_attempts, backoff=backoff)
    if outcome.advance is not None:
        plan_advance(request_id=outcome.advance)
    return outcome


def jobs_run(*, job_ids: list[int], max_attempts: int, backoff: Callable[[int], float]) -> list[JobOutcome]:
    """Run these jobs one after another as ``job_run`` does, moving each plan on once, after the last of them.

    A job another worker has taken is skipped; one that fails or is to be retried does not stop the others.
    """
    outcomes: list[JobOutcome] = []
    read: list = []
    # The run's jobs are one stage's of one request, as a rule: its request and plan are read once for all.
    requests: dict[int, Request] = {}

    def datamap_once() -> DataMap | None:
        # The active map is read once for the whole run, not once per job.
        if not read:
            read.append(datamap_current())
        return read[0]

    try:
        for job_id in job_ids:
            outcomes.append(
                _job_run(
                    job_id=job_id,
                    max_attempts=max_attempts,
                    backoff=backoff,
                    datamap_read=datamap_once,
                    requests=requests,
                )
            )
    finally:
        # Also when a job could not even be recorded (the database went away): the ones done still count.
        for request_id in dict.fromkeys(outcome.advance for outcome in outcomes if outcome.advance is not None):
            plan_advance(request_id=request_id)
    return outcomes


def _job_run(
    *,
    job_id: int,
    max_attempts: int,
    backoff: Callable[[int], float],
    datamap_read: Callable[[], DataMap | None] | None = None,
    requests: dict[int, Request] | None = None,
) -> JobOutcome:
    job = job_take(job_id=job_id)
    if job is None:
        return JobOutcome("skipped")
    claim = job.claim
    job.request = request = _request_of(job, requests if requests is not None else {})
    if request.status in CLOSED_STATUSES and job.operation not in RUN_AFTER_CLOSE:
        _job_release(job, claim, status=JobStatus.CANCELLED, finished_at=timezone.now())
        return JobOutcome(JobStatus.CANCELLED)
    try:
        datamap = (datamap_read or datamap_current)()
        if datamap is None:
            raise SourcePermanentError(job.source_key or "dsr", "no data map is loaded")
        with _lease_kept(job.pk, claim):
            step = runner_for(job.operation)(JobContext(job=job, request=request, plan=request.plan, datamap=datamap))
    except SourceError as exc:
        error = str(exc)[:500]
        if exc.permanent or job.attempts >= max_attempts:
            logger.warning("job %s (%s) failed for good after %s attempts", job.pk, job.operation, job.attempts)
            _job_fail(job, claim, error)
            return JobOutcome(JobStatus.FAILED)
        delay = backoff(job.attempts)
        not_before = timezone.now() + timedelta(seconds=delay)
        with transaction.atomic():
            if _job_release(job, claim, status=JobStatus.QUEUED, last_error=error, not_before=not_before):
                _job_reported(job)
        logger.info("job %s (%s): transient error, retrying in %ss", job.pk, job.operation, delay)
        return JobOutcome(JobStatus.QUEUED, retry_in=delay)
    except Exception as exc:
        # A defect, not a source problem: fail it for staff; the message may hold data, so only the type is kept.
        logger.error("job %s (%s) raised %s", job.pk, job.operation, type(exc).__name__)
        _job_fail(job, claim, f"internal error: {type(exc).__name__}")
        return JobOutcome(JobStatus.FAILED)
    now = timezone.now()
    values = {"status": step.status, "result": step.result, "counts": step.counts, "last_error": ""}
    if step.status == JobStatus.DONE:
        values["finished_at"] = now
    else:
        values["not_before"] = now + _poll()
    with transaction.atomic():
        # The result and its audit event are recorded together, or neither is.
        if not _job_release(job, claim, **values):
            return JobOutcome("superseded")
        # Before the audit event: the right may lock the request row, which every service takes before the audit's.
        _job_reported(job)
        audit_record(
            actor=SYSTEM,
            action=AuditAction.JOB_DONE if step.status == JobStatus.DONE else AuditAction.JOB_WAITING,
            request=request,
            data={"job": job.pk, "source": job.source_key, "operation": job.operation, "counts": step.counts},
        )
    return JobOutcome(step.status, advance=request.pk if step.status == JobStatus.DONE else None)


def _request_of(job: Job, requests: dict[int, Request]) -> Request:
    """Return the job's request with its plan, read once per run of jobs (``requests``), with its status as claimed.

    Only the status can have changed since the run began in a way a job must heed (the request closed); the
    claim read it. The person's identifiers on the plan are settled before any job but the resolution runs.
    """
    request = requests.get(job.request_id)
    if request is None:
        request = request_read(job.request_id)
        if request is None:
            raise Request.DoesNotExist(f"request {job.request_id} of job {job.pk}")
        requests[job.request_id] = request
    request.status = job.request_status
    return request


def _job_fail(job: Job, claim: str, error: str) -> None:
    with transaction.atomic():
        if _job_release(job, claim, status=JobStatus.FAILED, last_error=error, finished_at=timezone.now()):
            job_failed(job=job)
            _job_reported(job)


def _job_reported(job: Job) -> None:
    """Tell the request's right that a run of ``job`` came to an answer (in the transaction recording it)."""
    try:
        handler = handler_for(job.request.right)
    except KeyError:
        return
    handler.job_reported(job)


def job_failed(*, job: Job) -> None:
    """Put the request in "needs attention" because ``job`` failed for good, and say so to webhooks."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=job.request_id)
        Plan.objects.filter(request=request).exclude(stage=PlanStage.CLOSED).update(stage=PlanStage.NEEDS_ATTENTION)
        data = {"job": job.pk, "source": job.source_key, "operation": job.operation}
        audit_record(actor=SYSTEM, action=AuditAction.JOB_FAILED, request=request, data=data)
        webhook_event_emit(event_type=WebhookEvent.JOB_FAILED, request=request, data=data)
        workflow.request_job_failed(request=request, job_id=job.pk, actor=SYSTEM)


def _stage_of_jobs(request: Request) -> str:
    operations = set(request.jobs.values_list("operation", flat=True))
    if Operation.BUNDLE in operations:
        return PlanStage.COLLECTED
    if operations - {Operation.RESOLVE, Operation.ERASURE_PLAN, Operation.RECTIFICATION_PLAN}:
        return PlanStage.RUNNING
    if operations & {Operation.ERASURE_PLAN, Operation.RECTIFICATION_PLAN}:
        return PlanStage.PLANNING
    return PlanStage.RESOLVING


def job_retry(*, job: Job, actor: Actor) -> Job:
    """Run a failed job again from its first attempt; the request goes back to work when nothing else failed."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=job.request_id)
        job = Job.objects.get(pk=job.pk)
        if job.status != JobStatus.FAILED:
            raise TransitionError(
                _("Only a failed job can be retried; this one is %(status)s.")
                % {"status": job.get_status_display().lower()}
            )
        if request.status in CLOSED_STATUSES:
            raise TransitionError(_("Request %(reference)s is closed.") % {"reference": request.reference})
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, attempts=0, not_before=None, finished_at=None, updated_at=timezone.now()
        )
        # A task its owner could not do is asked again.
        tasks_reopen(request=request, source_key=job.source_key, operation=job.operation)
        audit_record(
            actor=actor,
            action=AuditAction.JOB_RETRIED,
            request=request,
            data={"job": job.pk, "source": job.source_key, "operation": job.operation},
        )
        if not request.jobs.filter(status=JobStatus.FAILED).exists():
            Plan.objects.filter(request=request).update(stage=_stage_of_jobs(request))
            workflow.request_job_retried(request=request, job_id=job.pk, actor=actor)
        jobs_dispatch_on_commit([job.pk])
    job.refresh_from_db()
    return job


# --- Identity resolution: the one operation every right starts with ----------------------------


def _run_resolve(ctx: JobContext) -> Step:
    """Find the person in every source from what they gave us, discovering more identifiers on the way."""
    request, plan, datamap = ctx.request, ctx.plan, ctx.datamap
    given = {"email": [request.email], "phone": [request.phone], "customer_number": [request.customer_number]}
    connectors = [connector_get(key, datamap) for key in datamap.sources]
    resolution = identities_resolve_detailed(connectors, identifiers_normalise(given))
    # One source down must not stop the others: its own jobs will fail or retry and say so.
    consents: set[str] = set()
    errors = dict(resolution.errors)
    for connector in connectors:
        if connector.key in errors:
            continue
        try:
            consents |= connector.consents_recorded(resolution.identifiers)
        except SourceError as exc:
            errors[connector.key] = exc.problem[:200]
    plan.identifiers = {kind: sorted(values) for kind, values in resolution.identifiers.items()}
    plan.held_identifiers = {
        key: {kind: sorted(values) for kind, values in held.items()} for key, held in resolution.by_source.items()
    }
    plan.consents = sorted(consents)
    plan.resolution_errors = errors
    plan.save(update_fields=["identifiers", "held_identifiers", "consents", "resolution_errors", "updated_at"])
    counts = {kind: len(values) for kind, values in resolution.identifiers.items()}
    return Step(JobStatus.DONE, {"rounds": resolution.rounds, "errors": sorted(resolution.errors)}, counts)


runner_register(Operation.RESOLVE, _run_resolve)

"""Plans per right, fan-out of per-source jobs, claiming, completion and recovery.

A verified request gets a Plan; the plan becomes Jobs, one per source and
operation, stored in the database. Workers claim a job by compare-and-set on
its status (``UPDATE ... WHERE status = 'queued'``), so one job never runs
twice at the same time; the broker only carries "go" signals, and the
reconciler re-sends them for jobs that made no progress. See
docs/decisions/0008-jobs.md.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import workflow
from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap
from dsr.exports.staging import records_stage
from dsr.models import (
    CLOSED_STATUSES,
    JOB_FINISHED,
    BundleStatus,
    DataMapVersion,
    Job,
    Operation,
    JobStatus,
    ManualTaskStatus,
    ObjectionScope,
    Plan,
    PlanStage,
    Request,
    Right,
    Status,
)
from dsr.recipients import recipients_notify
from dsr.restrictions import OBJECTION_DIRECT_MARKETING, OBJECTION_UPHELD, restrictions_record
from dsr.sources import base
from dsr.sources.base import Connector, ErasurePlan, SourceError, SourcePermanentError
from dsr.sources.manual import manual_task_create
from dsr.sources.registry import connector_for
from dsr.sources.resolution import identifiers_normalise, identities_resolve_detailed
from dsr.suppression import SuppressionReason, suppression_add
from dsr.workflow import TransitionError

logger = logging.getLogger(__name__)

SYSTEM = Actor.system()
# Stages in which the plan waits for its jobs; the reconciler advances a plan stuck in one.
_WORKING_STAGES = (PlanStage.RESOLVING, PlanStage.PLANNING, PlanStage.RUNNING, PlanStage.COLLECTED)
# The connector capability each operation needs, and the manual task it becomes otherwise.
_CAPABILITY = {
    Operation.ACCESS: base.ACCESS,
    Operation.ERASURE_PLAN: base.ERASURE,
    Operation.ERASURE: base.ERASURE,
    Operation.RECTIFICATION: base.RECTIFICATION,
    Operation.RESTRICTION: base.RESTRICTION,
    Operation.RESTRICTION_LIFT: base.RESTRICTION,
    Operation.CONSENT_WITHDRAWAL: base.CONSENT_WITHDRAWAL,
}
_MANUAL_OPERATION = {
    Operation.ACCESS: "access",
    Operation.ERASURE: "erasure",
    Operation.RECTIFICATION: "rectification",
    Operation.RESTRICTION: "restriction",
    Operation.RESTRICTION_LIFT: "restriction_lift",
    Operation.CONSENT_WITHDRAWAL: "consent_withdrawal",
}
# The jobs that wait for a manual task of each kind (dsr.sources.manual wakes them on attestation).
MANUAL_JOB_OPERATIONS = {task: [operation] for operation, task in _MANUAL_OPERATION.items()}


# --- Settings --------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.DSR_JOB_LEASE_SECONDS)


def _poll() -> timedelta:
    return timedelta(seconds=settings.DSR_JOB_POLL_SECONDS)


def _grace() -> timedelta:
    return timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS)


# --- The active map and its connectors, kept per worker process -------------------------

# Building a connector is cheap, but a SQL connector reflects its tables on first use: a worker keeps the
# connectors of the active map version for a while instead of reflecting for every job.
_CONNECTORS_TTL_SECONDS = 600
_cache: dict = {"key": None, "at": 0.0, "datamap": None, "connectors": {}}


def _datamap() -> DataMap | None:
    """Return the active data map, cached per worker until the active version changes."""
    row = DataMapVersion.objects.filter(active=True).values_list("pk", "sha256").first()
    if row is None:
        return None
    if _cache["key"] != row or time.monotonic() - _cache["at"] > _CONNECTORS_TTL_SECONDS:
        snapshot = DataMapVersion.objects.values_list("snapshot", flat=True).get(pk=row[0])
        _cache.update(key=row, at=time.monotonic(), datamap=DataMap(snapshot), connectors={})
    return _cache["datamap"]


def _connector(key: str, datamap: DataMap) -> Connector:
    """Return the connector of ``key`` in ``datamap``, reusing this process's instance for the active map."""
    if datamap is not _cache["datamap"]:
        return connector_for(key, datamap)
    connectors = _cache["connectors"]
    if key not in connectors:
        connectors[key] = connector_for(key, datamap)
    return connectors[key]


# --- Dispatch ----------------------------------------------------------------------


def jobs_dispatch_on_commit(job_ids: list[int]) -> None:
    """Send a "go" signal for each job once the transaction that created or re-queued it commits."""
    from dsr import tasks  # the tasks call this module's services

    for job_id in job_ids:
        transaction.on_commit(lambda job_id=job_id: tasks.job_run.delay(job_id))


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


def plan_start_on_commit(request: Request) -> None:
    """Start (or resume) the request's work once the current transaction commits."""
    from dsr import tasks

    transaction.on_commit(lambda: tasks.plan_start.delay(request.pk))


def _jobs_create(request: Request, specs: list[tuple[str, str, dict]]) -> list[int]:
    """Create the jobs (source, operation, input) that do not exist yet; return the new ids and dispatch them."""
    ids = []
    for source_key, operation, plan in specs:
        job, created = Job.objects.get_or_create(
            request=request, source_key=source_key, operation=operation, defaults={"plan": plan}
        )
        if created:
            ids.append(job.pk)
    jobs_dispatch_on_commit(ids)
    return ids


# --- Starting a plan ---------------------------------------------------------------


def plan_start(*, request_id: int) -> Plan | None:
    """Create the request's plan and its identity-resolution job; on a later call, resume where it stands."""
    with transaction.atomic():
        request = Request.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.status != Status.IN_PROGRESS:
            return None
        plan, created = Plan.objects.get_or_create(request=request)
        if not created:
            queued = list(request.jobs.filter(status=JobStatus.QUEUED).values_list("pk", flat=True))
            jobs_dispatch_on_commit(queued)
            transaction.on_commit(lambda: plan_advance(request_id=request_id))
            return plan
        datamap = _datamap()
        if datamap is None:
            # Nothing to ask: the privacy team handles the request by hand (the stage says so on the request).
            plan.stage = PlanStage.UNMAPPED
            plan.save(update_fields=["stage", "updated_at"])
            audit_record(actor=SYSTEM, action="plan.unmapped", request=request, data={})
            return plan
        audit_record(actor=SYSTEM, action="plan.created", request=request, data={"right": request.right})
        _jobs_create(request, [("", Operation.RESOLVE, {})])
    return plan


# --- Running one job ---------------------------------------------------------------


@dataclass
class JobOutcome:
    """What a run of a job came to; ``retry_in`` is the backoff in seconds for a transient error."""

    status: str
    retry_in: float | None = None


@dataclass
class _Step:
    status: str  # JobStatus.DONE or JobStatus.WAITING
    result: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


def job_claim(*, job_id: int, now: datetime | None = None) -> str | None:
    """Take a queued job for this worker by compare-and-set; return the claim, or None if another has it."""
    now = now or timezone.now()
    claim = uuid.uuid4().hex
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
    return claim if taken else None


def _job_release(job: Job, claim: str, **values) -> bool:
    """Record the end of this run if the claim still holds; return False if the job was taken over."""
    values.setdefault("updated_at", timezone.now())
    return bool(
        Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, claim=claim).update(
            claim="", lease_expires_at=None, **values
        )
    )


def job_run(*, job_id: int, max_attempts: int, backoff: Callable[[int], float]) -> JobOutcome:
    """Claim the job, carry out its operation on its source, and record the result.

    A transient source error re-queues the job after ``backoff(attempts)`` seconds
    until ``max_attempts`` runs have failed; a permanent one fails it at once, and
    a failed job puts the request in "needs attention".
    """
    claim = job_claim(job_id=job_id)
    if claim is None:
        return JobOutcome("skipped")
    job = Job.objects.select_related("request").get(pk=job_id)
    request = job.request
    if request.status in CLOSED_STATUSES and job.operation != Operation.RESTRICTION_LIFT:
        _job_release(job, claim, status=JobStatus.CANCELLED, finished_at=timezone.now())
        return JobOutcome(JobStatus.CANCELLED)
    try:
        datamap = _datamap()
        if datamap is None:
            raise SourcePermanentError(job.source_key or "dsr", "no data map is loaded")
        step = _RUNNERS[job.operation](job, request, request.plan, datamap)
    except SourceError as exc:
        error = str(exc)[:500]
        if exc.permanent or job.attempts >= max_attempts:
            logger.warning("job %s (%s) failed for good after %s attempts", job.pk, job.operation, job.attempts)
            _job_fail(job, claim, error)
            return JobOutcome(JobStatus.FAILED)
        delay = backoff(job.attempts)
        not_before = timezone.now() + timedelta(seconds=delay)
        _job_release(job, claim, status=JobStatus.QUEUED, last_error=error, not_before=not_before)
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
        audit_record(
            actor=SYSTEM,
            action=f"job.{step.status}",
            request=request,
            data={"job": job.pk, "source": job.source_key, "operation": job.operation, "counts": step.counts},
        )
    if step.status == JobStatus.DONE:
        plan_advance(request_id=request.pk)
    return JobOutcome(step.status)


def _job_fail(job: Job, claim: str, error: str) -> None:
    with transaction.atomic():
        if _job_release(job, claim, status=JobStatus.FAILED, last_error=error, finished_at=timezone.now()):
            job_failed(job=job)


def job_failed(*, job: Job) -> None:
    """Put the request in "needs attention" because ``job`` failed for good."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=job.request_id)
        Plan.objects.filter(request=request).exclude(stage=PlanStage.CLOSED).update(stage=PlanStage.NEEDS_ATTENTION)
        audit_record(
            actor=SYSTEM,
            action="job.failed",
            request=request,
            data={"job": job.pk, "source": job.source_key, "operation": job.operation},
        )
        if workflow.transition_allowed(request, "job_fail"):
            request.status = Status.NEEDS_ATTENTION
            request.save(update_fields=["status", "updated_at"])
            audit_record(actor=SYSTEM, action="request.needs_attention", request=request, data={"job": job.pk})


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
        audit_record(
            actor=actor,
            action="job.retried",
            request=request,
            data={"job": job.pk, "source": job.source_key, "operation": job.operation},
        )
        if not request.jobs.filter(status=JobStatus.FAILED).exists():
            Plan.objects.filter(request=request).update(stage=_stage_of_jobs(request))
            if workflow.transition_allowed(request, "job_retry"):
                request.status = Status.IN_PROGRESS
                request.save(update_fields=["status", "updated_at"])
                audit_record(actor=actor, action="request.back_in_progress", request=request, data={"job": job.pk})
        jobs_dispatch_on_commit([job.pk])
    job.refresh_from_db()
    return job


def _transition_require(request: Request, name: str) -> None:
    if not workflow.transition_allowed(request, name):
        raise TransitionError(
            _("Cannot %(action)s request %(reference)s: it is %(status)s.")
            % {
                "action": workflow.TRANSITIONS[name].label,
                "reference": request.reference,
                "status": request.get_status_display().lower(),
            }
        )


def _stage_of_jobs(request: Request) -> str:
    operations = set(request.jobs.values_list("operation", flat=True))
    if Operation.BUNDLE in operations:
        return PlanStage.COLLECTED
    if operations - {Operation.RESOLVE, Operation.ERASURE_PLAN}:
        return PlanStage.RUNNING
    if Operation.ERASURE_PLAN in operations:
        return PlanStage.PLANNING
    return PlanStage.RESOLVING


# --- The operations ------------------------------------------------------------------


def _identifiers(plan: Plan) -> dict[str, set[str]]:
    return {kind: set(values) for kind, values in plan.identifiers.items()}


def _manual_step(request: Request, spec: dict) -> _Step:
    """Create the owner's task once; the job is done when the owner has attested it."""
    task = manual_task_create(request=request, spec=spec, actor=SYSTEM)
    if task.status == ManualTaskStatus.CANCELLED:
        raise SourcePermanentError(spec["source"], "the manual task was cancelled")
    result = {"task": task.pk, "owner": task.owner}
    if task.status == ManualTaskStatus.DONE:
        return _Step(JobStatus.DONE, result, {"tasks": 1})
    return _Step(JobStatus.WAITING, result, {"tasks": 1})


def _fallback_spec(datamap: DataMap, source_key: str, operation: str) -> dict:
    """Return a task for the privacy team where a source cannot do ``operation`` itself."""
    name = datamap.sources[source_key]["name"]
    texts = {
        "restriction": (
            "Markér personens data i {name} som begrænset (databeskyttelsesforordningens artikel 18), "
            "eller bed leverandøren om det, og bekræft hvordan.",
            "Mark the person's data in {name} as restricted (GDPR Art. 18), or ask the supplier to, and confirm how.",
        ),
        "restriction_lift": (
            "Ophæv begrænsningen af personens data i {name} og bekræft det.",
            "Lift the restriction of the person's data in {name} and confirm it.",
        ),
        "consent_withdrawal": (
            "Registrér i {name}, at personen har trukket sit samtykke tilbage, og bekræft det.",
            "Record in {name} that the person has withdrawn their consent, and confirm it.",
        ),
        "rectification": (
            "Ret personens oplysninger i {name} som anmodet og bekræft det.",
            "Correct the person's data in {name} as requested and confirm it.",
        ),
    }
    da, en = texts[operation]
    return {
        "source": source_key,
        "operation": operation,
        "owner": datamap.controller.get("dpo_email") or datamap.controller["email"],
        "instructions": {"da": da.format(name=name), "en": en.format(name=name)},
    }


def _run_resolve(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    given = {"email": [request.email], "phone": [request.phone], "customer_number": [request.customer_number]}
    connectors = [_connector(key, datamap) for key in datamap.sources]
    resolution = identities_resolve_detailed(connectors, identifiers_normalise(given))
    # One source down must not stop the others: its own jobs will fail or retry and say so.
    plan.identifiers = {kind: sorted(values) for kind, values in resolution.identifiers.items()}
    plan.resolution_errors = resolution.errors
    plan.save(update_fields=["identifiers", "resolution_errors", "updated_at"])
    counts = {kind: len(values) for kind, values in resolution.identifiers.items()}
    return _Step(JobStatus.DONE, {"rounds": resolution.rounds, "errors": sorted(resolution.errors)}, counts)


def _run_collect(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    connector = _connector(job.source_key, datamap)
    if connector.kind == "manual":
        return _manual_step(request, connector.task_spec(base.ACCESS))
    # Streamed into sealed per-table files in bundle storage; the bundle job builds the ZIP from them.
    try:
        result = records_stage(
            connector.records(_identifiers(plan), reference=request.reference),
            request_id=request.pk,
            source_key=job.source_key,
            # GDPR Art. 20(1): only data the person provided, including observed activity.
            provided_only=request.right == Right.PORTABILITY,
        )
    except OSError as exc:
        raise base.SourceTransientError(
            "bundle storage", f"could not store the records ({type(exc).__name__})"
        ) from None
    return _Step(JobStatus.DONE, result, {"records": result["records"], "provided": result["provided"]})


def _run_bundle(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    from dsr.exports.bundle import bundle_build
    from dsr.exports.delivery import bundle_discard

    # A run that died before recording its result left a bundle behind: it is replaced.
    for earlier in request.bundles.filter(status=BundleStatus.BUILDING):
        bundle_discard(bundle=earlier, actor=SYSTEM)
    try:
        bundle = bundle_build(request=request, datamap=datamap)
    except OSError as exc:
        raise base.SourceTransientError(
            "bundle storage", f"could not build the bundle ({type(exc).__name__})"
        ) from None
    result = {"bundle": bundle.pk, "files": bundle.files, "bytes": bundle.plain_size, "records": bundle.records}
    return _Step(JobStatus.DONE, result, {"files": bundle.files, "records": bundle.records})


def _run_erasure_plan(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    connector = _connector(job.source_key, datamap)
    erasure_plan = connector.erasure_plan(_identifiers(plan), reference=request.reference)
    return _Step(JobStatus.DONE, erasure_plan.to_dict(), erasure_plan.counts())


def _run_erasure(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    connector = _connector(job.source_key, datamap)
    erasure_plan = ErasurePlan.from_dict(job.plan)
    if connector.kind == "manual":
        step = _manual_step(request, erasure_plan.extra["task"])
        step.result["tables"] = erasure_plan.to_dict()["tables"]
        return step
    result = connector.erasure_execute(erasure_plan)
    counts: dict[str, int] = {}
    for table in result.tables:
        counts[table.action] = counts.get(table.action, 0) + table.changed
    return _Step(JobStatus.DONE if result.complete else JobStatus.WAITING, result.to_dict(), counts)


def _run_change(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    connector = _connector(job.source_key, datamap)
    operation = _MANUAL_OPERATION[job.operation]
    if connector.kind == "manual" and operation in connector.capabilities():
        return _manual_step(request, connector.task_spec(operation))
    if connector.kind == "manual" or _CAPABILITY[job.operation] not in connector.capabilities():
        return _manual_step(request, _fallback_spec(datamap, job.source_key, operation))
    identifiers = _identifiers(plan)
    if job.operation == Operation.RECTIFICATION:
        result = connector.rectify(identifiers, job.plan["corrections"], reference=request.reference)
    elif job.operation in (Operation.RESTRICTION, Operation.RESTRICTION_LIFT):
        restricted = job.operation == Operation.RESTRICTION
        result = connector.restrict(
            identifiers, restricted=restricted, purpose=job.plan.get("purpose"), reference=request.reference
        )
    else:
        result = connector.consent_withdraw(identifiers, job.plan["consents"], reference=request.reference)
    step = _Step(JobStatus.DONE if result.complete else JobStatus.WAITING, result.to_dict(), {"rows": result.rows})
    if result.not_applicable:
        step.counts["not_applicable"] = len(result.not_applicable)
    return step


def _run_audience_remove(job: Job, request: Request, plan: Plan, datamap: DataMap) -> _Step:
    # GDPR Art. 21(3): an ad partner is asked to drop the person from its audiences, with no plan to approve.
    connector = _connector(job.source_key, datamap)
    erasure_plan = connector.erasure_plan(_identifiers(plan), reference=f"{request.reference}:{job.operation}")
    result = connector.erasure_execute(erasure_plan)
    return _Step(JobStatus.DONE if result.complete else JobStatus.WAITING, result.to_dict(), {"requests": 1})


_RUNNERS: dict[str, Callable[[Job, Request, Plan, DataMap], _Step]] = {
    Operation.RESOLVE: _run_resolve,
    Operation.BUNDLE: _run_bundle,
    Operation.ACCESS: _run_collect,
    Operation.ERASURE_PLAN: _run_erasure_plan,
    Operation.ERASURE: _run_erasure,
    Operation.RECTIFICATION: _run_change,
    Operation.RESTRICTION: _run_change,
    Operation.RESTRICTION_LIFT: _run_change,
    Operation.CONSENT_WITHDRAWAL: _run_change,
    Operation.AUDIENCE_REMOVAL: _run_audience_remove,
}


# --- Plans per right -----------------------------------------------------------------


def marketing_purposes(datamap: DataMap) -> list[str]:
    """Return the purposes that are direct marketing: DSR_MARKETING_PURPOSES, else those with marketing data."""
    if settings.DSR_MARKETING_PURPOSES:
        return [key for key in settings.DSR_MARKETING_PURPOSES if key in datamap.purposes]
    return [key for key, purpose in datamap.purposes.items() if "marketing" in purpose["categories"]]


def _capable(datamap: DataMap, capability: str) -> list[str]:
    """Return the sources whose connector can do ``capability`` (manual ones: those with instructions for it)."""
    return [key for key in datamap.sources if capability in _connector(key, datamap).capabilities()]


def _consent_specs(datamap: DataMap, consents: list[str]) -> list:
    """Return the jobs that withdraw ``consents`` in every source holding them (GDPR Art. 7(3))."""
    purposes = {key for key, purpose in datamap.purposes.items() if purpose["consent_key"] in consents}
    specs = []
    for key, source in datamap.sources.items():
        holds = bool(purposes.intersection(source["purposes"]))
        capabilities = _connector(key, datamap).capabilities()
        if source["kind"] == "http":
            if holds and base.ERASURE in capabilities:
                specs.append((key, Operation.AUDIENCE_REMOVAL, {"consents": consents}))
        elif base.CONSENT_WITHDRAWAL in capabilities and (source["kind"] != "manual" or holds):
            specs.append((key, Operation.CONSENT_WITHDRAWAL, {"consents": consents}))
    return specs


def _fan_out(request: Request, plan: Plan, datamap: DataMap) -> None:
    """Create the right's jobs once the person's identifiers are known."""
    right = request.right
    identifiers = plan.identifiers
    if right in (Right.ACCESS, Right.PORTABILITY):
        sources = _capable(datamap, base.ACCESS)
        if right == Right.PORTABILITY:
            # GDPR Art. 20(1)(a): only processing based on consent or on a contract.
            sources = [
                key
                for key in sources
                if any({"a", "b"} & set(datamap.purposes[p]["legal_basis"]) for p in datamap.sources[key]["purposes"])
            ]
        _jobs_create(request, [(key, Operation.ACCESS, {}) for key in sources])
        plan.stage = PlanStage.RUNNING
    elif right == Right.ERASURE:
        _jobs_create(request, [(key, Operation.ERASURE_PLAN, {}) for key in _capable(datamap, base.ERASURE)])
        plan.stage = PlanStage.PLANNING
    elif right == Right.RECTIFICATION:
        # GDPR Art. 16: staff review the corrections before any source is changed.
        _plan_await(request, plan, stage=PlanStage.AWAITING_APPROVAL)
    elif right == Right.RESTRICTION:
        restrictions_record(request=request, identifiers=identifiers, ground=request.details.get("ground", ""))
        _jobs_create(request, [(key, Operation.RESTRICTION, {}) for key in datamap.sources])
        plan.stage = PlanStage.RUNNING
    elif right == Right.OBJECTION and request.details.get("scope") == ObjectionScope.DIRECT_MARKETING:
        # GDPR Art. 21(3): absolute and immediate; no balancing.
        purposes = marketing_purposes(datamap)
        consents = sorted({datamap.purposes[p]["consent_key"] for p in purposes} - {""})
        restrictions_record(
            request=request, identifiers=identifiers, ground=OBJECTION_DIRECT_MARKETING, purposes=purposes
        )
        suppression_add(request=request, identifiers=identifiers, reason=SuppressionReason.OBJECTION)
        specs = _consent_specs(datamap, consents)
        for key, source in datamap.sources.items():
            if (
                source["kind"] == "http"
                and set(purposes) & set(source["purposes"])
                and key not in {s[0] for s in specs}
            ):
                specs.append((key, Operation.AUDIENCE_REMOVAL, {}))
        _jobs_create(request, specs)
        plan.stage = PlanStage.RUNNING
    elif right == Right.OBJECTION:
        # GDPR Art. 18(1)(d): processing for the objected purposes is restricted while staff balance.
        restrictions_record(
            request=request,
            identifiers=identifiers,
            ground="objection_pending",
            purposes=_objection_purposes(request, datamap),
        )
        _plan_await(request, plan, stage=PlanStage.AWAITING_DECISION)
    elif right == Right.CONSENT_WITHDRAWAL:
        _jobs_create(request, _consent_specs(datamap, list(request.details.get("consents", []))))
        plan.stage = PlanStage.RUNNING
    plan.save(update_fields=["stage", "updated_at"])


def _objection_purposes(request: Request, datamap: DataMap) -> list[str]:
    if request.details.get("scope") == ObjectionScope.PROFILING:
        return [key for key, purpose in datamap.purposes.items() if purpose["profiling"]] or [""]
    return [request.details.get("purpose", "")[:64]]


def _plan_await(request: Request, plan: Plan, *, stage: str) -> None:
    plan.stage = stage
    if workflow.transition_allowed(request, "plan_await"):
        request.status = Status.AWAITING_APPROVAL
        request.save(update_fields=["status", "updated_at"])
    audit_record(actor=SYSTEM, action="plan.awaiting_staff", request=request, data={"stage": stage})


def plan_advance(*, request_id: int) -> str | None:
    """Move the plan on when the jobs of its current step are finished; return the new stage."""
    with transaction.atomic():
        # The first statement writes, so concurrent calls queue here (row lock; SQLite's write lock).
        if not Plan.objects.filter(request_id=request_id).update(updated_at=timezone.now()):
            return None
        request = Request.objects.select_for_update().get(pk=request_id)
        plan = Plan.objects.get(request=request)
        if plan.stage not in _WORKING_STAGES:
            return plan.stage
        statuses = set(request.jobs.exclude(operation=Operation.RESTRICTION_LIFT).values_list("status", flat=True))
        if statuses - set(JOB_FINISHED):
            return plan.stage
        if JobStatus.FAILED in statuses:
            return plan.stage  # job_failed has put the request in "needs attention"
        if request.status in CLOSED_STATUSES:
            _plan_close(plan)
            return plan.stage
        datamap = _datamap()
        if datamap is None:
            return plan.stage
        if plan.stage == PlanStage.RESOLVING:
            _fan_out(request, plan, datamap)
            if plan.stage in _WORKING_STAGES and not request.jobs.exclude(operation=Operation.RESOLVE).exists():
                transaction.on_commit(lambda: plan_advance(request_id=request_id))
        elif plan.stage == PlanStage.PLANNING:
            if settings.DSR_ERASURE_AUTO_APPROVE:
                _plan_approve(request, plan, actor=SYSTEM)
            else:
                _plan_await(request, plan, stage=PlanStage.AWAITING_APPROVAL)
                plan.save(update_fields=["stage", "updated_at"])
        elif plan.stage == PlanStage.RUNNING and request.status == Status.IN_PROGRESS:
            _plan_finish(request, plan, datamap)
        elif plan.stage == PlanStage.COLLECTED and request.status == Status.IN_PROGRESS:
            _bundle_deliver(request, plan)
        return plan.stage


def _plan_approve(request: Request, plan: Plan, *, actor: Actor) -> None:
    if request.right == Right.ERASURE:
        specs = [
            (job.source_key, Operation.ERASURE, job.result)
            for job in request.jobs.filter(operation=Operation.ERASURE_PLAN, status=JobStatus.DONE)
        ]
    else:
        corrections = request.details.get("corrections", [])
        specs = [(key, Operation.RECTIFICATION, {"corrections": corrections}) for key in _datamap().sources]
    plan.stage = PlanStage.RUNNING
    plan.approved_at = timezone.now()
    plan.approved_by = f"{actor.type}:{actor.id}"[:160]
    plan.save(update_fields=["stage", "approved_at", "approved_by", "updated_at"])
    audit_record(actor=actor, action="plan.approved", request=request, data={"jobs": len(specs)})
    _jobs_create(request, specs)
    if not specs:
        transaction.on_commit(lambda: plan_advance(request_id=request.pk))


def request_plan_approve(*, request: Request, actor: Actor) -> Request:
    """Approve the erasure plan or the corrections awaiting staff, and carry them out."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        _transition_require(request, "plan_approve")
        plan = Plan.objects.get(request=request)
        if plan.stage != PlanStage.AWAITING_APPROVAL:
            raise TransitionError(
                _("Request %(reference)s has no plan waiting for approval.") % {"reference": request.reference}
            )
        request.status = Status.IN_PROGRESS
        request.save(update_fields=["status", "updated_at"])
        _plan_approve(request, plan, actor=actor)
    return request


def objection_decide(*, request: Request, upheld: bool, reasons: str, actor: Actor) -> Request:
    """Record the balancing of an objection (GDPR Art. 21(1)) and close the request with its reasons.

    Upheld: processing for the objected purposes stops for good. Not upheld: the
    interim restriction is lifted and the requester gets the reasons, with the
    right to complain (Art. 12(4)).
    """
    reasons = (reasons or "").strip()
    if not reasons:
        raise workflow.RequestInvalid({"reasons": [_("Give the reasons for the balancing decision.")]})
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        _transition_require(request, "objection_decide")
        plan = Plan.objects.get(request=request)
        if plan.stage != PlanStage.AWAITING_DECISION:
            raise TransitionError(
                _("Request %(reference)s is not waiting for a balancing decision.") % {"reference": request.reference}
            )
        now = timezone.now()
        pending = request.restrictions.filter(ground="objection_pending", lifted_at__isnull=True)
        purposes = sorted(set(pending.values_list("purpose", flat=True)))
        pending.update(subject_told_at=now, lifted_at=now)
        if upheld:
            restrictions_record(
                request=request, identifiers=plan.identifiers, ground=OBJECTION_UPHELD, purposes=purposes
            )
        plan.decision = "upheld" if upheld else "rejected"
        plan.decision_reasons = reasons
        plan.stage = PlanStage.DONE
        plan.identifiers = {}
        plan.save(update_fields=["decision", "decision_reasons", "stage", "identifiers", "updated_at"])
        audit_record(actor=actor, action="objection.decided", request=request, data={"upheld": upheld})
        request.status = Status.IN_PROGRESS
        request.save(update_fields=["status", "updated_at"])
        if upheld:
            workflow.request_complete(request=request, actor=actor, reasons=reasons)
        else:
            workflow.request_refuse(request=request, ground="other", reasons=reasons, actor=actor)
    request.refresh_from_db()
    return request


def _plan_finish(request: Request, plan: Plan, datamap: DataMap) -> None:
    """Finish a plan whose jobs are all done: suppress, tell the recipients, hand over or complete."""
    if request.right in (Right.ACCESS, Right.PORTABILITY):
        plan.stage = PlanStage.COLLECTED
        plan.save(update_fields=["stage", "updated_at"])
        summary = collection_summary(request)
        audit_record(
            actor=SYSTEM,
            action="collection.done",
            request=request,
            data={"sources": len(summary["sources"]), "holding": len(summary["holding"])},
        )
        _jobs_create(request, [("", Operation.BUNDLE, {})])
        return
    _changes_announce(request, plan, datamap)
    plan.stage = PlanStage.DONE
    if request.right != Right.RESTRICTION:
        plan.identifiers = {}  # needed again only to lift a restriction
    plan.save(update_fields=["stage", "identifiers", "updated_at"])
    workflow.request_complete(request=request, actor=SYSTEM)


_NOTIFIED = {
    Right.ERASURE: Operation.ERASURE,
    Right.RECTIFICATION: Operation.RECTIFICATION,
    Right.RESTRICTION: Operation.RESTRICTION,
}


def _changes_announce(request: Request, plan: Plan, datamap: DataMap) -> None:
    """Suppress an erased person and tell the recipients of every source that was changed."""
    operation = _NOTIFIED.get(request.right)
    changed = list(request.jobs.filter(status=JobStatus.DONE, operation=operation).values_list("source_key", flat=True))
    if not changed:
        return
    if request.right == Right.ERASURE:
        # Marketing imports must not bring the person back (PRODUCT.md, erasure).
        suppression_add(request=request, identifiers=plan.identifiers, reason=SuppressionReason.ERASURE)
    # GDPR Art. 19: each recipient to whom the data was disclosed is told.
    recipients_notify(request=request, datamap=datamap, source_keys=changed, operation=operation)


def _plan_close(plan: Plan) -> None:
    from dsr.exports.delivery import bundle_discard
    from dsr.exports.staging import staging_sweep

    request = plan.request
    # An export not sent before the request closed is not kept (a released one lives until it expires).
    for bundle in request.bundles.filter(status__in=(BundleStatus.BUILDING, BundleStatus.REVIEW)):
        bundle_discard(bundle=bundle, actor=SYSTEM)
    request_id = request.pk
    transaction.on_commit(lambda: staging_sweep(request_id))
    datamap = _datamap()
    if request.status == Status.PARTIALLY_COMPLETED and plan.identifiers and datamap is not None:
        # Staff closed the request with parts not done: what was done is still announced.
        _changes_announce(request, plan, datamap)
    if plan.stage != PlanStage.DONE:
        plan.stage = PlanStage.CLOSED
    if not plan.request.restrictions.filter(lifted_at__isnull=True).exists():
        plan.identifiers = {}
    plan.save(update_fields=["stage", "identifiers", "updated_at"])


def restriction_lift_jobs_create(*, request: Request) -> list[int]:
    """Create the jobs that lift the request's restriction in every source (after the register entry is lifted)."""
    datamap = _datamap()
    if datamap is None:
        return []
    sources = list(request.jobs.filter(operation=Operation.RESTRICTION).values_list("source_key", flat=True))
    return _jobs_create(request, [(key, Operation.RESTRICTION_LIFT, {}) for key in sources if key in datamap.sources])


# --- Access and portability: the hand-off to the export bundle -------------------------


def collection_summary(request: Request) -> dict:
    """Return what collection found: records per source and table, and which sources hold data."""
    sources = {}
    for job in request.jobs.filter(operation=Operation.ACCESS).order_by("source_key"):
        sources[job.source_key] = {
            "status": job.status,
            "tables": job.result.get("tables", {}),
            "records": job.result.get("records", 0),
            "holds_data": job.result.get("holds_data", False),
            "manual_task": job.result.get("task"),
        }
    return {"sources": sources, "holding": sorted(k for k, v in sources.items() if v["holds_data"] or v["manual_task"])}


def _bundle_deliver(request: Request, plan: Plan) -> None:
    """Send the built bundle, or hold it for staff review (DSR_BUNDLE_REVIEW); drop what was staged."""
    from dsr.exports.delivery import bundle_discard, bundle_release, bundle_review_await
    from dsr.exports.staging import staging_sweep

    job = request.jobs.get(operation=Operation.BUNDLE)
    bundle = request.bundles.get(pk=job.result["bundle"])
    for other in request.bundles.filter(status=BundleStatus.BUILDING).exclude(pk=bundle.pk):
        bundle_discard(bundle=other, actor=SYSTEM)
    request_id = request.pk
    transaction.on_commit(lambda: staging_sweep(request_id))
    if settings.DSR_BUNDLE_REVIEW:
        bundle_review_await(bundle=bundle)
        plan.stage = PlanStage.REVIEW
    else:
        bundle_release(bundle=bundle, actor=SYSTEM)
        plan.stage = PlanStage.DONE


# --- Erasure confirmation ------------------------------------------------------------


def erasure_summary(request: Request, *, language: str = "en") -> dict | None:
    """Return what erasure did per source: erased, anonymised, and kept under which hold until when.

    GDPR Art. 17(3)(b), 12(1): the confirmation names the legal obligation and the date.
    """
    if request.right != Right.ERASURE:
        return None
    datamap = _datamap()
    holds = datamap.legal_holds if datamap else {}
    names = {key: source["name"] for key, source in (datamap.sources.items() if datamap else [])}
    erased, anonymised, kept, pending = [], [], [], []
    for job in request.jobs.filter(operation=Operation.ERASURE).order_by("source_key"):
        source = names.get(job.source_key, job.source_key)
        for table in job.plan.get("tables", []):
            entry = {"source": source, "table": table["table"], "count": table["count"]}
            if table["action"] == base.DELETE:
                erased.append(entry)
            elif table["action"] == base.ANONYMISE:
                anonymised.append(entry)
            elif table["action"] == base.KEEP and table["count"]:
                hold = holds.get(table["hold"], {})
                entry.update(
                    hold=(hold.get("name") or {}).get(language) or table["hold"],
                    law=table.get("hold_law") or hold.get("law", ""),
                    until=table.get("hold_until"),
                )
                kept.append(entry)
            elif job.status != JobStatus.DONE:
                pending.append(entry)
    return {"erased": erased, "anonymised": anonymised, "kept": kept, "pending": pending}


# --- Selectors ---------------------------------------------------------------------


def request_jobs(request: Request) -> list[Job]:
    """Return the request's jobs in the order they were planned (for the staff page)."""
    return list(request.jobs.order_by("id"))


def request_plan(request: Request) -> Plan | None:
    """Return the request's plan, or None before the work started."""
    return Plan.objects.filter(request=request).first()


# --- Recovery --------------------------------------------------------------------------


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

    A running job whose lease expired belonged to a worker that died (a running
    task is killed at CELERY_TASK_TIME_LIMIT, before its lease ends); it goes
    back to the queue by compare-and-set, so it never runs twice at once.
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
    for plan in Plan.objects.filter(stage__in=_WORKING_STAGES, updated_at__lte=now - _grace()).select_related(
        "request"
    ):
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
            operation=Operation.RESTRICTION_LIFT
        ).update(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
        if plan.request.jobs.exclude(status__in=JOB_FINISHED).exists():
            continue
        _plan_close(plan)
        done.closed += 1
    from dsr.recipients import recipient_notifications_sync

    recipient_notifications_sync()
    return done

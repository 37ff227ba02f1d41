"""A request's plan: started once verified, moved on by its right each time a stage's jobs are finished.

The first stage is the same for every right: identity resolution asks every
source for more identifiers of the person. Then the right's handler
(dsr.rights, through dsr.engine.registry) creates its jobs and decides each
next stage; the engine only notices when a stage is finished.
"""

import functools
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from dsr import rows
from dsr.audit import Actor, audit_record
from dsr.engine.connectors import datamap_current
from dsr.engine.dispatch import jobs_create, jobs_dispatch_on_commit
from dsr.engine.registry import PlanContext, handler_for
from dsr.models import (
    CLOSED_STATUSES,
    JOB_FINISHED,
    AuditAction,
    Job,
    JobStatus,
    Operation,
    Plan,
    PlanStage,
    Request,
    Status,
)
from dsr.selectors import request_for_update
from dsr.transactions import request_locked, transaction_note

SYSTEM = Actor.system()
# Stages in which the plan waits for its jobs; the reconciler advances a plan stuck in one.
WORKING_STAGES = (PlanStage.RESOLVING, PlanStage.PLANNING, PlanStage.RUNNING, PlanStage.COLLECTED)


def plan_start(*, request_id: int) -> Plan | None:
    """Create the request's plan and its identity-resolution job; on a later call, resume where it stands."""
    with transaction.atomic():
        request = request_for_update(request_id)
        if request is None or request.status != Status.IN_PROGRESS:
            return None
        transaction_note(request_locked(request_id))
        plan, created = Plan.objects.get_or_create(request=request)
        if not created:
            queued = list(request.jobs.filter(status=JobStatus.QUEUED).values_list("pk", flat=True))
            jobs_dispatch_on_commit(queued)
            transaction.on_commit(lambda: plan_advance(request_id=request_id))
            return plan
        if datamap_current() is None:
            # Nothing to ask: the privacy team handles the request by hand (the stage says so on the request).
            plan.stage = PlanStage.UNMAPPED
            plan.save(update_fields=["stage", "updated_at"])
            audit_record(actor=SYSTEM, action=AuditAction.PLAN_UNMAPPED, request=request, data={})
            return plan
        audit_record(actor=SYSTEM, action=AuditAction.PLAN_CREATED, request=request, data={"right": request.right})
        jobs_create(request, [("", Operation.RESOLVE, {})])
    return plan


@dataclass
class _JobsState:
    """The request's jobs as plan_advance weighs them, read in one query (a restriction's lift runs apart)."""

    count: int
    unfinished: bool
    failed: bool

    @classmethod
    def of(cls, request: Request) -> "_JobsState":
        # In no order, written once: the jobs' default order joins their request's table to sort by its due date.
        with connection.cursor() as cursor:
            cursor.execute(_jobs_state_statement(), [request.pk])
            jobs = cursor.fetchall()
        weighed = [status for operation, status in jobs if operation != Operation.RESTRICTION_LIFT]
        return cls(
            count=len(jobs),
            unfinished=any(status not in JOB_FINISHED for status in weighed),
            failed=JobStatus.FAILED in weighed,
        )


def plan_advance(*, request_id: int) -> str | None:
    """Move the plan on when the jobs of its current stage are finished; return the new stage."""
    with transaction.atomic():
        # The request's row first, as every service that changes a request takes it (a job failing, a staff
        # action), then the plan's: concurrent steps queue here, and none holds the plan while it waits for the
        # request another holds (PostgreSQL would end one of the two as a deadlock). SQLite's transactions take
        # its write lock at their start.
        request = request_for_update(request_id)
        if request is None:
            return None
        transaction_note(request_locked(request_id))
        # The plan's row next, read as its update leaves it (a lock waited for: as the one who held it left it);
        # the reconciler sees the step and does not take the plan for one standing still.
        plan = _plan_touched(request)
        if plan is None:
            return None
        if plan.stage not in WORKING_STAGES:
            return plan.stage
        jobs = _JobsState.of(request)
        if jobs.unfinished:
            return plan.stage
        if jobs.failed:
            return plan.stage  # job_failed has put the request in "needs attention"
        if request.status in CLOSED_STATUSES:
            plan_close(plan)
            return plan.stage
        datamap = datamap_current()
        if datamap is None or request.status != Status.IN_PROGRESS:
            return plan.stage
        stage = plan.stage
        handler = handler_for(request.right)
        context = PlanContext(request=request, plan=plan, datamap=datamap)
        if stage == PlanStage.RESOLVING:
            handler.fan_out(context)
        else:
            handler.stage_finished(context)
        plan = _plan_read(request)
        after = _JobsState.of(request)
        moved = plan.stage != stage or after.count != jobs.count
        if moved and plan.stage in WORKING_STAGES and not after.unfinished:
            # The new stage has no job to wait for (nothing to ask): take the next step after this one commits.
            transaction.on_commit(lambda: plan_advance(request_id=request_id))
        return plan.stage


@functools.cache
def _jobs_state_statement() -> str:
    return f"SELECT operation, status FROM {connection.ops.quote_name(Job._meta.db_table)} WHERE request_id = %s"  # noqa: S608 (a table name)


def request_read(request_id: int) -> Request | None:
    """Return the request with its plan, in one statement, as ``select_related("plan")`` would.

    A request with no plan yet raises ``Plan.DoesNotExist`` on ``request.plan``, without another read. Not for a
    locked read: PostgreSQL would return the plan as the statement began, not as the lock's holder left it.
    """
    row = rows.fetch_one(_request_statement(), [request_id])
    if row is None:
        return None
    request = rows.instance(Request, row)
    _plan_attach(request, rows.instance(Plan, row, rows.width(Request)))
    return request


def _plan_attach(request: Request, plan: Plan | None) -> None:
    if plan is not None:
        Plan.request.field.set_cached_value(plan, request)
    Request.plan.related.set_cached_value(request, plan)


def _plan_touched(request: Request) -> Plan | None:
    """Mark the request's plan as stepped now (its ``updated_at``) and return it as it now is, or None."""
    now = Plan._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    if connection.features.can_return_columns_from_insert:
        row = rows.fetch_one(_plan_touch_statement(), [now, request.pk])
    elif Plan.objects.filter(request_id=request.pk).update(updated_at=timezone.now()):
        # SQLite before 3.35 has no UPDATE ... RETURNING: the update, then a read.
        row = rows.fetch_one(_plan_statement(), [request.pk])
    else:
        row = None
    plan = rows.instance(Plan, row) if row is not None else None
    _plan_attach(request, plan)
    return plan


def _plan_read(request: Request) -> Plan:
    """Read the plan again, as a step left it (a right may change it by update, not through the instance)."""
    plan = rows.instance(Plan, rows.fetch_one(_plan_statement(), [request.pk]))
    _plan_attach(request, plan)
    return plan


@functools.cache
def _request_statement() -> str:
    quote = connection.ops.quote_name
    requests, plans = quote(Request._meta.db_table), quote(Plan._meta.db_table)
    return (
        f"SELECT {rows.columns(Request, 'r')}, {rows.columns(Plan, 'p')} FROM {requests} r "  # noqa: S608 (names)
        f"LEFT JOIN {plans} p ON p.request_id = r.id WHERE r.id = %s"
    )


@functools.cache
def _plan_statement() -> str:
    plans = connection.ops.quote_name(Plan._meta.db_table)
    return f"SELECT {rows.columns(Plan, 'p')} FROM {plans} p WHERE p.request_id = %s"  # noqa: S608 (names)


@functools.cache
def _plan_touch_statement() -> str:
    plans = connection.ops.quote_name(Plan._meta.db_table)
    return f"UPDATE {plans} SET updated_at = %s WHERE request_id = %s RETURNING {rows.columns(Plan, plans)}"  # noqa: S608


def plan_close(plan: Plan) -> None:
    """Stop the work of a closed request: its right cleans up; the identifiers go unless a restriction holds."""
    request = plan.request
    datamap = datamap_current()
    try:
        handler = handler_for(request.right)
    except KeyError:
        handler = None
    if handler is not None and datamap is not None:
        handler.plan_closed(PlanContext(request=request, plan=plan, datamap=datamap))
    if plan.stage != PlanStage.DONE:
        plan.stage = PlanStage.CLOSED
    fields = [] if request.restrictions.filter(lifted_at__isnull=True).exists() else plan.forget()
    plan.save(update_fields=["stage", *fields, "updated_at"])


# --- Selectors ---------------------------------------------------------------------


def request_jobs(request: Request) -> list[Job]:
    """Return the request's jobs in the order they were planned (for the staff page)."""
    return list(request.jobs.order_by("id"))


def request_plan(request: Request) -> Plan | None:
    """Return the request's plan, or None before the work started."""
    return Plan.objects.filter(request=request).first()

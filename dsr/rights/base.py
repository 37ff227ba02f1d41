"""What every right shares: creating its jobs, handing over to staff, and finishing from the sources' facts."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import workflow
from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get, datamap_current
from dsr.engine.dispatch import jobs_create
from dsr.engine.manual import task_fallback_spec, task_step
from dsr.engine.registry import JobContext, PlanContext, RightHandler, Step, handler_for
from dsr.models import AuditAction, JobStatus, Plan, PlanStage, Request
from dsr.rights.notices import notices_send
from dsr.rights.outcome import Outcome, outcome_record, sources_outcome
from dsr.sources.base import ChangeResult, SourceError
from dsr.workflow import TransitionError

SYSTEM = Actor.system()


class Right(RightHandler):
    """A right's handler: the operations whose facts make its outcome, and the steps every right takes."""

    # The operations whose facts the outcome is made from, and the one whose changes Art. 19 announces.
    operations: tuple[str, ...] = ()
    notified_operation: str | None = None

    def notified_operation_for(self, request: Request) -> str | None:
        """Return the operation whose changes the recipients of ``request``'s data are told of, if any."""
        return self.notified_operation

    # --- jobs and stages --------------------------------------------------------------

    def jobs(self, ctx: PlanContext, specs: list[tuple[str, str, dict]]) -> list[int]:
        """Create these jobs (source, operation, input) for the request."""
        return jobs_create(ctx.request, specs, datamap=ctx.datamap)

    def stage(self, ctx: PlanContext, stage: str) -> None:
        ctx.plan.stage = stage
        ctx.plan.save(update_fields=["stage", "updated_at"])

    def await_staff(self, ctx: PlanContext, stage: str) -> None:
        """Hand the plan to the privacy team (an approval or a decision); the request waits for them."""
        self.stage(ctx, stage)
        workflow.request_await_staff(request=ctx.request, actor=SYSTEM, stage=stage)

    def sources_doing(self, ctx: PlanContext, operation: str) -> list[str]:
        """Return the sources that carry out ``operation`` themselves or through their owner's task."""
        keys = []
        for key in ctx.datamap.sources:
            try:
                connector = connector_get(key, ctx.datamap)
            except SourceError:
                keys.append(key)  # its job will fail and say why
                continue
            if connector.supports(operation) or connector.task_for(operation) is not None:
                keys.append(key)
        return keys

    # --- the outcome ------------------------------------------------------------------

    def outcome_build(self, request: Request, plan: Plan, datamap: DataMap) -> Outcome:
        """Return what the request came to, from the facts its jobs reported."""
        return Outcome(right=request.right, sources=sources_outcome(request, datamap, list(self.operations)))

    def outcome_finish(self, request: Request, plan: Plan, datamap: DataMap) -> Outcome:
        """Build the outcome, tell the recipients Art. 19 names, and record both on the plan."""
        outcome = self.outcome_build(request, plan, datamap)
        notified_operation = self.notified_operation_for(request)
        if notified_operation and outcome.changed:
            outcome.notified = notices_send(
                request=request,
                datamap=datamap,
                operation=notified_operation,
                held_identifiers=plan.held_identifiers,
                consents=plan.consents,
            )
        outcome_record(plan, outcome)
        summary = outcome.summary()
        audit_record(
            actor=SYSTEM,
            action=AuditAction.OUTCOME_RECORDED,
            request=request,
            data={
                "counts": summary["counts"],
                "recipients_notified": summary["recipients_notified"],
                "recipients_to_tell_by_hand": summary["recipients_to_tell_by_hand"],
            },
        )
        return outcome

    def finish(self, ctx: PlanContext, *, reasons: str = "") -> None:
        """Record the outcome and complete the request: the letter is made from the outcome."""
        self.outcome_finish(ctx.request, ctx.plan, ctx.datamap)
        ctx.plan.stage = PlanStage.DONE
        restricted = ctx.request.restrictions.filter(lifted_at__isnull=True).exists()
        # The identifiers are needed again only to lift a restriction.
        fields = [] if restricted else ctx.plan.forget()
        ctx.plan.save(update_fields=["stage", *fields, "updated_at"])
        workflow.request_complete(request=ctx.request, actor=SYSTEM, reasons=reasons)

    def closing(self, request: Request, plan: Plan, datamap: DataMap) -> None:
        """Record what was done when the request closes by another way (staff closed it, refused, cancelled)."""
        if plan.outcome:
            return
        if request.jobs.filter(operation__in=self.operations).exclude(source_key="").exists():
            self.outcome_finish(request, plan, datamap)

    def approve(self, ctx: PlanContext, *, actor: Actor) -> None:
        """Carry out the plan the privacy team approved; a right with nothing to approve refuses."""
        raise TransitionError(
            _("Request %(reference)s has no plan waiting for approval.") % {"reference": ctx.request.reference}
        )

    def approved(self, ctx: PlanContext, *, actor: Actor, jobs: int) -> None:
        """Record the approval on the plan: who, when, and how many jobs it starts."""
        ctx.plan.stage = PlanStage.RUNNING
        ctx.plan.approved_at = timezone.now()
        ctx.plan.approved_by = f"{actor.type}:{actor.id}"[:160]
        ctx.plan.save(update_fields=["stage", "approved_at", "approved_by", "updated_at"])
        audit_record(actor=actor, action=AuditAction.PLAN_APPROVED, request=ctx.request, data={"jobs": jobs})

    def request_refuse(self, ctx: PlanContext, *, ground: str, reasons: str) -> None:
        """Refuse the request for reasons the right found itself (Art. 12(4)); nothing more is done."""
        self.stage(ctx, PlanStage.DONE)
        workflow.request_refuse(request=ctx.request, ground=ground, reasons=reasons, actor=SYSTEM)


# --- Job runners the rights share ---------------------------------------------------------


def change_step(ctx: JobContext, operation: str, call, *, capability: str | None = None) -> Step:
    """Run a change ``operation`` through the source, its owner's task, or the privacy team's task.

    ``call(connector)`` returns the source's ChangeResult; its facts are the job's result. ``capability``
    is what the source must support to do it itself, where that is not the operation (lifting a
    restriction needs the restriction capability).
    """
    connector = ctx.connector()
    spec = connector.task_for(operation)
    if spec is not None:
        return task_step(ctx, spec)
    if not connector.supports(capability or operation):
        return task_step(ctx, task_fallback_spec(ctx.datamap, ctx.job.source_key, operation))
    result: ChangeResult = call(connector)
    return Step(
        JobStatus.DONE if result.complete else JobStatus.WAITING,
        {
            "facts": [fact.to_dict() for fact in result.facts],
            "not_applicable": result.not_applicable,
            "reference": result.reference,
        },
        {"changed": result.changed},
    )


def rights_closing(request: Request) -> None:
    """Hand a closing request to its right, which records what was done (dsr.workflow's closing hook).

    Runs in the closing service's transaction, with the request row locked.
    """
    plan = Plan.objects.select_for_update().filter(request=request).first()
    datamap = datamap_current()
    if plan is not None and datamap is not None:
        handler_for(request.right).closing(request, plan, datamap)


def request_plan_approve(*, request: Request, actor: Actor) -> Request:
    """Approve the plan waiting for the privacy team (an erasure's dry run, a rectification's preview)."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        workflow.transition_require(request, "plan_approve")
        plan = Plan.objects.get(request=request)
        datamap = datamap_current()
        if plan.stage != PlanStage.AWAITING_APPROVAL or datamap is None:
            raise TransitionError(
                _("Request %(reference)s has no plan waiting for approval.") % {"reference": request.reference}
            )
        request = workflow.request_approve(request=request, actor=actor)
        handler_for(request.right).approve(PlanContext(request=request, plan=plan, datamap=datamap), actor=actor)
    return request

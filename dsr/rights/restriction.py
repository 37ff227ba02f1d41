"""The right to restriction (GDPR Art. 18): the register, a mark in every source, Art. 19, and the lift.

The person's identifiers enter the restriction register that other systems
ask before processing (dsr.restrictions); every source marks the data as
restricted, or its owner (or the privacy team, where a source cannot do it)
does so by hand. Recipients that had data of a restricted kind are told.
Lifting it needs the person told first (Art. 18(3)): staff announce the lift
(dsr.restrictions.restriction_lift_schedule), and once the outbox has sent the
notice and the announced date has come, ``restrictions_lift_due`` lifts the
register entries and each source that was marked lifts its mark (a job per
source, with its facts).
"""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.engine.connectors import datamap_current
from dsr.engine.dispatch import jobs_create
from dsr.engine.registry import JobContext, PlanContext, Step
from dsr.models import AuditAction, Operation, PlanStage, Request, Right
from dsr.restrictions import LIFTABLE_GROUNDS, RestrictionError, restrictions_record, restrictions_told_record
from dsr.rights.base import Right as RightBase
from dsr.rights.base import change_step


class Restriction(RightBase):
    right = Right.RESTRICTION
    operations = (Operation.RESTRICTION,)
    notified_operation = Operation.RESTRICTION

    def fan_out(self, ctx: PlanContext) -> None:
        restrictions_record(
            request=ctx.request, identifiers=ctx.plan.identifiers, ground=ctx.request.details.get("ground", "")
        )
        # Every source: one that cannot mark restriction gets a task for the privacy team.
        self.jobs(ctx, [(key, Operation.RESTRICTION, {}) for key in ctx.datamap.sources])
        self.stage(ctx, PlanStage.RUNNING)

    def stage_finished(self, ctx: PlanContext) -> None:
        self.finish(ctx)


def _run_restriction(ctx: JobContext) -> Step:
    restricted = ctx.job.operation == Operation.RESTRICTION
    return change_step(
        ctx,
        ctx.job.operation,
        lambda connector: connector.restrict(
            ctx.identifiers,
            restricted=restricted,
            purpose=ctx.job.plan.get("purpose"),
            reference=ctx.request.reference,
        ),
        capability=Operation.RESTRICTION,
    )


RUNNERS = {Operation.RESTRICTION: _run_restriction, Operation.RESTRICTION_LIFT: _run_restriction}
HANDLER = Restriction()


def restriction_lift(*, request: Request, actor: Actor, today: date | None = None) -> Request:
    """Lift the request's restriction in the register and in every source marked; the person must have been told.

    GDPR Art. 18(3): only entries whose notice went out (``subject_told_at``, set from the outbox) and whose
    announced date has come are lifted; anything else refuses and lifts nothing.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        entries = request.restrictions.filter(lifted_at__isnull=True, ground__in=LIFTABLE_GROUNDS)
        if not entries.exists():
            raise RestrictionError(
                _("Request %(reference)s has no restriction in force.") % {"reference": request.reference}
            )
        if entries.filter(subject_told_at__isnull=True).exists():
            raise RestrictionError(_("Tell the requester before lifting the restriction (GDPR Art. 18(3))."))
        if entries.filter(lift_on__gt=today).exists():
            raise RestrictionError(_("The restriction is lifted on the date the requester was given, not before."))
        told_at = min(entries.values_list("subject_told_at", flat=True))
        notice = entries.values_list("lift_notice_id", flat=True).first()
        lifted = entries.update(lifted_at=timezone.now())
        datamap = datamap_current()
        marked = []
        if datamap is not None:
            marked = [
                key
                for key in request.jobs.filter(operation=Operation.RESTRICTION).values_list("source_key", flat=True)
                if key in datamap.sources
            ]
            jobs_create(request, [(key, Operation.RESTRICTION_LIFT, {}) for key in marked])
        audit_record(
            actor=actor,
            action=AuditAction.RESTRICTION_LIFTED,
            request=request,
            data={"entries": lifted, "notice": notice, "told_at": told_at.isoformat(), "sources": len(marked)},
        )
    return request


def restrictions_lift_due(*, now: datetime | None = None) -> int:
    """Lift every restriction whose notice has gone out and whose date has come; return the requests lifted."""
    now = now or timezone.now()
    lifted = 0
    for request_id in restrictions_told_record(now=now):
        try:
            restriction_lift(
                request=Request.objects.get(pk=request_id), actor=Actor.system(), today=timezone.localdate(now)
            )
        except RestrictionError:
            continue  # lifted meanwhile, or part of it not yet told: the next run looks again
        lifted += 1
    return lifted

"""The right to erasure (GDPR Art. 17): plan per source, approval, execution, suppression, Art. 19, confirmation.

1. Each source that erases works out what it would do (a dry run: rows to
   delete, anonymise, or keep under a legal hold and until when); a source
   worked by hand will get a task for its owner.
2. The privacy team approves the plan, or it is approved at once
   (DSR_ERASURE_AUTO_APPROVE).
3. Each source carries out exactly its plan and reports what it did (facts).
4. The person is put on the suppression list, so a marketing import does not
   bring them back; recipients that had changed data are told (Art. 19).
5. The confirmation lists what was erased, anonymised, and kept under which
   obligation until when (Art. 17(3)(b), 12(1)), from the facts alone.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from dsr.audit import Actor
from dsr.datamap.schema import DataMap
from dsr.engine.manual import task_step
from dsr.engine.registry import JobContext, PlanContext, Step
from dsr.models import JobStatus, Operation, Plan, PlanStage, Request, Right, Status
from dsr.rights.base import Right as RightBase
from dsr.sources.base import ANONYMISE, DELETE, KEEP, REQUEST, TASK, ErasurePlan
from dsr.suppression import SuppressionReason, suppression_add

# What the dry run would do to a table, and to an anonymised column, in the privacy team's language.
PLAN_ACTIONS = {
    DELETE: _("delete"),
    ANONYMISE: _("anonymise"),
    KEEP: _("keep"),
    REQUEST: _("ask the processor"),
    TASK: _("by hand"),
}
FIELD_METHODS = {"clear": _("clear"), "null": _("clear"), "redact": _("redact"), "hash": _("keyed hash")}
TRUNCATE_UNITS = {"year": _("truncate to the year"), "month": _("truncate to the month")}


def field_method_label(method) -> str:
    """Return how an anonymiser reads on the dry run: "keyed hash", "set to false", "truncate to the year"."""
    if isinstance(method, dict) and "set" in method:
        value = method["set"]
        shown = "NULL" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        return _("set to %(value)s") % {"value": shown}
    if isinstance(method, dict) and "truncate" in method:
        return str(TRUNCATE_UNITS.get(method["truncate"], method["truncate"]))
    return str(FIELD_METHODS.get(method or "clear", method))


def erasure_dry_run(request: Request) -> list[dict]:
    """Return, for the privacy team's review, what erasure would do (or did) in each source, table by table."""
    if request.right != Right.ERASURE:
        return []
    rows = []
    for job in request.jobs.filter(operation=Operation.ERASURE_PLAN, status=JobStatus.DONE).order_by("pk"):
        task = (job.result.get("extra") or {}).get("task")
        if task:
            rows.append({"source": job.source_key, "task_owner": task.get("owner", "")})
            continue
        tables = job.result.get("tables") or []
        for table in tables:
            rows.append(
                {
                    "source": job.source_key,
                    "table": table["table"],
                    "action": table["action"],
                    "action_label": PLAN_ACTIONS.get(table["action"], table["action"]),
                    "fields": [(name, field_method_label(m)) for name, m in (table.get("fields") or {}).items()],
                    "count": table["count"],
                    "shared": len(table.get("shared_keys") or []),
                    "hold": table.get("hold", ""),
                    "hold_until": table.get("hold_until"),
                    "cascaded": sorted((table.get("cascaded") or {}).items()),
                    "note": table.get("note", ""),
                }
            )
        if not tables:
            rows.append({"source": job.source_key, "nothing": True})
    return rows


class Erasure(RightBase):
    right = Right.ERASURE
    operations = (Operation.ERASURE, Operation.AUDIENCE_REMOVAL)
    notified_operation = Operation.ERASURE

    def fan_out(self, ctx: PlanContext) -> None:
        keys = self.sources_doing(ctx, Operation.ERASURE)
        self.jobs(ctx, [(key, Operation.ERASURE_PLAN, {}) for key in keys])
        self.stage(ctx, PlanStage.PLANNING)

    def stage_finished(self, ctx: PlanContext) -> None:
        if ctx.plan.stage == PlanStage.PLANNING:
            if settings.DSR_ERASURE_AUTO_APPROVE:
                self.approve(ctx, actor=Actor.system())
            else:
                self.await_staff(ctx, PlanStage.AWAITING_APPROVAL)
        elif ctx.plan.stage == PlanStage.RUNNING:
            # Marketing imports must not bring the person back (PRODUCT.md, erasure): a promise about the
            # future, kept whatever the sources held.
            suppression_add(request=ctx.request, identifiers=ctx.plan.identifiers, reason=SuppressionReason.ERASURE)
            self.finish(ctx)

    def closing(self, request: Request, plan: Plan, datamap: DataMap) -> None:
        super().closing(request, plan, datamap)
        if request.status in (Status.COMPLETED, Status.PARTIALLY_COMPLETED) and plan.identifiers:
            # Closed with parts not done: what was erased stays erased, and imports must not bring it back.
            suppression_add(request=request, identifiers=plan.identifiers, reason=SuppressionReason.ERASURE)

    def approve(self, ctx: PlanContext, *, actor: Actor) -> None:
        """Carry out the approved plan: each source's exact dry run, and the owners' tasks."""
        specs = [
            (job.source_key, Operation.ERASURE, job.result)
            for job in ctx.request.jobs.filter(operation=Operation.ERASURE_PLAN, status=JobStatus.DONE)
        ]
        # GDPR Art. 17(1), 17(2): ad platforms that hold the person in an audience (and erase nothing else
        # through dsr) are asked to drop them; an erasure request to a partner already covers its audiences.
        erasing = {key for key, _operation, _plan in specs} | set(self.sources_doing(ctx, Operation.ERASURE))
        specs += [
            (key, Operation.AUDIENCE_REMOVAL, {})
            for key in self.sources_doing(ctx, Operation.AUDIENCE_REMOVAL)
            if key not in erasing
        ]
        self.approved(ctx, actor=actor, jobs=len(specs))
        self.jobs(ctx, specs)


# --- Job runners ---------------------------------------------------------------------------


def _run_erasure_plan(ctx: JobContext) -> Step:
    connector = ctx.connector()
    spec = connector.task_for(Operation.ERASURE)
    if spec is not None:
        # Worked by hand: nothing to plan; the owner gets the task once the plan is approved.
        erasure_plan = ErasurePlan(source=connector.key, kind=connector.kind, tables=[], extra={"task": spec})
    else:
        erasure_plan = connector.erasure_plan(ctx.identifiers, reference=ctx.request.reference)
    return Step(JobStatus.DONE, erasure_plan.to_dict(), erasure_plan.counts())


def _run_erasure(ctx: JobContext) -> Step:
    connector = ctx.connector()
    spec = connector.task_for(Operation.ERASURE)
    if spec is not None:
        return task_step(ctx, spec)
    result = connector.erasure_execute(ErasurePlan.from_dict(ctx.job.plan))
    counts: dict[str, int] = {}
    for fact in result.facts:
        counts[fact.action] = counts.get(fact.action, 0) + fact.changed + fact.kept
    return Step(
        JobStatus.DONE if result.complete else JobStatus.WAITING,
        {"facts": [fact.to_dict() for fact in result.facts], "reference": result.reference, "extra": result.extra},
        counts,
    )


RUNNERS = {Operation.ERASURE_PLAN: _run_erasure_plan, Operation.ERASURE: _run_erasure}
HANDLER = Erasure()

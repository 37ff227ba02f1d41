"""Withdrawal of consent (GDPR Art. 7(3)): as easy as giving it, in every source that uses the consent.

Each source that records consents marks the named ones withdrawn; a source
worked by hand that serves a purpose based on one of them gets a task; an ad
partner that holds the person in an audience for such a purpose is asked to
remove them. The person is told, per consent, where it was withdrawn, and
where none was recorded. Withdrawal does not affect processing before it.
"""

from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get
from dsr.engine.manual import task_step
from dsr.engine.registry import JobContext, PlanContext, Step
from dsr.models import JobStatus, Operation, Plan, PlanStage, Request, Right
from dsr.rights.base import Right as RightBase
from dsr.rights.base import change_step
from dsr.rights.outcome import BY_HAND, CHANGED, PENDING, PROCESSOR, UNCHANGED, Outcome, sources_outcome
from dsr.sources.base import SourceError

ALL_CONSENTS = "all"
WITHDRAWN, ALREADY_WITHDRAWN, NOT_RECORDED, NOT_FINISHED = (
    "withdrawn",
    "already_withdrawn",
    "not_recorded",
    "not_finished",
)


def consents_named(datamap: DataMap, consents: list[str]) -> list[str]:
    """Return the consent keys ``consents`` names ("all" is every consent-based purpose's), in map order."""
    known = [purpose["consent_key"] for purpose in datamap.purposes.values() if purpose["consent_key"]]
    wanted = set(known) if ALL_CONSENTS in consents else set(consents)
    return [key for key in dict.fromkeys(known) if key in wanted]


def _source_purposes(source: dict) -> set[str]:
    purposes = set(source["purposes"])
    for group in (source.get("groups") or {}).values():
        purposes.update(group.get("purposes") or [])
    return purposes


def consent_specs(datamap: DataMap, consents: list[str]) -> list[tuple[str, str, dict]]:
    """Return the jobs that withdraw ``consents`` in every source using them (GDPR Art. 7(3), 21(3))."""
    purposes = {key for key, purpose in datamap.purposes.items() if purpose["consent_key"] in consents}
    specs = []
    for key, source in datamap.sources.items():
        holds = bool(purposes & _source_purposes(source))
        try:
            connector = connector_get(key, datamap)
        except SourceError:
            continue
        if connector.supports(Operation.CONSENT_WITHDRAWAL) or (
            holds and connector.task_for(Operation.CONSENT_WITHDRAWAL) is not None
        ):
            specs.append((key, Operation.CONSENT_WITHDRAWAL, {"consents": consents}))
        if holds and connector.supports(Operation.AUDIENCE_REMOVAL):
            specs.append((key, Operation.AUDIENCE_REMOVAL, {"consents": consents}))
    return specs


def consents_outcome(outcome: Outcome, datamap: DataMap, consents: list[str], given: list[str]) -> None:
    """Add to ``outcome`` one item per consent: where it was withdrawn, or that none was recorded.

    ``given`` are the consents the sources show the person gave at some time (Plan.consents): a consent row
    that only records a refusal is "no consent recorded", not "already withdrawn".
    """
    names = {purpose["consent_key"]: purpose["name"] for purpose in datamap.purposes.values() if purpose["consent_key"]}
    pending = any(source.state == PENDING for source in outcome.sources)
    for key in consents:
        lines = [(source.key, line) for source in outcome.sources for line in source.lines if line.item == key]
        where = list(dict.fromkeys(source for source, line in lines if line.kind == CHANGED))
        # An owner who withdrew it by hand did so for the consents of the purposes their system serves.
        serving = {p for p, purpose in datamap.purposes.items() if purpose["consent_key"] == key}
        for source in outcome.sources:
            by_hand = any(line.kind == BY_HAND for line in source.lines)
            described = datamap.sources.get(source.key)
            if by_hand and described and serving & _source_purposes(described) and source.key not in where:
                where.append(source.key)
        already = list(dict.fromkeys(source for source, line in lines if line.kind == UNCHANGED))
        if key not in given:
            already = []
        if where:
            state = WITHDRAWN
        elif already:
            state = ALREADY_WITHDRAWN
        elif pending:
            state = NOT_FINISHED
        else:
            state = NOT_RECORDED
        outcome.items.append(
            {
                "key": key,
                "label": names.get(key, {"da": key, "en": key}),
                "state": state,
                "where": where,
                "already": already,
            }
        )
    asked = [source.key for source in outcome.sources for line in source.lines if line.kind == PROCESSOR]
    if asked:
        outcome.items.append({"key": "", "label": {}, "state": "partners_asked", "where": sorted(set(asked))})


class ConsentWithdrawal(RightBase):
    right = Right.CONSENT_WITHDRAWAL
    operations = (Operation.CONSENT_WITHDRAWAL, Operation.AUDIENCE_REMOVAL)

    def consents(self, request: Request, datamap: DataMap) -> list[str]:
        return consents_named(datamap, list(request.details.get("consents", [])))

    def fan_out(self, ctx: PlanContext) -> None:
        self.jobs(ctx, consent_specs(ctx.datamap, self.consents(ctx.request, ctx.datamap)))
        self.stage(ctx, PlanStage.RUNNING)

    def stage_finished(self, ctx: PlanContext) -> None:
        self.finish(ctx)

    def outcome_build(self, request: Request, plan: Plan, datamap: DataMap) -> Outcome:
        outcome = Outcome(right=request.right, sources=sources_outcome(request, datamap, list(self.operations)))
        consents_outcome(outcome, datamap, self.consents(request, datamap), plan.consents)
        return outcome


def _run_consent_withdrawal(ctx: JobContext) -> Step:
    consents = list(ctx.job.plan.get("consents", []))
    return change_step(
        ctx,
        Operation.CONSENT_WITHDRAWAL,
        lambda connector: connector.consent_withdraw(ctx.identifiers, consents, reference=ctx.request.reference),
    )


def _run_audience_removal(ctx: JobContext) -> Step:
    # GDPR Art. 7(3), 17, 21(3): the partner is asked to drop the person from its audiences, with no plan to approve.
    connector = ctx.connector()
    spec = connector.audience_task(ctx.identifiers)
    if spec is not None:
        # No credentials: the owner removes exactly these hashes by hand and attests it.
        return task_step(ctx, spec)
    result = connector.audience_remove(ctx.identifiers, reference=ctx.request.reference)
    return Step(
        JobStatus.DONE if result.complete else JobStatus.WAITING,
        {"facts": [fact.to_dict() for fact in result.facts], "reference": result.reference},
        {"requests": 1},
    )


RUNNERS = {Operation.CONSENT_WITHDRAWAL: _run_consent_withdrawal, Operation.AUDIENCE_REMOVAL: _run_audience_removal}
HANDLER = ConsentWithdrawal()

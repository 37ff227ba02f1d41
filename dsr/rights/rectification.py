"""The right to rectification (GDPR Art. 16): preview per source, staff review, apply, tell recipients, confirm.

The person names the data that is wrong by the correctable fields the map
declares (``corrections:``, labelled in Danish and English) or in their own
words. Sources that map a field preview the change (rows found, rows whose
value differs); the privacy team reviews the preview before anything is
changed; each source then reports what it changed. A correction no source
maps becomes a task for the privacy team. The person is told, per
correction, where it was made, where the data was already right, and where
we hold no such data: "corrected" is never said for zero rows.
"""

from dsr.audit import Actor
from dsr.datamap.schema import DataMap, localised
from dsr.engine.manual import task_step
from dsr.engine.registry import JobContext, PlanContext, Step
from dsr.models import JobStatus, Operation, Plan, PlanStage, Request, Right
from dsr.rights.base import Right as RightBase
from dsr.rights.base import change_step
from dsr.rights.outcome import BY_HAND, CHANGED, PENDING, UNCHANGED, Outcome, job_facts, sources_outcome

# The job of the corrections no source maps: the privacy team's, not a source's.
PRIVACY_TEAM = ""
CORRECTED, ALREADY_CORRECT, NOT_HELD, HANDLED_BY_HAND, NOT_FINISHED = (
    "corrected",
    "already_correct",
    "not_held",
    "by_hand",
    "not_finished",
)


def corrections_resolve(datamap: DataMap, corrections: list[dict]) -> list[dict]:
    """Return the corrections with ``key`` set to the map's correctable field they name ("" for none).

    A person may write the field's label instead of choosing it ("Efternavn", "Last name"): a label
    in either language names the field too.
    """
    labels = {}
    for key, entry in datamap.corrections.items():
        labels[key.lower()] = key
        for text in entry["name"].values():
            labels.setdefault(text.strip().lower(), key)
    resolved = []
    for correction in corrections:
        field = (correction.get("field") or "").strip()
        resolved.append({**correction, "key": labels.get(field.lower(), "")})
    return resolved


def corrections_labelled(datamap: DataMap | None, corrections: list[dict], language: str) -> list[dict]:
    """Return the corrections with ``label``: the map's name for the field in ``language``, or the person's words."""
    if datamap is None:
        return [{**c, "label": c.get("field", "")} for c in corrections]
    return [
        {**c, "label": localised(datamap.corrections[c["key"]]["name"], language) if c["key"] else c.get("field", "")}
        for c in corrections_resolve(datamap, corrections)
    ]


def _mapped(corrections: list[dict]) -> list[dict]:
    return [
        {"field": c["key"], "current": c.get("current", ""), "correct": c["correct"]} for c in corrections if c["key"]
    ]


class Rectification(RightBase):
    right = Right.RECTIFICATION
    operations = (Operation.RECTIFICATION,)
    notified_operation = Operation.RECTIFICATION

    def corrections(self, request: Request, datamap: DataMap) -> list[dict]:
        return corrections_resolve(datamap, request.details.get("corrections", []))

    def fan_out(self, ctx: PlanContext) -> None:
        mapped = _mapped(self.corrections(ctx.request, ctx.datamap))
        keys = self.sources_doing(ctx, Operation.RECTIFICATION) if mapped else []
        self.jobs(ctx, [(key, Operation.RECTIFICATION_PLAN, {"corrections": mapped}) for key in keys])
        self.stage(ctx, PlanStage.PLANNING)

    def stage_finished(self, ctx: PlanContext) -> None:
        if ctx.plan.stage == PlanStage.PLANNING:
            # GDPR Art. 16: the privacy team reviews each change before any source is changed.
            self.await_staff(ctx, PlanStage.AWAITING_APPROVAL)
        elif ctx.plan.stage == PlanStage.RUNNING:
            self.finish(ctx)

    def approve(self, ctx: PlanContext, *, actor: Actor) -> None:
        """Apply the reviewed corrections where the preview found the person, and hand the rest to people."""
        corrections = self.corrections(ctx.request, ctx.datamap)
        specs = []
        for job in ctx.request.jobs.filter(operation=Operation.RECTIFICATION_PLAN, status=JobStatus.DONE):
            if job.result.get("task"):
                specs.append((job.source_key, Operation.RECTIFICATION, job.plan))
                continue
            held = {fact.item for fact in job_facts(job) if fact.found}
            wanted = [c for c in job.plan.get("corrections", []) if c["field"] in held]
            if wanted:
                specs.append((job.source_key, Operation.RECTIFICATION, {"corrections": wanted}))
        # A field no source maps (or the person's own words) is corrected by the privacy team by hand.
        unmapped = [c for c in corrections if not c["key"] or not _maps_anywhere(ctx.request, c["key"])]
        if unmapped:
            specs.append((PRIVACY_TEAM, Operation.RECTIFICATION, {"corrections": unmapped, "by_hand": True}))
        self.approved(ctx, actor=actor, jobs=len(specs))
        self.jobs(ctx, specs)

    def outcome_build(self, request: Request, plan: Plan, datamap: DataMap) -> Outcome:
        """Per correction: where it was made, where the data was already right, where we hold none."""
        outcome = Outcome(right=request.right, sources=sources_outcome(request, datamap, [Operation.RECTIFICATION]))
        # A source worked by hand was given every correction its owner could make; its finding covers them all.
        by_hand_sources = [
            source.key for source in outcome.sources if any(line.kind == BY_HAND for line in source.lines)
        ]
        pending_sources = [source.key for source in outcome.sources if source.state == PENDING]
        team = request.jobs.filter(operation=Operation.RECTIFICATION, source_key=PRIVACY_TEAM).first()
        team_fields = {c.get("field") for c in (team.plan.get("corrections", []) if team else [])}
        team_found = team is not None and team.status == JobStatus.DONE and any(f.found for f in job_facts(team))
        for index, correction in enumerate(self.corrections(request, datamap)):
            key = correction["key"]
            lines = [
                (source.key, line) for source in outcome.sources for line in source.lines if key and line.item == key
            ]
            # A source is named once, however many of its tables held the value.
            where = list(dict.fromkeys(source for source, line in lines if line.kind == CHANGED))
            already = [
                source
                for source in dict.fromkeys(source for source, line in lines if line.kind == UNCHANGED)
                if source not in where
            ]
            by_team = correction.get("field") in team_fields
            by_hand = (by_team and team_found) or (bool(key) and bool(by_hand_sources))
            if where:
                state = CORRECTED
            elif by_hand:
                state = HANDLED_BY_HAND
            elif already:
                state = ALREADY_CORRECT
            elif (by_team and team is not None and team.status != JobStatus.DONE) or pending_sources:
                state = NOT_FINISHED
            else:
                state = NOT_HELD
            label = datamap.corrections.get(key, {}).get("name") if key else None
            field = correction.get("field", "")
            outcome.items.append(
                {
                    "index": index,
                    "key": key,
                    "label": label or {"da": field, "en": field},
                    "state": state,
                    "where": where,
                    "already": already,
                    "by_hand": by_hand_sources if key else [],
                }
            )
        return outcome


def rectification_preview(request: Request, *, datamap: DataMap | None = None, language: str = "en") -> list[dict]:
    """Return, for the privacy team's review, what each correction would change in each source (GDPR Art. 16).

    ``field_label`` is the map's name for the field in ``language`` where ``datamap`` declares it.
    """
    if request.right != Right.RECTIFICATION:
        return []
    names = datamap.corrections if datamap is not None else {}
    rows = []
    for job in request.jobs.filter(operation=Operation.RECTIFICATION_PLAN, status=JobStatus.DONE).order_by("pk"):
        if job.result.get("task"):
            rows.append({"source": job.source_key, "by_hand": True})
            continue
        facts = job_facts(job)
        for fact in facts:
            rows.append(
                {
                    "source": job.source_key,
                    "table": fact.table,
                    "field": fact.item,
                    "field_label": localised(names[fact.item]["name"], language) if fact.item in names else fact.item,
                    "found": fact.found,
                    "to_change": fact.changed,
                }
            )
        if not facts:
            rows.append({"source": job.source_key, "nothing": True})
    return rows


def _maps_anywhere(request: Request, key: str) -> bool:
    """Return whether some source's preview covers the correctable field ``key``."""
    for job in request.jobs.filter(operation=Operation.RECTIFICATION_PLAN, status=JobStatus.DONE):
        if any(fact.item == key for fact in job_facts(job)):
            return True
    return False


# --- Job runners ---------------------------------------------------------------------------


def _run_rectification_plan(ctx: JobContext) -> Step:
    connector = ctx.connector()
    spec = connector.task_for(Operation.RECTIFICATION)
    if spec is not None:
        # Worked by hand: its owner gets the corrections as a task once they are approved.
        return Step(JobStatus.DONE, {"task": True, "facts": []}, {})
    facts = connector.rectification_preview(ctx.identifiers, ctx.job.plan.get("corrections", []))
    return Step(
        JobStatus.DONE,
        {"facts": [fact.to_dict() for fact in facts]},
        {"found": sum(fact.found or 0 for fact in facts), "to_change": sum(fact.changed for fact in facts)},
    )


def _team_spec(ctx: JobContext) -> dict:
    """Return the privacy team's task for corrections no source maps, listing each as the person wrote it."""
    lines_da, lines_en = [], []
    for correction in ctx.job.plan.get("corrections", []):
        lines_da.append(f"- {correction.get('field', '')}: {correction.get('correct', '')}")
        lines_en.append(f"- {correction.get('field', '')}: {correction.get('correct', '')}")
    controller = ctx.datamap.controller
    return {
        "source": PRIVACY_TEAM,
        "operation": Operation.RECTIFICATION.value,
        "owner": controller.get("dpo_email") or controller["email"],
        "instructions": {
            "da": "Personen beder om disse rettelser, som ingen kilde i datakortet dækker. Find og ret "
            "oplysningerne, hvor vi har dem, og sig, hvad du fandt:\n" + "\n".join(lines_da),
            "en": "The person asks for these corrections, which no source in the data map covers. Find and "
            "correct the data where we hold it, and say what you found:\n" + "\n".join(lines_en),
        },
    }


def _corrections_listed(spec: dict, corrections: list[dict], datamap: DataMap) -> dict:
    """Return the owner's task with the corrections to make listed under its instructions, by label."""
    listed = {}
    for language in ("da", "en"):
        rows = [
            f"- {datamap.corrections.get(c['field'], {}).get('name', {}).get(language) or c['field']}: {c['correct']}"
            for c in corrections
        ]
        listed[language] = spec["instructions"][language] + "\n" + "\n".join(rows)
    return {**spec, "instructions": listed}


def _run_rectification(ctx: JobContext) -> Step:
    if not ctx.job.source_key:
        return task_step(ctx, _team_spec(ctx))
    corrections = ctx.job.plan.get("corrections", [])
    spec = ctx.connector().task_for(Operation.RECTIFICATION)
    if spec is not None:
        return task_step(ctx, _corrections_listed(spec, corrections, ctx.datamap))
    return change_step(
        ctx,
        Operation.RECTIFICATION,
        lambda connector: connector.rectify(ctx.identifiers, corrections, reference=ctx.request.reference),
    )


RUNNERS = {Operation.RECTIFICATION_PLAN: _run_rectification_plan, Operation.RECTIFICATION: _run_rectification}
HANDLER = Rectification()

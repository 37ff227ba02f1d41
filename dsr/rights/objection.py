"""The right to object (GDPR Art. 21): direct marketing stops at once; other processing is weighed by staff.

Direct marketing, including profiling to the extent it is related to it, is
absolute (Art. 21(2)-(3)): processing for it stops with no balancing, the
person goes on the suppression list, consents for it are withdrawn and ad
partners are asked to drop the person. An objection to other processing
(Art. 21(1)) restricts it meanwhile (Art. 18(1)(d)) while the privacy team
weighs the person's grounds against the controller's: the register holds the
purpose keys the person chose. Upheld, the processing stops for good; not
upheld, the person gets the reasons and their options, and the interim
restriction is lifted once that letter has gone out.

California's request to limit the use of sensitive personal information
(Cal. Civ. Code § 1798.121, CCPA regs § 7027) is carried as an objection
with the scope "sensitive": it stops at once, with no balancing, exactly the
purposes the data map marks as using sensitive personal information beyond
those § 7027(m) permits. The register records them, their consents are
withdrawn in the sources, and the recipients that received data a source
reported changing are told (§ 7027(g)(2)-(3)), through the Art. 19 notices.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import workflow
from dsr.audit import Actor
from dsr.datamap.schema import DataMap, sensitive_purposes
from dsr.engine.connectors import connector_get, datamap_current
from dsr.engine.registry import PlanContext
from dsr.models import ObjectionScope, Operation, Plan, PlanStage, Request, Right
from dsr.requests import RequestInvalid
from dsr.restrictions import (
    LIMIT_SENSITIVE,
    OBJECTION_DIRECT_MARKETING,
    OBJECTION_UPHELD,
    restriction_lift_after_letter,
    restrictions_record,
)
from dsr.rights.base import Right as RightBase
from dsr.rights.consent_withdrawal import consent_specs, consents_outcome
from dsr.rights.outcome import Outcome, sources_outcome
from dsr.sources.base import SourceError
from dsr.suppression import SuppressionReason, suppression_add
from dsr.workflow import TransitionError

OBJECTION_PENDING = "objection_pending"


def marketing_purposes(datamap: DataMap) -> list[str]:
    """Return the purposes that are direct marketing: DSR_MARKETING_PURPOSES, else those with marketing data."""
    if settings.DSR_MARKETING_PURPOSES:
        return [key for key in settings.DSR_MARKETING_PURPOSES if key in datamap.purposes]
    return [key for key, purpose in datamap.purposes.items() if "marketing" in purpose["categories"]]


def objection_split(request: Request, datamap: DataMap) -> tuple[list[str], list[str]]:
    """Return the purposes objected to that stop at once (direct marketing) and those staff must weigh."""
    scope = request.details.get("scope")
    if scope == ObjectionScope.SENSITIVE:
        # CCPA regs § 7027(g)(1): the use beyond § 7027(m) stops, with no balancing.
        return sensitive_purposes(datamap), []
    marketing = marketing_purposes(datamap)
    if scope == ObjectionScope.DIRECT_MARKETING:
        return marketing, []
    if scope == ObjectionScope.PROFILING:
        # GDPR Art. 21(2): profiling related to direct marketing is direct marketing.
        profiling = [key for key, purpose in datamap.purposes.items() if purpose["profiling"]]
        if not profiling:
            return [], [""]  # the map names no profiling purpose: every purpose is restricted while staff weigh it
        return [p for p in profiling if p in marketing], [p for p in profiling if p not in marketing]
    named = objection_purposes(request, datamap)
    # GDPR Art. 21(3): an objection to a direct-marketing purpose, however the person names it, is absolute.
    absolute = [key for key in named if key in marketing]
    weighed = [key for key in named if key not in marketing]
    if not named:
        # Words that name no purpose of the map: every purpose is restricted while staff weigh it (Art. 18(1)(d)).
        weighed = [""]
    return absolute, weighed


def objection_purposes(request: Request, datamap: DataMap) -> list[str]:
    """Return the keys of the map's purposes the person objects to: those they ticked, and any their words name."""
    keys = [key for key in request.details.get("purposes") or [] if key in datamap.purposes]
    other = (request.details.get("purpose") or "").strip()
    if other:
        named = purpose_named(datamap, other)
        if named in datamap.purposes:
            keys.append(named)
    return list(dict.fromkeys(keys))


def objectable_purposes(datamap: DataMap) -> list[str]:
    """Return the purposes a person can object to by name: those based on Art. 6(1)(e) or (f) (GDPR Art. 21(1))."""
    return [key for key, purpose in datamap.purposes.items() if {"e", "f"} & set(purpose.get("legal_basis") or [])]


def purpose_named(datamap: DataMap, text: str) -> str:
    """Return the purpose key the person's words name (its key, or its Danish or English name), else the words."""
    wanted = (text or "").strip().lower()
    for key, purpose in datamap.purposes.items():
        if wanted == key.lower() or wanted in {name.strip().lower() for name in purpose["name"].values() if name}:
            return key
    return (text or "").strip()


class Objection(RightBase):
    right = Right.OBJECTION
    operations = (Operation.CONSENT_WITHDRAWAL, Operation.AUDIENCE_REMOVAL)

    def notified_operation_for(self, request: Request) -> str | None:
        # CCPA regs § 7027(g)(2)-(3): those the sensitive personal information was disclosed to are told of a limit.
        return Operation.CONSENT_WITHDRAWAL if _limits(request) else None

    def consents(self, request: Request, datamap: DataMap) -> list[str]:
        absolute, _weighed = objection_split(request, datamap)
        return sorted({datamap.purposes[p]["consent_key"] for p in absolute} - {""})

    def fan_out(self, ctx: PlanContext) -> None:
        request, datamap, identifiers = ctx.request, ctx.datamap, ctx.plan.identifiers
        absolute, weighed = objection_split(request, datamap)
        if absolute and _limits(request):
            restrictions_record(request=request, identifiers=identifiers, ground=LIMIT_SENSITIVE, purposes=absolute)
            consents = self.consents(request, datamap)
            # Only the consents tied to the limited purposes are withdrawn; with none, no source is asked anything.
            self.jobs(ctx, consent_specs(datamap, consents) if consents else [])
        elif absolute:
            # GDPR Art. 21(3): absolute and immediate; no balancing.
            restrictions_record(
                request=request, identifiers=identifiers, ground=OBJECTION_DIRECT_MARKETING, purposes=absolute
            )
            if _suppresses(request):
                # No marketing at all any more: imports must not bring the person back to the lists.
                suppression_add(request=request, identifiers=identifiers, reason=SuppressionReason.OBJECTION)
            specs = consent_specs(datamap, self.consents(request, datamap))
            asked = {key for key, operation, _input in specs if operation == Operation.AUDIENCE_REMOVAL}
            for key, source in datamap.sources.items():
                if key not in asked and set(absolute) & set(source["purposes"]) and _audience(datamap, key):
                    specs.append((key, Operation.AUDIENCE_REMOVAL, {}))
            self.jobs(ctx, specs)
        if weighed:
            # GDPR Art. 18(1)(d): processing for the objected purposes is restricted while staff weigh it.
            restrictions_record(request=request, identifiers=identifiers, ground=OBJECTION_PENDING, purposes=weighed)
        self.stage(ctx, PlanStage.RUNNING)

    def stage_finished(self, ctx: PlanContext) -> None:
        _absolute, weighed = objection_split(ctx.request, ctx.datamap)
        if weighed:
            self.await_staff(ctx, PlanStage.AWAITING_DECISION)
        else:
            self.finish(ctx)

    def outcome_build(self, request: Request, plan: Plan, datamap: DataMap) -> Outcome:
        outcome = Outcome(right=request.right, sources=sources_outcome(request, datamap, list(self.operations)))
        consents_outcome(outcome, datamap, self.consents(request, datamap), plan.consents)
        absolute, weighed = objection_split(request, datamap)
        outcome.items.append(
            {
                "key": "",
                "state": "stopped",
                "purposes": absolute,
                "weighed": weighed,
                "suppressed": _suppresses(request),
                "limited": _limits(request),
            }
        )
        return outcome


def _suppresses(request: Request) -> bool:
    """Return whether the objection puts the person on the suppression list: an objection to all direct marketing."""
    return request.details.get("scope") == ObjectionScope.DIRECT_MARKETING


def _limits(request: Request) -> bool:
    """Return whether the objection is a Californian's request to limit the use of sensitive personal information."""
    return request.details.get("scope") == ObjectionScope.SENSITIVE


def _audience(datamap: DataMap, key: str) -> bool:
    try:
        return connector_get(key, datamap).supports(Operation.AUDIENCE_REMOVAL)
    except SourceError:
        return False


HANDLER = Objection()
RUNNERS: dict = {}


def objection_decide(*, request: Request, upheld: bool, reasons: str, actor: Actor) -> Request:
    """Record the balancing of an objection (GDPR Art. 21(1)) and close the request with its reasons.

    Upheld: processing for the objected purposes stops for good. Not upheld: the
    requester gets the reasons, with the right to complain (Art. 12(4)), and the
    interim restriction is lifted only once that letter has been sent.
    """
    reasons = (reasons or "").strip()
    if not reasons:
        raise RequestInvalid({"reasons": [_("Give the reasons for the balancing decision.")]})
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        workflow.transition_require(request, "objection_decide")
        plan = Plan.objects.get(request=request)
        if plan.stage != PlanStage.AWAITING_DECISION:
            raise TransitionError(
                _("Request %(reference)s is not waiting for a balancing decision.") % {"reference": request.reference}
            )
        pending = request.restrictions.filter(ground=OBJECTION_PENDING, lifted_at__isnull=True)
        purposes = sorted(set(pending.values_list("purpose", flat=True)))
        if upheld:
            # The interim restriction becomes the objection's permanent stop for the purposes objected to;
            # where the person named none the map knows, for every purpose.
            restrictions_record(
                request=request,
                identifiers=plan.identifiers,
                ground=OBJECTION_UPHELD,
                purposes=[p for p in purposes if p] or purposes,
            )
            pending.update(lifted_at=timezone.now())
        plan.decision = "upheld" if upheld else "rejected"
        plan.decision_reasons = reasons
        plan.stage = PlanStage.DONE
        plan.save(update_fields=["decision", "decision_reasons", "stage", *plan.forget(), "updated_at"])
        request = workflow.request_objection_decided(request=request, upheld=upheld, actor=actor)
        datamap = datamap_current()
        if datamap is not None:
            HANDLER.outcome_finish(request, plan, datamap)
        if upheld:
            workflow.request_complete(request=request, actor=actor, reasons=reasons)
        else:
            workflow.request_refuse(request=request, ground="other", reasons=reasons, actor=actor)
            # GDPR Art. 18(1)(d), 18(3): the interim restriction holds until the decision letter has gone out.
            letter = request.messages.filter(kind="refused").order_by("-pk").first()
            if letter is not None:
                restriction_lift_after_letter(request=request, message=letter, grounds=[OBJECTION_PENDING])
    request.refresh_from_db()
    return request

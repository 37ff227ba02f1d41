"""The right of access (GDPR Art. 15) and data portability (Art. 20): collect per source, bundle, deliver.

Each source that holds data streams the person's records into sealed staged
files (dsr.exports.staging), reporting per table how many it found; a source
worked by hand gets a task whose owner uploads what they found. The bundle
job builds the ZIP with the Art. 15 information made for this person
(dsr.exports.art15: purposes, recipients and transfers that apply to the data
found and the consents given). It is released to the person, or held for the
privacy team to review first (DSR_BUNDLE_REVIEW).

Portability covers only data the person provided, from processing based on
consent or a contract (Art. 20(1)); with nothing of that kind, the request is
refused with the reasons and a pointer to the right of access.
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.datamap.lineage import group_lineage
from dsr.datamap.schema import DataMap
from dsr.emails import absolute_url
from dsr.engine.manual import task_step
from dsr.engine.registry import JobContext, PlanContext, Step
from dsr.exports.bundle import bundle_build
from dsr.exports.delivery import bundle_discard, bundle_release, bundle_review_await
from dsr.exports.staging import records_stage, staging_sweep
from dsr.models import (
    AuditAction,
    BundleStatus,
    Job,
    JobStatus,
    Operation,
    PlanStage,
    RefusalGround,
    Request,
    Right,
)
from dsr.rights.base import Right as RightBase
from dsr.rights.confirmation import access_confirmation_send
from dsr.rights.outcome import Outcome
from dsr.sources.base import READ, Fact, SourceTransientError
from dsr.sources.batches import RecordBatch

SYSTEM = Actor.system()


class Access(RightBase):
    right = Right.ACCESS
    operations = (Operation.ACCESS,)

    def sources(self, ctx: PlanContext) -> list[str]:
        return self.sources_doing(ctx, Operation.ACCESS)

    def fan_out(self, ctx: PlanContext) -> None:
        self.jobs(ctx, [(key, Operation.ACCESS, {}) for key in self.sources(ctx)])
        self.stage(ctx, PlanStage.RUNNING)

    def stage_finished(self, ctx: PlanContext) -> None:
        if ctx.plan.stage == PlanStage.RUNNING:
            outcome = self.outcome_finish(ctx.request, ctx.plan, ctx.datamap)
            audit_record(
                actor=SYSTEM,
                action=AuditAction.COLLECTION_DONE,
                request=ctx.request,
                data={
                    "sources": len(outcome.sources),
                    "holding": sum(s.state != "nothing_found" for s in outcome.sources),
                },
            )
            if self.nothing_to_send(ctx, outcome):
                return
            self.jobs(ctx, [("", Operation.BUNDLE, {})])
            self.stage(ctx, PlanStage.COLLECTED)
        elif ctx.plan.stage == PlanStage.COLLECTED:
            self.deliver(ctx)

    def nothing_to_send(self, ctx: PlanContext, outcome: Outcome) -> bool:
        """Return whether the request was answered without a bundle (access always sends one)."""
        return False

    def job_reported(self, job: Job) -> None:
        # LGPD Art. 19 I: whether data was found, at once, once every source has been searched.
        if job.operation == Operation.ACCESS:
            access_confirmation_send(request_id=job.request_id)

    def deliver(self, ctx: PlanContext) -> None:
        """Send the built bundle, or hold it for staff review (DSR_BUNDLE_REVIEW); drop what was staged."""
        request = ctx.request
        job = request.jobs.get(operation=Operation.BUNDLE)
        bundle = request.bundles.get(pk=job.result["bundle"])
        for other in request.bundles.filter(status=BundleStatus.BUILDING).exclude(pk=bundle.pk):
            bundle_discard(bundle=other, actor=SYSTEM)
        request_id = request.pk
        transaction.on_commit(lambda: staging_sweep(request_id))
        if settings.DSR_BUNDLE_REVIEW:
            bundle_review_await(bundle=bundle)
            self.stage(ctx, PlanStage.REVIEW)
        else:
            self.stage(ctx, PlanStage.DONE)
            bundle_release(bundle=bundle, actor=SYSTEM)

    def plan_closed(self, ctx: PlanContext) -> None:
        # An export not sent before the request closed is not kept (a released one lives until it expires).
        for bundle in ctx.request.bundles.filter(status__in=(BundleStatus.BUILDING, BundleStatus.REVIEW)):
            bundle_discard(bundle=bundle, actor=SYSTEM)
        request_id = ctx.request.pk
        transaction.on_commit(lambda: staging_sweep(request_id))


def portable_groups(datamap: DataMap, key: str) -> set[str]:
    """Return the record groups of a source the portability right covers (GDPR Art. 20(1)).

    Data the person provided (``provided_by_subject``, observed activity included) in a group whose
    purposes rest on consent or a contract (Art. 20(1)(a)); data kept on legitimate interests alone is not
    covered, even if the person provided it.
    """
    source = datamap.sources[key]
    portable = set()
    for group in source["provided_by_subject"]:
        purposes = group_lineage(datamap, key, group)["purposes"]
        if any({"a", "b"} & set(datamap.purposes[p]["legal_basis"]) for p in purposes if p in datamap.purposes):
            portable.add(group)
    return portable


def _portability_reasons(request: Request) -> str:
    """Return the reasons a portability request with nothing to port is refused, in the person's language."""
    access_url = absolute_url(reverse("dsr:request_form", kwargs={"right": Right.ACCESS}))
    with translation.override(request.language):
        return _(
            "The right to data portability covers only personal data you have provided to us, and only where we "
            "process it on the basis of your consent or a contract with you (GDPR Art. 20(1)). We hold no such "
            "data about you, so there is nothing we can send you in a machine-readable format. You can still ask "
            "for a copy of all the personal data we hold about you, with our purposes, recipients and how long we "
            "keep it, under your right of access (GDPR Art. 15): %(url)s"
        ) % {"url": access_url}


class Portability(Access):
    right = Right.PORTABILITY

    def sources(self, ctx: PlanContext) -> list[str]:
        # GDPR Art. 20(1)(a): only processing based on consent or on a contract, and only what the person provided.
        return [key for key in super().sources(ctx) if portable_groups(ctx.datamap, key)]

    def fan_out(self, ctx: PlanContext) -> None:
        super().fan_out(ctx)
        if not ctx.request.jobs.filter(operation=Operation.ACCESS).exists():
            self.refuse_nothing_portable(ctx)

    def nothing_to_send(self, ctx: PlanContext, outcome: Outcome) -> bool:
        provided = sum(
            job.result.get("provided", 0)
            for job in ctx.request.jobs.filter(operation=Operation.ACCESS, status=JobStatus.DONE)
        )
        if provided:
            return False
        self.refuse_nothing_portable(ctx)
        return True

    def refuse_nothing_portable(self, ctx: PlanContext) -> None:
        self.request_refuse(ctx, ground=RefusalGround.NOT_COVERED, reasons=_portability_reasons(ctx.request))
        request_id = ctx.request.pk
        transaction.on_commit(lambda: staging_sweep(request_id))


# --- Job runners ---------------------------------------------------------------------------


def _run_access(ctx: JobContext) -> Step:
    connector = ctx.connector()
    spec = connector.task_for(Operation.ACCESS)
    if spec is not None:
        return task_step(ctx, spec)
    consents: set[str] = set()
    portability = ctx.request.right == Right.PORTABILITY
    portable = portable_groups(ctx.datamap, ctx.job.source_key) if portability else set()

    def observed(records):
        for record in records:
            if isinstance(record, RecordBatch):
                consents.update(connector.batch_consents(record))
            elif given := connector.consent_given(record):
                consents.add(given)
            if portability and record.table not in portable:
                continue  # GDPR Art. 20(1)(a): not processed on consent or a contract
            yield record

    # Streamed into sealed per-table files in bundle storage; the bundle job builds the ZIP from them.
    try:
        result = records_stage(
            # A connector that reads rows in batches hands them over so (dsr.sources.batches): no Record per row.
            observed(connector.record_batches(ctx.identifiers, reference=ctx.request.reference)),
            request_id=ctx.request.pk,
            source_key=ctx.job.source_key,
            # GDPR Art. 20(1): only data the person provided, including observed activity.
            provided_only=portability,
            # An access bundle also holds each table as a CSV for people, in the request's language.
            readable=None if portability else ctx.request.language,
        )
    except OSError as exc:
        raise SourceTransientError("bundle storage", f"could not store the records ({type(exc).__name__})") from None
    result["consents"] = sorted(consents)
    result["facts"] = [
        Fact(
            table=table, action=READ, found=entry["records"], categories=sorted(set(entry["categories"].values()))
        ).to_dict()
        for table, entry in result["staged"].items()
    ]
    return Step(JobStatus.DONE, result, {"records": result["records"], "provided": result["provided"]})


def _run_bundle(ctx: JobContext) -> Step:
    request = ctx.request
    # A run that died before recording its result left a bundle behind: it is replaced.
    for earlier in request.bundles.filter(status=BundleStatus.BUILDING):
        bundle_discard(bundle=earlier, actor=SYSTEM)
    try:
        bundle = bundle_build(request=request, datamap=ctx.datamap)
    except OSError as exc:
        raise SourceTransientError("bundle storage", f"could not build the bundle ({type(exc).__name__})") from None
    result = {"bundle": bundle.pk, "files": bundle.files, "bytes": bundle.plain_size, "records": bundle.records}
    return Step(JobStatus.DONE, result, {"files": bundle.files, "records": bundle.records})


RUNNERS = {Operation.ACCESS: _run_access, Operation.BUNDLE: _run_bundle}
HANDLER = Access()
PORTABILITY = Portability()

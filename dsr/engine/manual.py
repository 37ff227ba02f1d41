"""Work a person does by hand: a ManualTask per request, source and operation, and the owner's attestation.

A source worked by hand (``Connector.task_for``) or one that cannot do an
operation itself gets a task with instructions for a named owner; the job
waits until the owner says what they found and did. That finding is the
fact the letters and notices use: "done" (the person's data was there and was
handled), "nothing found", or "could not be done" with the reasons.
"""

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap, localised
from dsr.engine.dispatch import jobs_wake
from dsr.engine.registry import JobContext, Step
from dsr.models import (
    ActorType,
    AuditAction,
    JobStatus,
    ManualFinding,
    ManualTask,
    ManualTaskStatus,
    Operation,
    Request,
)
from dsr.sources.base import TASK, Fact, SourcePermanentError


class ManualTaskError(Exception):
    """A manual task cannot be completed as asked; str() says why."""


def manual_task_create(*, request: Request, spec: dict, actor: Actor) -> ManualTask:
    """Store the task ``spec`` (source, operation, owner, instructions {da, en}) for ``request``, once."""
    with transaction.atomic():
        task, created = ManualTask.objects.get_or_create(
            request=request,
            source_key=spec["source"],
            operation=spec["operation"],
            defaults={
                "owner": spec["owner"],
                "instructions": spec["instructions"].get(request.language) or spec["instructions"]["en"],
            },
        )
        if created:
            audit_record(
                actor=actor,
                action=AuditAction.MANUAL_TASK_CREATED,
                request=request,
                data={"task": task.pk, "source": task.source_key, "operation": task.operation},
            )
    return task


def manual_task_complete(
    *, task: ManualTask, finding: str, attestation: str, file: UploadedFile | None = None, actor: Actor
) -> ManualTask:
    """Record what the owner found and did, with their attestation and an optional file for the person's export.

    The job waiting for the task goes on at once.
    """
    if finding not in ManualFinding.values:
        raise ManualTaskError(_("Say what you found: done, nothing found, or could not be done."))
    attestation = (attestation or "").strip()
    if not attestation:
        raise ManualTaskError(_("Say what was done: the attestation is required."))
    if file is not None and finding != ManualFinding.DONE:
        raise ManualTaskError(_("A file belongs to a task that found the person's data; choose done or leave it out."))
    with transaction.atomic():
        # The request first, as the worker's jobs lock it before they record: taken after the audit chain, a job
        # holding the request would wait on this transaction while its foreign-key checks wait on the job.
        Request.objects.select_for_update().filter(pk=task.request_id).values_list("pk", flat=True).first()
        task = ManualTask.objects.select_for_update().get(pk=task.pk)
        if task.status != ManualTaskStatus.OPEN:
            raise ManualTaskError(_("This task is no longer open."))
        task.status = ManualTaskStatus.DONE
        task.finding = finding
        task.attestation = attestation
        task.completed_at = timezone.now()
        task.completed_by_id = int(actor.id) if actor.type == ActorType.STAFF else None
        fields = ["status", "finding", "attestation", "completed_at", "completed_by"]
        if file is not None:
            task.uploaded_file.save(file.name, file, save=False)
            fields.append("uploaded_file")
        task.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.MANUAL_TASK_COMPLETED,
            request=task.request,
            data={
                "task": task.pk,
                "source": task.source_key,
                "operation": task.operation,
                "finding": finding,
                "file": file is not None,
            },
        )
        # The job waiting for this task goes on now, not at the next poll.
        jobs_wake(request=task.request, source_key=task.source_key, operations=[task.operation])
    return task


# --- The step a job takes while a person works ----------------------------------------


def task_fallback_spec(datamap: DataMap, source_key: str, operation: str) -> dict:
    """Return a task for the privacy team where a source cannot do ``operation`` itself."""
    name = datamap.sources[source_key]["name"] if source_key else {}
    texts = {
        Operation.RESTRICTION: (
            "Markér personens data i {name} som begrænset (databeskyttelsesforordningens artikel 18), "
            "eller bed leverandøren om det, og bekræft hvordan.",
            "Mark the person's data in {name} as restricted (GDPR Art. 18), or ask the supplier to, and confirm how.",
        ),
        Operation.RESTRICTION_LIFT: (
            "Ophæv begrænsningen af personens data i {name} og bekræft det.",
            "Lift the restriction of the person's data in {name} and confirm it.",
        ),
        Operation.CONSENT_WITHDRAWAL: (
            "Registrér i {name}, at personen har trukket sit samtykke tilbage, og bekræft det.",
            "Record in {name} that the person has withdrawn their consent, and confirm it.",
        ),
        Operation.RECTIFICATION: (
            "Ret personens oplysninger i {name} som anmodet og bekræft det.",
            "Correct the person's data in {name} as requested and confirm it.",
        ),
    }
    da, en = texts[operation]
    return {
        "source": source_key,
        "operation": str(operation),
        "owner": datamap.controller.get("dpo_email") or datamap.controller["email"],
        "instructions": {"da": da.format(name=localised(name, "da")), "en": en.format(name=localised(name, "en"))},
    }


def _task_categories(datamap: DataMap, source_key: str) -> list[str]:
    """Return the categories a person's work by hand touched: the source's task group's, else all it holds."""
    source = datamap.sources.get(source_key) or {}
    groups = source.get("groups") or {}
    if "task" in groups:
        return list(groups["task"].get("categories", []))
    return list(dict.fromkeys(category for group in groups.values() for category in group.get("categories", [])))


def task_fact(task: ManualTask, datamap: DataMap) -> Fact:
    """Return what an attested task reports: the person's data found and handled, or nothing there."""
    done = task.finding == ManualFinding.DONE
    return Fact(
        table="task",
        action=TASK,
        found=int(done),
        changed=int(done),
        categories=_task_categories(datamap, task.source_key) if done else [],
        confirmed=True,
        reference=str(task.pk),
    )


def task_step(ctx: JobContext, spec: dict) -> Step:
    """Create the owner's task once; the job is done when the owner has said what they found and did.

    A task the owner could not carry out fails the job for good: the privacy team retries it (the
    task opens again) or closes the request partly done with the reasons.
    """
    task = manual_task_create(request=ctx.request, spec=spec, actor=Actor.system())
    if task.status == ManualTaskStatus.CANCELLED:
        raise SourcePermanentError(spec["source"] or "dsr", "the manual task was cancelled")
    result = {"task": task.pk, "owner": task.owner}
    if task.status != ManualTaskStatus.DONE:
        return Step(JobStatus.WAITING, result, {"tasks": 1})
    if task.finding == ManualFinding.NOT_DONE:
        raise SourcePermanentError(
            spec["source"] or "dsr", f"the owner could not do manual task {task.pk}; see their attestation"
        )
    fact = task_fact(task, ctx.datamap)
    result.update(finding=task.finding, facts=[fact.to_dict()])
    return Step(JobStatus.DONE, result, {"tasks": 1, "found": fact.found or 0})


def tasks_reopen(*, request: Request, source_key: str, operation: str) -> int:
    """Open again the tasks of a job whose owner could not do them, so a retried job waits for a new answer."""
    return ManualTask.objects.filter(
        request=request, source_key=source_key, operation=operation, finding=ManualFinding.NOT_DONE
    ).update(status=ManualTaskStatus.OPEN, finding="", completed_at=None, completed_by=None)

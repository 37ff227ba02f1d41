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
from dsr.engine.dispatch import jobs_wake
from dsr.models import ActorType, AuditAction, ManualFinding, ManualTask, ManualTaskStatus, Request


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

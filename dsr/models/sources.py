"""Work on a data source that a person does by hand (the `manual` connector kind)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.jobs import Operation
from dsr.models.requests import Request
from dsr.storage import sealed_storage


class ManualFinding(models.TextChoices):
    """What the owner of a manual task found and did: the fact the letters and notices are made from."""

    DONE = "done", _("Done: the person's data was there and was handled as asked")
    NOTHING_FOUND = "nothing_found", _("Nothing to do: the person has no data there")
    NOT_DONE = "not_done", _("Could not be done (say why in the attestation)")


class ManualTaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


def manual_upload_path(task: "ManualTask", filename: str) -> str:
    """Store uploads under uploads/<request id>/<random>/ with the base name given (the bundle's file name)."""
    return f"uploads/{task.request_id}/{uuid.uuid4().hex}/{filename.rsplit('/', 1)[-1]}"


class ManualTask(models.Model):
    """Something a named owner must do in a system dsr cannot reach, with their attestation."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="manual_tasks", verbose_name=_("request")
    )
    source_key = models.SlugField(max_length=64, verbose_name=_("source key"))
    operation = models.CharField(max_length=32, choices=Operation.choices, verbose_name=_("operation"))
    instructions = models.TextField(verbose_name=_("instructions"))
    owner = models.CharField(
        max_length=200, help_text=_("The named person or team who does the task."), verbose_name=_("owner")
    )
    status = models.CharField(
        max_length=16, choices=ManualTaskStatus.choices, default=ManualTaskStatus.OPEN, verbose_name=_("status")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finding = models.CharField(max_length=16, choices=ManualFinding.choices, blank=True, verbose_name=_("finding"))
    attestation = models.TextField(
        blank=True, help_text=_("What was done, in the owner's words."), verbose_name=_("attestation")
    )
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("completed by"),
    )
    # For access requests the file joins the person's export bundle.
    # Sealed at rest in the bundle storage (dsr.storage.SealedStorage).
    uploaded_file = models.FileField(
        upload_to=manual_upload_path,
        storage=sealed_storage,
        blank=True,
        max_length=255,
        verbose_name=_("uploaded file"),
    )

    class Meta:
        verbose_name = _("manual task")
        verbose_name_plural = _("manual tasks")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "source_key", "operation"], name="dsr_manual_task_once_per_operation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} in {self.source_key}"

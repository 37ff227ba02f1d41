"""The requester's answers to what the privacy team asked while the clock stood still (GDPR Art. 12(6))."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Request, Suspension
from dsr.storage import sealed_storage


class AnswerFileKind(models.TextChoices):
    """The kinds of file a requester may send, recognised from their content, not their name."""

    PDF = "pdf", _("PDF document")
    JPEG = "jpg", _("JPEG image")
    PNG = "png", _("PNG image")
    TEXT = "txt", _("Plain text")


def answer_upload_path(answer_file: "SubjectAnswerFile", filename: str) -> str:
    """Store a file under answers/<request id>/<random>: never the name the person gave it."""
    return f"answers/{answer_file.answer.request_id}/{uuid.uuid4().hex}"


class SubjectAnswer(models.Model):
    """What the requester sent from the status page in answer to one suspension's question."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="answers", verbose_name=_("request"))
    # One answer per question: a form sent twice stores one answer and restarts the clock once.
    suspension = models.OneToOneField(
        Suspension, on_delete=models.CASCADE, related_name="answer", verbose_name=_("suspension")
    )
    text = models.TextField(blank=True, verbose_name=_("text"))
    received_at = models.DateTimeField(verbose_name=_("received at"))

    class Meta:
        verbose_name = _("answer from the requester")
        verbose_name_plural = _("answers from the requester")
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"answer to suspension {self.suspension_id}"


class SubjectAnswerFile(models.Model):
    """A file sent with an answer, sealed at rest in the bundle storage (dsr.storage.SealedStorage)."""

    answer = models.ForeignKey(SubjectAnswer, on_delete=models.CASCADE, related_name="files", verbose_name=_("answer"))
    # The name the person gave the file: shown to staff, never used as a storage path.
    name = models.CharField(max_length=255, verbose_name=_("file name"))
    kind = models.CharField(max_length=8, choices=AnswerFileKind.choices, verbose_name=_("kind"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    file = models.FileField(
        upload_to=answer_upload_path, storage=sealed_storage, max_length=255, verbose_name=_("file")
    )

    class Meta:
        verbose_name = _("file from the requester")
        verbose_name_plural = _("files from the requester")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of answer {self.answer_id}"

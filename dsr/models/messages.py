"""Every message sent about a request, for the timeline and the outbox."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Language, Request


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    """An email to the requester (or staff) about a request; the body is not kept."""

    request = models.ForeignKey(
        Request, null=True, blank=True, on_delete=models.CASCADE, related_name="messages", verbose_name=_("request")
    )
    kind = models.CharField(max_length=48, help_text=_("The template set, e.g. 'receipt'."), verbose_name=_("kind"))
    language = models.CharField(max_length=2, verbose_name=_("language"))
    to_staff = models.BooleanField(default=False, verbose_name=_("to staff"))
    subject = models.CharField(max_length=255, blank=True, verbose_name=_("subject"))
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    # When the last attempt began: a queued message attempted long ago lost its retry (dsr.tasks).
    attempted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("attempted at"))
    last_error = models.CharField(max_length=255, blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    # Values the template needs that cannot be rebuilt later (a one-time code or
    # link), encrypted with dsr.crypto; cleared as soon as the message is sent.
    sealed_context = models.TextField(blank=True, verbose_name=_("sealed context"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.language}) for request {self.request_id}"


class MessageTemplatePart(models.TextChoices):
    SUBJECT = "subject", _("Subject")
    TEXT = "text", _("Text body")
    HTML = "html", _("HTML body")


class MessageTemplate(models.Model):
    """A privacy admin's replacement for one part of one message's file template in one language.

    Without a row the file under templates/dsr/emails/<kind>/ is used; deleting the row returns to it.
    Saved and reset only through dsr.message_templates, which checks the template and audits the change.
    """

    kind = models.CharField(max_length=48, help_text=_("The template set, e.g. 'receipt'."), verbose_name=_("kind"))
    language = models.CharField(max_length=2, choices=Language.choices, verbose_name=_("language"))
    part = models.CharField(max_length=8, choices=MessageTemplatePart.choices, verbose_name=_("part"))
    body = models.TextField(verbose_name=_("body"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("updated by")
    )
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "language", "part"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "language", "part"], name="dsr_message_template_once_per_part")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.get_part_display()} ({self.language})"

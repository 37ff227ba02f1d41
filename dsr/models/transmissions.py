"""GDPR Art. 20(2): the person's portability export sent directly to another controller they named."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.exports import Bundle
from dsr.models.messages import Message
from dsr.models.requests import Request


class TransmissionChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    ENDPOINT = "endpoint", _("HTTPS endpoint")


class TransmissionStatus(models.TextChoices):
    PENDING = "pending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Could not be sent")
    DECLINED = "declined", _("Declined by the privacy team")


class Transmission(models.Model):
    """One direct transmission of a request's portability bundle: the receiver, its own link, and what happened.

    The link's token is 256 random bits kept only as its SHA-256, like the person's own download links; the
    receiver's downloads are counted here, apart from the person's. ``recipient_email`` and ``recipient_url``
    are blanked when the request is purged (``recipient_name`` too: it may name a person's own business).
    """

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="transmissions", verbose_name=_("request")
    )
    bundle = models.ForeignKey(
        Bundle,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transmissions",
        verbose_name=_("export bundle"),
    )
    recipient_name = models.CharField(max_length=200, verbose_name=_("recipient name"))
    recipient_email = models.EmailField(blank=True, verbose_name=_("recipient email"))
    recipient_url = models.URLField(max_length=500, blank=True, verbose_name=_("recipient URL"))
    channel = models.CharField(max_length=16, choices=TransmissionChannel.choices, verbose_name=_("channel"))
    status = models.CharField(
        max_length=16, choices=TransmissionStatus.choices, default=TransmissionStatus.PENDING, verbose_name=_("status")
    )
    # Why staff declined (GDPR Art. 20(2) "where technically feasible"), in the words the person is told.
    decline_reasons = models.TextField(blank=True, verbose_name=_("decline reasons"))
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("token hash"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    max_downloads = models.PositiveIntegerField(default=0, verbose_name=_("max downloads"))
    downloads = models.PositiveIntegerField(default=0, verbose_name=_("downloads"))
    last_download_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last download at"))
    # Of the ZIP as the receiver downloads it (plaintext), named in the notice so it can check what it got.
    bundle_sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("bundle SHA-256"))
    # The endpoint channel's link token, sealed with dsr.crypto until the notice has gone (or failed for good).
    sealed_token = models.TextField(blank=True, verbose_name=_("sealed token"))
    # The email to the receiver (email channel), whose sending decides whether it was sent.
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("message")
    )
    # The endpoint's attempts (endpoint channel): counted, the last answer kept for staff.
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("last response code"))
    last_error = models.CharField(max_length=255, blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("settled at"))

    class Meta:
        verbose_name = _("transmission")
        verbose_name_plural = _("transmissions")
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["request"], name="dsr_transmission_once_per_request")]

    def __str__(self) -> str:
        return f"transmission {self.pk} of request {self.request_id} ({self.status})"

    @property
    def downloads_left(self) -> int:
        return max(self.max_downloads - self.downloads, 0)

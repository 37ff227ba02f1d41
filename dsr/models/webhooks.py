"""Outbound webhooks (endpoints and their deliveries) and the record of processors' inbound callbacks."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    REQUEST_RECEIVED = "request.received", _("Request received")
    REQUEST_VERIFIED = "request.verified", _("Request verified")
    REQUEST_COMPLETED = "request.completed", _("Request completed (fully or partially)")
    REQUEST_REFUSED = "request.refused", _("Request refused")
    REQUEST_DEADLINE_NEAR = "request.deadline_near", _("Request deadline near")
    REQUEST_FEE_REQUESTED = "request.fee_requested", _("Fee asked: the request waits for payment")
    REQUEST_FEE_SETTLED = "request.fee_settled", _("Fee paid, waived or withdrawn from")
    JOB_FAILED = "job.failed", _("Job failed for good")
    TEST = "webhook.test", _("Test event")


class WebhookEndpoint(models.Model):
    """A receiver of signed events, registered in admin; its signing secret is kept sealed, never plain."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    url = models.URLField(max_length=500, verbose_name=_("URL"))
    # crypto.seal({"secret": "whsec_..."}): the secret must be recoverable to sign, so it is encrypted, not hashed.
    sealed_secret = models.TextField(editable=False, verbose_name=_("sealed secret"))
    # Event types it receives; empty means every event (the test event always goes to the endpoint asked).
    events = models.JSONField(default=list, blank=True, verbose_name=_("events"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def subscribes(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event to one endpoint: its payload, attempts and outcome. A re-send is a new delivery."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("endpoint")
    )
    # The webhook-id header: the same for every attempt and re-send of the event, so receivers can deduplicate.
    event_id = models.UUIDField(verbose_name=_("event id"))
    event_type = models.CharField(max_length=40, choices=WebhookEvent.choices, verbose_name=_("event type"))
    # Ids, kinds, statuses and dates only: never the requester's email, name or identifiers.
    payload = models.JSONField(verbose_name=_("payload"))
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("last response code"))
    # What went wrong, in our words (a timeout, a status code): the receiver's answer body is never stored.
    last_error = models.CharField(max_length=255, blank=True, verbose_name=_("last error"))
    # Neither a worker nor the reconciler sends before this; while an attempt runs it is the attempt's lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next attempt at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("resent from")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="dsr_delivery_due_idx")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint} ({self.status})"


class ProcessorCallback(models.Model):
    """An accepted status callback from a processor; its signature is kept (hashed) so a replay is refused."""

    source_key = models.CharField(max_length=64, verbose_name=_("source key"))
    signature_digest = models.CharField(max_length=64, unique=True, verbose_name=_("signature digest"))
    # The processor's id for this callback, covered by its signature: a resend under a new timestamp is refused.
    event_id = models.CharField(max_length=100, blank=True, default="", verbose_name=_("event id"))
    subject_request_id = models.CharField(max_length=100, verbose_name=_("subject request id"))
    request_status = models.CharField(max_length=16, verbose_name=_("request status"))
    job = models.ForeignKey(
        "dsr.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("job")
    )
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("processor callback")
        verbose_name_plural = _("processor callbacks")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["received_at"], name="dsr_callback_received_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["source_key", "event_id"], condition=~models.Q(event_id=""), name="dsr_callback_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_key}: {self.request_status}"

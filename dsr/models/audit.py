"""The append-only, hash-chained audit trail (see dsr/audit.py and docs/decisions/0004)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditImmutableError(Exception):
    """Raised when code tries to change or remove an audit event."""


class ActorType(models.TextChoices):
    STAFF = "staff", _("Staff")
    SUBJECT = "subject", _("Data subject")
    INTEGRATION = "integration", _("Integration")
    SYSTEM = "system", _("System")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutableError("Audit events cannot be updated.")

    def delete(self):
        raise AuditImmutableError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened: who, what, when, which ids. Never personal data."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(editable=False)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices, editable=False)
    actor_id = models.CharField(max_length=64, blank=True, editable=False)
    action = models.CharField(max_length=64, editable=False)
    request = models.ForeignKey(
        "dsr.Request", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events", editable=False
    )
    data = models.JSONField(default=dict, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["request", "seq"], name="dsr_audit_request_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        # Guard, not business logic: an event is written once by dsr.audit.audit_record.
        if not self._state.adding:
            raise AuditImmutableError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError("Audit events cannot be deleted.")


class AuditChainHead(models.Model):
    """A single row: the last sequence number and hash. Locked to append in order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="dsr_audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit head at #{self.last_seq}"

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


class AuditAction(models.TextChoices):
    """Everything the audit trail records: a closed set, each with the label the timeline shows."""

    REQUEST_SUBMITTED = "request.submitted", _("Request received")
    REQUEST_IMPORTED = "request.imported", _("Imported: handled before dsr")
    REQUEST_VERIFIED = "request.verified", _("Email confirmed")
    REQUEST_IDENTITY_CHECKED = "request.identity_checked", _("Identity checked")
    REQUEST_SUSPENDED = "request.suspended", _("Clock stopped: waiting for the requester")
    REQUEST_RESUMED = "request.resumed", _("Clock restarted")
    REQUEST_EXTENDED = "request.extended", _("Deadline extended")
    REQUEST_AWAITING_STAFF = "request.awaiting_staff", _("Waiting for the privacy team")
    REQUEST_APPROVED = "request.approved", _("Approved by the privacy team")
    REQUEST_NEEDS_ATTENTION = "request.needs_attention", _("Needs attention")
    REQUEST_BACK_IN_PROGRESS = "request.back_in_progress", _("Back in progress")
    REQUEST_REFUSED = "request.refused", _("Refused")
    REQUEST_COMPLETED = "request.completed", _("Completed")
    REQUEST_CANCELLED = "request.cancelled", _("Cancelled")
    REQUEST_EXPIRED = "request.expired", _("Expired unconfirmed")
    REQUEST_STATUS_LINK_REISSUED = "request.status_link_reissued", _("New status link sent")
    REQUEST_PURGED = "request.purged", _("Requester's details purged")
    REQUEST_ASSIGNED = "request.assigned", _("Assigned")
    REQUEST_NOTE_ADDED = "request.note_added", _("Internal note added")
    REQUEST_DEADLINE_NEAR = "request.deadline_near", _("Deadline near")
    REQUEST_RECEIPT_CONFIRMED = "request.receipt_confirmed", _("Receipt confirmed to the requester")
    REQUEST_ANSWERED = "request.answered", _("The requester answered what we asked")
    # CCPA regs § 7063: an authorised agent's filing, the consumer's confirmation and the team's decision.
    AGENT_FILED = "agent.filed", _("Filed by an authorised agent")
    AGENT_CONFIRMED = "agent.confirmed", _("The authorised agent confirmed their email")
    AGENT_CONSUMER_CONFIRMED = "agent.consumer_confirmed", _("The consumer confirmed the agent's permission")
    AGENT_CONSUMER_DENIED = "agent.consumer_denied", _("The consumer said they gave the agent no permission")
    AGENT_ACCEPTED = "agent.accepted", _("The agent's proof of authority accepted")
    AGENT_REFUSED = "agent.refused", _("The agent's proof of authority refused")
    AGENT_DOCUMENT_OPENED = "agent.document_opened", _("The agent's proof of authority was opened by staff")
    ANSWER_FILE_DOWNLOADED = "answer.file_downloaded", _("A file the requester sent was opened by staff")
    LETTER_DOWNLOADED = "letter.downloaded", _("Letter downloaded from the status page")
    FEE_REQUESTED = "fee.requested", _("Fee asked of the requester: waiting for payment")
    FEE_PAID = "fee.paid", _("Fee payment recorded")
    FEE_WAIVED = "fee.waived", _("Fee waived")
    FEE_WITHDRAWN = "fee.withdrawn", _("Request withdrawn instead of paying the fee")
    VERIFICATION_SENT = "verification.sent", _("Confirmation code sent")
    PREFERENCES_OPENED = "preferences.opened", _("Preference centre opened after the email was confirmed")
    PREFERENCES_WITHDRAWAL_FILED = "preferences.withdrawal_filed", _("Consent withdrawn in the preference centre")
    PREFERENCES_CONSENT_GIVEN = "preferences.consent_given", _("Consent given in the preference centre")
    VERIFICATION_FAILED = "verification.failed", _("Wrong confirmation code")
    PLAN_CREATED = "plan.created", _("Work planned in the sources")
    PLAN_UNMAPPED = "plan.unmapped", _("No data map: to be handled by hand")
    PLAN_APPROVED = "plan.approved", _("Plan approved")
    JOB_DONE = "job.done", _("A source reported what it did")
    JOB_WAITING = "job.waiting", _("A source waits for a processor or a person")
    JOB_FAILED = "job.failed", _("A source failed for good")
    JOB_RETRIED = "job.retried", _("Failed work started again")
    JOB_CALLBACK_RECEIVED = "job.callback_received", _("A processor reported back")
    COLLECTION_DONE = "collection.done", _("Collection done")
    ACCESS_CONFIRMATION_SENT = "access.confirmation_sent", _("Told the requester at once whether data was found")
    OUTCOME_RECORDED = "outcome.recorded", _("Result recorded from what the sources reported")
    OBJECTION_DECIDED = "objection.decided", _("Objection decided")
    MANUAL_TASK_CREATED = "manual_task.created", _("Manual task created")
    MANUAL_TASK_COMPLETED = "manual_task.completed", _("Manual task done")
    RECIPIENTS_DECIDED = "recipients.decided", _("Recipients to tell worked out (Art. 19)")
    RECIPIENT_NOTIFICATION_RECORDED = "recipient.notification_recorded", _("Recipient notification recorded")
    RECIPIENT_NOTIFIED_BY_HAND = "recipient.notified_by_hand", _("Recipient told by hand")
    RESTRICTION_LIFT_SCHEDULED = "restriction.lift_scheduled", _("Restriction lift announced to the requester")
    RESTRICTION_SUBJECT_TOLD = "restriction.subject_told", _("Requester told before lifting the restriction")
    RESTRICTION_LIFTED = "restriction.lifted", _("Restriction lifted")
    SUPPRESSION_ADDED = "suppression.added", _("Added to the suppression list")
    BUNDLE_AWAITING_REVIEW = "bundle.awaiting_review", _("Export waiting for staff review")
    BUNDLE_PREVIEWED = "bundle.previewed", _("Export previewed by staff")
    BUNDLE_RELEASED = "bundle.released", _("Export released to the requester")
    BUNDLE_DOWNLOADED = "bundle.downloaded", _("Export downloaded")
    BUNDLE_LINK_REISSUED = "bundle.link_reissued", _("New download link sent")
    BUNDLE_DAMAGED = "bundle.damaged", _("Export file failed its integrity check")
    BUNDLE_DISCARDED = "bundle.discarded", _("Export discarded")
    SWEEP_APPROVED = "sweep.approved", _("Retention sweep approved")
    SWEEP_DONE = "sweep.done", _("Retention sweep done")
    SWEEP_FAILED = "sweep.failed", _("Retention sweep failed")
    SWEEP_SCHEDULE_CHANGED = "sweep.schedule_changed", _("Retention sweep schedule changed")
    BUNDLE_PURGED = "bundle.purged", _("Export deleted after expiry")
    TRANSMISSION_STARTED = "transmission.started", _("Link to the export being sent to another company (Art. 20(2))")
    TRANSMISSION_SENT = "transmission.sent", _("Link to the export sent to another company")
    TRANSMISSION_FAILED = "transmission.failed", _("Link to the export could not be sent to another company")
    TRANSMISSION_DECLINED = "transmission.declined", _("Sending to another company declined")
    TRANSMISSION_RETRIED = "transmission.retried", _("Sending to another company started again")
    TRANSMISSION_DOWNLOADED = "transmission.downloaded", _("Export downloaded by the receiving company")
    REMINDERS_SENT = "reminders.sent", _("Deadline reminders sent to staff")
    STAFF_LOGGED_IN = "staff.logged_in", _("Staff member logged in")
    STAFF_LOGGED_OUT = "staff.logged_out", _("Staff member logged out")
    STAFF_TWO_FACTOR_ENROLLED = "staff.two_factor_enrolled", _("Two-factor device enrolled")
    STAFF_DENIED = "staff.denied", _("Action refused: beyond the user's role")
    DATAMAP_LOADED = "datamap.loaded", _("Data map loaded")
    MESSAGE_TEMPLATE_CHANGED = "message_template.changed", _("Message template changed")
    MESSAGE_TEMPLATE_RESET = "message_template.reset", _("Message template reset")
    APIKEY_CREATED = "apikey.created", _("API key created")
    APIKEY_REVOKED = "apikey.revoked", _("API key revoked")
    WEBHOOK_ENDPOINT_CREATED = "webhook.endpoint_created", _("Webhook endpoint registered")
    WEBHOOK_ENDPOINT_CHANGED = "webhook.endpoint_changed", _("Webhook endpoint changed")
    WEBHOOK_ENDPOINT_DEACTIVATED = "webhook.endpoint_deactivated", _("Webhook endpoint deactivated")
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", _("Webhook secret rotated")
    WEBHOOK_RESENT = "webhook.resent", _("Webhook sent again")
    WEBHOOK_TEST_SENT = "webhook.test_sent", _("Test webhook sent")
    AUDIT_EXPORTED = "audit.exported", _("Audit trail exported")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutableError("Audit events cannot be updated.")

    def delete(self):
        raise AuditImmutableError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened: who, what, when, which ids. Never personal data."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False, verbose_name=_("sequence number"))
    at = models.DateTimeField(editable=False, verbose_name=_("at"))
    actor_type = models.CharField(
        max_length=16, choices=ActorType.choices, editable=False, verbose_name=_("actor type")
    )
    actor_id = models.CharField(max_length=64, blank=True, editable=False, verbose_name=_("actor id"))
    action = models.CharField(max_length=64, choices=AuditAction.choices, editable=False, verbose_name=_("action"))
    request = models.ForeignKey(
        "dsr.Request",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        editable=False,
        verbose_name=_("request"),
    )
    data = models.JSONField(default=dict, blank=True, editable=False, verbose_name=_("data"))
    prev_hash = models.CharField(max_length=64, editable=False, verbose_name=_("previous hash"))
    hash = models.CharField(max_length=64, editable=False, verbose_name=_("hash"))

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
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
    last_seq = models.PositiveBigIntegerField(default=0, verbose_name=_("last sequence number"))
    last_hash = models.CharField(max_length=64, verbose_name=_("last hash"))

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="dsr_audit_head_singleton")]

    def __str__(self) -> str:
        return f"audit head at #{self.last_seq}"

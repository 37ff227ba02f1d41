"""The work a request becomes: a plan, its per-source jobs, and the registers rights leave behind.

The database is the truth about what is done; the broker only carries "go"
signals. See docs/decisions/0008-jobs.md.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.messages import Message
from dsr.models.requests import Request


class PlanStage(models.TextChoices):
    RESOLVING = "resolving", _("Finding the person in the sources")
    PLANNING = "planning", _("Working out what erasure would do")
    AWAITING_APPROVAL = "awaiting_approval", _("Waiting for staff approval")
    AWAITING_DECISION = "awaiting_decision", _("Waiting for the balancing decision")
    RUNNING = "running", _("Carrying out the request in the sources")
    NOTIFYING = "notifying", _("Telling the recipients")
    COLLECTED = "collected", _("Collected; building the export bundle")
    REVIEW = "review", _("The export bundle waits for staff to release it")
    DONE = "done", _("Done")
    NEEDS_ATTENTION = "needs_attention", _("A job failed for good")
    UNMAPPED = "unmapped", _("No data map loaded: handle by hand")
    CLOSED = "closed", _("Request closed")


class Plan(models.Model):
    """The per-request plan: the person's resolved identifiers and where the work stands."""

    request = models.OneToOneField(Request, on_delete=models.CASCADE, related_name="plan", verbose_name=_("request"))
    stage = models.CharField(
        max_length=32, choices=PlanStage.choices, default=PlanStage.RESOLVING, verbose_name=_("stage")
    )
    # {"email": [...], "phone": [...]}: personal data, needed by the jobs only; cleared when the request closes.
    identifiers = models.JSONField(default=dict, blank=True, verbose_name=_("identifiers"))
    # The consent keys the sources show the person gave at some time, and the identifiers each source holds
    # ({source: {kind: [...]}}): the GDPR Art. 19 lineage and what a notice may name. Cleared with the identifiers.
    consents = models.JSONField(default=list, blank=True, verbose_name=_("consents"))
    held_identifiers = models.JSONField(default=dict, blank=True, verbose_name=_("held identifiers"))
    # Sources that could not be asked during resolution: {source: problem} (problems never name the person).
    resolution_errors = models.JSONField(default=dict, blank=True, verbose_name=_("resolution errors"))
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    approved_by = models.CharField(
        max_length=160, blank=True, help_text=_("Actor type and id; never a subject."), verbose_name=_("approved by")
    )
    # Objections other than to direct marketing: the staff's balancing (GDPR Art. 21(1)).
    decision = models.CharField(max_length=16, blank=True, verbose_name=_("decision"))
    decision_reasons = models.TextField(blank=True, verbose_name=_("decision reasons"))
    # What the sources reported doing, as the right reads it (dsr/rights/outcome.py): the one source of every
    # letter, notice, status line and webhook about the result. Names tables and counts, never a person's values.
    outcome = models.JSONField(default=dict, blank=True, verbose_name=_("outcome"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return f"plan of {self.request.reference} ({self.stage})"

    # What the plan knows about the person, forgotten when nothing needs it any more.
    FORGOTTEN = {"identifiers": {}, "held_identifiers": {}, "consents": []}

    def forget(self) -> list[str]:
        """Clear what the plan knows about the person; return the fields to save."""
        for name, empty in self.FORGOTTEN.items():
            setattr(self, name, type(empty)())
        return list(self.FORGOTTEN)


class Operation(models.TextChoices):
    """What is asked of a source: one vocabulary from the right to the connector, its jobs and its tasks."""

    RESOLVE = "resolve", _("Find the person's identifiers")
    ACCESS = "access", _("Collect the person's data")
    BUNDLE = "bundle", _("Build the export bundle")
    ERASURE_PLAN = "erasure_plan", _("Work out what erasure would do")
    ERASURE = "erasure", _("Erase")
    RECTIFICATION_PLAN = "rectification_plan", _("Work out what the corrections would change")
    RECTIFICATION = "rectification", _("Correct")
    RESTRICTION = "restriction", _("Restrict processing")
    RESTRICTION_LIFT = "restriction_lift", _("Lift the restriction")
    CONSENT_WITHDRAWAL = "consent_withdrawal", _("Withdraw consent")
    AUDIENCE_REMOVAL = "audience_removal", _("Remove from the partner's audiences")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting for a processor or a person")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


JOB_FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """One operation on one source for one request; claimed by compare-and-set on ``status``."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("request"))
    # "" for request-wide jobs (identity resolution asks every source).
    source_key = models.CharField(max_length=64, blank=True, verbose_name=_("source key"))
    operation = models.CharField(max_length=32, choices=Operation.choices, verbose_name=_("operation"))
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, verbose_name=_("status")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    # The source's problem, never the person's data (SourceError messages name the source and the problem).
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    counts = models.JSONField(default=dict, blank=True, verbose_name=_("counts"))
    # Input: an approved erasure plan, the corrections, the consents. Output: the connector's result.
    plan = models.JSONField(default=dict, blank=True, verbose_name=_("plan"))
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))
    # What the connector keeps between runs: a system's id for an asynchronous job it was sent, so the run
    # after a worker stopped polls that job instead of sending another (dsr.sources.base.JobState).
    state = models.JSONField(default=dict, blank=True, verbose_name=_("connector state"))
    # The claim: a worker owns a running job until lease_expires_at; the reconciler re-queues it after.
    claim = models.CharField(max_length=64, blank=True, verbose_name=_("claim"))
    lease_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lease expires at"))
    # Backoff: neither a worker nor the reconciler starts the job before this.
    not_before = models.DateTimeField(null=True, blank=True, verbose_name=_("not before"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "source_key", "operation"], name="dsr_job_once_per_operation")
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="dsr_job_status_lease_idx")]

    def __str__(self) -> str:
        return f"{self.operation} in {self.source_key or 'all sources'} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in JOB_FINISHED


class Suppression(models.Model):
    """A keyed HMAC of a normalised identifier that marketing imports must skip; never the plain value."""

    digest = models.CharField(max_length=64, unique=True, verbose_name=_("digest"))
    kind = models.CharField(max_length=32, verbose_name=_("kind"))
    # Why: erasure (Art. 17) or objection to direct marketing (Art. 21(3)).
    reason = models.CharField(max_length=32, verbose_name=_("reason"))
    request = models.ForeignKey(
        Request, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("request")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"suppressed {self.kind} ({self.reason})"


class Restriction(models.Model):
    """An entry of the restriction register (GDPR Art. 18) that other systems query."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="restrictions", verbose_name=_("request")
    )
    # One row per identifier: the keyed HMAC of the normalised value, as in Suppression.
    kind = models.CharField(max_length=32, verbose_name=_("kind"))
    digest = models.CharField(max_length=64, verbose_name=_("digest"))
    # "" restricts every purpose; else a purpose key of the data map.
    purpose = models.CharField(max_length=64, blank=True, verbose_name=_("purpose"))
    # A RestrictionGround (Art. 18(1)), or the objection that led to it (Art. 21).
    ground = models.CharField(max_length=32, verbose_name=_("ground"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # GDPR Art. 18(3): the subject is told before the restriction is lifted. The lift waits for the
    # message that tells them (the notice, or an objection's decision letter) to have gone out:
    # subject_told_at is when it was sent, and lift_on the first day the lift may take effect.
    lift_notice = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("lift notice")
    )
    lift_on = models.DateField(null=True, blank=True, verbose_name=_("lift on"))
    subject_told_at = models.DateTimeField(null=True, blank=True, verbose_name=_("requester told at"))
    lift_reasons = models.TextField(blank=True, verbose_name=_("lift reasons"))
    lifted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lifted at"))

    class Meta:
        verbose_name = _("restriction")
        verbose_name_plural = _("restrictions")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["digest", "lifted_at"], name="dsr_restriction_digest_idx")]

    def __str__(self) -> str:
        state = "lifted" if self.lifted_at else "active"
        return f"restriction of {self.purpose or 'all purposes'} ({state})"


class NotificationChannel(models.TextChoices):
    HTTP = "http", _("Through the recipient's API")
    EMAIL = "email", _("By email to the recipient's contact")
    MANUAL = "manual", _("By staff, by hand")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("To be told")
    SENT = "sent", _("Told")
    FAILED = "failed", _("Could not be told")


class RecipientNotification(models.Model):
    """GDPR Art. 19: one recipient told of one request's rectification, erasure or restriction."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="recipient_notifications", verbose_name=_("request")
    )
    recipient_key = models.SlugField(max_length=64, verbose_name=_("recipient key"))
    recipient_name = models.CharField(max_length=200, verbose_name=_("recipient name"))
    operation = models.CharField(max_length=32, choices=Operation.choices, verbose_name=_("operation"))
    channel = models.CharField(max_length=16, choices=NotificationChannel.choices, verbose_name=_("channel"))
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING, verbose_name=_("status")
    )
    contact_email = models.EmailField(blank=True, verbose_name=_("contact email"))
    # The processor's request id (http) or the Message's id (email).
    reference = models.CharField(max_length=100, blank=True, verbose_name=_("reference"))
    note = models.TextField(
        blank=True, help_text=_("How it was done, for notifications made by hand."), verbose_name=_("note")
    )
    # Who recorded a notification made by hand as done (GDPR Art. 19); notified_at says when.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    # The data categories the recipient received and that changed (the lineage that made the notice due):
    # the notice names only these, so it never carries data the recipient did not already have.
    categories = models.JSONField(default=list, blank=True, verbose_name=_("categories"))
    # A rectification's corrections (the map's keys) whose change reached data this recipient received: the
    # notice lists these and no others.
    corrections = models.JSONField(default=list, blank=True, verbose_name=_("corrections told"))
    # The person's identifiers (email, phone, customer_number) the recipient already holds: the only ones named.
    identifier_kinds = models.JSONField(default=list, blank=True, verbose_name=_("identifier kinds"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    notified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("notified at"))

    class Meta:
        verbose_name = _("recipient notification")
        verbose_name_plural = _("recipient notifications")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "recipient_key", "operation"], name="dsr_recipient_told_once_per_operation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_name}: {self.get_status_display()}"

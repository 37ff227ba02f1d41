"""A data subject's request to exercise a GDPR right, and the periods its clock was stopped."""

from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from dsr.jurisdictions import profile_choices, profile_default_code


class Right(models.TextChoices):
    ACCESS = "access", _("Access (Art. 15)")
    PORTABILITY = "portability", _("Data portability (Art. 20)")
    ERASURE = "erasure", _("Erasure (Art. 17)")
    RECTIFICATION = "rectification", _("Rectification (Art. 16)")
    RESTRICTION = "restriction", _("Restriction of processing (Art. 18)")
    OBJECTION = "objection", _("Objection (Art. 21)")
    CONSENT_WITHDRAWAL = "consent_withdrawal", _("Withdrawal of consent (Art. 7(3))")


class Status(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", _("Awaiting email confirmation")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_SUBJECT = "awaiting_subject", _("Waiting for the requester")
    # The work in the sources (dsr/engine/, dsr/rights/): a plan waits for staff, or a job failed for good.
    AWAITING_APPROVAL = "awaiting_approval", _("Waiting for staff approval")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    COMPLETED = "completed", _("Completed")
    PARTIALLY_COMPLETED = "partially_completed", _("Partially completed")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired unconfirmed")


OPEN_STATUSES = (
    Status.PENDING_VERIFICATION,
    Status.IN_PROGRESS,
    Status.AWAITING_SUBJECT,
    Status.AWAITING_APPROVAL,
    Status.NEEDS_ATTENTION,
)
CLOSED_STATUSES = (
    Status.COMPLETED,
    Status.PARTIALLY_COMPLETED,
    Status.REFUSED,
    Status.CANCELLED,
    Status.EXPIRED,
)


class Channel(models.TextChoices):
    WEB = "web", _("Self-service form")
    API = "api", _("Integration API")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")


class Language(models.TextChoices):
    DA = "da", "Dansk"
    EN = "en", "English"


class IdentityLevel(models.IntegerChoices):
    """How strongly the requester's identity has been established (EDPB 01/2022 ¶58-79)."""

    NONE = 0, _("Not verified")
    EMAIL = 1, _("Controls the email address")
    ENHANCED = 2, _("Identity checked")


class VerificationMethod(models.TextChoices):
    EMAIL_CODE = "email_code", _("Emailed code")
    EMAIL_LINK = "email_link", _("Emailed link")
    INTEGRATION = "integration", _("Vouched for by an authenticated integration")
    ATTRIBUTE_MATCH = "attribute_match", _("Second attribute matched a source")
    STAFF_CHECK = "staff_check", _("Checked by staff")


class RestrictionGround(models.TextChoices):
    """GDPR Art. 18(1)(a)-(d)."""

    ACCURACY_CONTESTED = "accuracy_contested", _("I contest the accuracy of my data (Art. 18(1)(a))")
    UNLAWFUL_PROCESSING = (
        "unlawful_processing",
        _("The processing is unlawful but I do not want erasure (Art. 18(1)(b))"),
    )
    LEGAL_CLAIMS = "legal_claims", _("I need the data for legal claims (Art. 18(1)(c))")
    OBJECTION_PENDING = "objection_pending", _("I have objected and await the balancing (Art. 18(1)(d))")


class ObjectionScope(models.TextChoices):
    """GDPR Art. 21(2)-(3) direct marketing is absolute; 21(1) needs a balancing.

    ``SENSITIVE`` is California's request to limit the use of sensitive personal information
    (Cal. Civ. Code § 1798.121), carried as an objection to the purposes the data map marks.
    """

    DIRECT_MARKETING = "direct_marketing", _("Direct marketing")
    PROFILING = "profiling", _("Profiling")
    PURPOSE = "purpose", _("A named purpose based on legitimate interests")
    SENSITIVE = "sensitive", _("Limit the use of my sensitive personal information")


class RefusalGround(models.TextChoices):
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded", _("Manifestly unfounded (Art. 12(5))")
    EXCESSIVE = "excessive", _("Excessive, in particular repetitive (Art. 12(5))")
    IDENTITY_NOT_ESTABLISHED = "identity_not_established", _("Identity could not be established (Art. 12(2), 11(2))")
    EXEMPTION = "exemption", _("A legal exemption applies")
    NOT_COVERED = "not_covered", _("The right does not cover the data we hold (e.g. Art. 20(1))")
    # CCPA regs § 7063(b): an authorised agent did not show that the consumer authorised them.
    AGENT_NOT_AUTHORISED = "agent_not_authorised", _("The agent did not show the consumer's permission (§ 7063(b))")
    OTHER = "other", _("Other reason")


class SuspensionReason(models.TextChoices):
    IDENTITY = "identity", _("Waiting for confirmation of identity")
    CLARIFICATION = "clarification", _("Waiting for clarification of the request")
    # GDPR Art. 12(5)(a), Art. 15(3): a fee was asked; the request waits for its payment (dsr/workflow/fees.py).
    FEE = "fee", _("Waiting for payment of a fee")


class Request(models.Model):
    """One request to exercise a right; personal data lives here and nowhere in the audit."""

    reference = models.CharField(max_length=32, unique=True, editable=False, verbose_name=_("reference"))
    right = models.CharField(max_length=32, choices=Right.choices, verbose_name=_("right"))
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.PENDING_VERIFICATION, verbose_name=_("status")
    )

    # The requester.
    email = models.EmailField(max_length=254, verbose_name=_("email"))
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    phone = models.CharField(max_length=40, blank=True, verbose_name=_("phone"))
    customer_number = models.CharField(max_length=64, blank=True, verbose_name=_("customer number"))
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.DA, verbose_name=_("language"))
    # The law the request is answered under (dsr/jurisdictions/): its deadlines, authority and wording.
    jurisdiction = models.CharField(
        max_length=8, choices=profile_choices, default=profile_default_code, verbose_name=_("jurisdiction")
    )

    # What the right needs: corrections, objection scope and grounds, restriction
    # ground, consents to withdraw, free-text description. Validated by
    # dsr.requests.details_clean before it is stored.
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB, verbose_name=_("channel"))
    received_at = models.DateTimeField(
        help_text=_("The real time of receipt through any official channel."), verbose_name=_("received at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    # Identity (GDPR Art. 12(6)).
    identity_level = models.PositiveSmallIntegerField(
        choices=IdentityLevel.choices, default=IdentityLevel.NONE, verbose_name=_("identity level")
    )
    identity_required = models.PositiveSmallIntegerField(
        choices=IdentityLevel.choices, default=IdentityLevel.EMAIL, verbose_name=_("identity required")
    )
    verified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("verified at"))
    verification_method = models.CharField(
        max_length=32, choices=VerificationMethod.choices, blank=True, verbose_name=_("verification method")
    )

    # Deadline (GDPR Art. 12(3)); dates in the controller's time zone.
    due_date = models.DateField(verbose_name=_("due date"))
    extended_due_date = models.DateField(null=True, blank=True, verbose_name=_("extended due date"))
    extended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("extended at"))
    extension_reasons = models.TextField(blank=True, verbose_name=_("extension reasons"))
    suspended_days = models.PositiveIntegerField(
        default=0, help_text=_("Whole days the clock has been stopped."), verbose_name=_("suspended days")
    )
    # When the email that confirmed receipt went out, where the law asks for one (CCPA regs § 7021(a)).
    receipt_confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("receipt confirmed at"))

    # Outcome.
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    outcome_reasons = models.TextField(blank=True, verbose_name=_("outcome reasons"))
    refusal_ground = models.CharField(
        max_length=32, choices=RefusalGround.choices, blank=True, verbose_name=_("refusal ground")
    )

    # When the requester's details were erased after the retention period; the
    # evidence (dates, outcome, audit trail) stays.
    purged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("purged at"))
    # A request handled before dsr, imported from a spreadsheet (dsr.workflow.imports): no work, letters or files.
    imported_at = models.DateTimeField(null=True, blank=True, verbose_name=_("imported at"))

    # Who on the privacy team handles it.
    assignee = models.ForeignKey(
        "auth.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
        verbose_name=_("assignee"),
    )
    # Random salt of the status token: the token is an HMAC of reference and salt
    # (see docs/decisions/0003-tokens.md); a new salt kills every old status link.
    status_salt = models.CharField(max_length=32, editable=False, verbose_name=_("status salt"))
    # The salt of a link sent to a "lost link" request: it replaces status_salt only when it is opened,
    # so a stranger typing the reference and the address cannot end the holder's current link.
    status_salt_next = models.CharField(
        max_length=32, blank=True, default="", editable=False, verbose_name=_("next status salt")
    )
    # Integrations may retry a POST: the same key returns the same request.
    idempotency_key = models.CharField(
        max_length=128, null=True, blank=True, unique=True, verbose_name=_("idempotency key")
    )

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["status", "due_date"], name="dsr_request_queue_idx"),
            models.Index(fields=["email"], name="dsr_request_email_idx"),
            models.Index(fields=["received_at"], name="dsr_request_received_idx"),
            models.Index(fields=["closed_at"], name="dsr_request_closed_idx"),
            # The staff queue: open requests by their effective deadline (dsr/views/staff/queue.py).
            models.Index(
                Coalesce("extended_due_date", "due_date"),
                "id",
                name="dsr_request_open_deadline_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
            # The queue's counts per filter, read from the index alone (an index-only scan on PostgreSQL).
            models.Index(
                fields=["status", "right", "assignee", "due_date", "extended_due_date", "jurisdiction"],
                name="dsr_request_open_counts_idx",
                condition=models.Q(status__in=OPEN_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_right_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def effective_due_date(self):
        return self.extended_due_date or self.due_date


class Suspension(models.Model):
    """A period during which the request's clock was stopped, with its reason."""

    request = models.ForeignKey(
        Request, on_delete=models.CASCADE, related_name="suspensions", verbose_name=_("request")
    )
    reason = models.CharField(max_length=32, choices=SuspensionReason.choices, verbose_name=_("reason"))
    note = models.TextField(blank=True, help_text=_("What was asked of the requester."), verbose_name=_("note"))
    started_at = models.DateTimeField(verbose_name=_("started at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(ended_at__isnull=True),
                name="dsr_one_open_suspension_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} from {self.started_at:%Y-%m-%d}"

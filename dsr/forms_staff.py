"""Forms of the staff pages. Views call services with their cleaned data; services re-check everything."""

from datetime import date
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from dsr.models import (
    Channel,
    FeeGround,
    Language,
    ManualFinding,
    ObjectionScope,
    PaymentMethod,
    RefusalGround,
    RestrictionGround,
    Right,
    Status,
)
from dsr.requests import (
    REFUSAL_TEMPLATES,  # noqa: F401  (the views offer them as starting points)
    jurisdictions_offered,
)
from dsr.roles import team_members


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), max_length=1024, strip=False, widget=forms.PasswordInput)


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6-digit code.")},
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


def _team_choices(team=None) -> list[tuple[str, str]]:
    return [(str(u.pk), u.get_full_name() or u.get_username()) for u in (team if team is not None else team_members())]


# Dates the queue can turn into local midnights and a day after (year 1 or 9999 would overflow).
RECEIVED_RANGE = (date(2000, 1, 1), date(9998, 12, 31))


def _received_in_range(value: date | None) -> date | None:
    if value is not None and not RECEIVED_RANGE[0] <= value <= RECEIVED_RANGE[1]:
        raise forms.ValidationError(
            _("Give a date from %(start)s to %(end)s.")
            % {"start": RECEIVED_RANGE[0].isoformat(), "end": RECEIVED_RANGE[1].isoformat()},
            code="invalid",
        )
    return value


class QueueFilterForm(forms.Form):
    """The queue's filters; every field is optional and bad values are reported, not guessed."""

    STATUS_OPEN = "open"

    q = forms.CharField(label=_("Reference or email"), required=False, max_length=254)
    right = forms.ChoiceField(label=_("Right"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    overdue = forms.BooleanField(label=_("Overdue"), required=False)
    stopped = forms.BooleanField(label=_("Clock stopped"), required=False)
    attention = forms.BooleanField(label=_("Needs attention"), required=False)
    received_from = forms.DateField(label=_("Received from"), required=False, widget=forms.DateInput({"type": "date"}))
    received_to = forms.DateField(label=_("Received to"), required=False, widget=forms.DateInput({"type": "date"}))
    # Keyset cursor: "<due date>_<id>" of the last row shown (open requests) or "<id>" (closed ones).
    after = forms.RegexField(regex=r"^(\d{4}-\d{2}-\d{2}_)?\d{1,18}$", required=False)

    def __init__(self, *args, team=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["right"].choices = [("", _("All rights")), *Right.choices]
        self.fields["status"].choices = [(self.STATUS_OPEN, _("All open")), *Status.choices]
        self.fields["assignee"].choices = [("", _("Anyone")), ("none", _("No one")), *_team_choices(team)]

    def clean_received_from(self) -> date | None:
        return _received_in_range(self.cleaned_data["received_from"])

    def clean_received_to(self) -> date | None:
        return _received_in_range(self.cleaned_data["received_to"])

    def clean_after(self) -> str:
        after = self.cleaned_data["after"]
        if "_" in after:
            try:
                date.fromisoformat(after.split("_", 1)[0])
            except ValueError as exc:
                # A well-formed but impossible date (0000-00-00) would otherwise reach the database.
                raise forms.ValidationError(_("Not a page of this list."), code="invalid") from exc
        return after

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", _("The end of the period is before its start."))
        return data


class BulkApproveForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, label=_("Requests"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()


class BulkAssignForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, label=_("Requests"))
    assignee = forms.ChoiceField(label=_("Assign to"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("none", _("No one")), *_team_choices()]
        # The ids are checked by the service (open requests only); here only their shape.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()


# --- Actions on one request -----------------------------------------------------------
# Every action form carries `seen`: the request's updated_at when the page was drawn. A
# post whose `seen` no longer matches (a replay, or a colleague acted meanwhile) changes nothing.


class ActionForm(forms.Form):
    seen = forms.CharField(widget=forms.HiddenInput, max_length=40)


class AssignForm(ActionForm):
    assignee = forms.ChoiceField(label=_("Assign to"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("none", _("No one")), *_team_choices()]


class NoteForm(ActionForm):
    text = forms.CharField(label=_("Internal note"), max_length=5000, widget=forms.Textarea({"rows": 3}))


class IdentityCheckForm(ActionForm):
    method = forms.ChoiceField(
        label=_("How identity was checked"),
        choices=[
            ("staff_check", _("Checked by staff (e.g. a call-back to the number on file); no ID image is kept")),
            ("attribute_match", _("A second attribute matched one held in a source")),
        ],
        widget=forms.RadioSelect,
    )


class SuspendForm(ActionForm):
    reason = forms.ChoiceField(
        label=_("What we wait for"),
        choices=[
            ("identity", _("Information to confirm identity")),
            ("clarification", _("A clarification of the request")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("What the requester must send (they receive this text)"),
        max_length=5000,
        widget=forms.Textarea({"rows": 3}),
    )


class ExtendForm(ActionForm):
    reasons = forms.CharField(
        label=_("Reasons for the extension (sent to the requester)"),
        max_length=5000,
        widget=forms.Textarea({"rows": 3}),
    )


class RefuseForm(ActionForm):
    ground = forms.ChoiceField(label=_("Ground"), widget=forms.RadioSelect)
    reasons = forms.CharField(
        label=_("Reasons (sent to the requester)"), max_length=5000, widget=forms.Textarea({"rows": 5})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An agent's missing proof of authority (CCPA regs § 7063(b)) is refused from the agent's panel.
        self.fields["ground"].choices = [
            (value, label) for value, label in RefusalGround.choices if value != RefusalGround.AGENT_NOT_AUTHORISED
        ]


class AgentAcceptForm(ActionForm):
    """Accept an authorised agent's proof of authority (CCPA regs § 7063)."""


class AgentRefuseForm(ActionForm):
    """Refuse a request whose agent did not show the consumer's permission (CCPA regs § 7063(b))."""

    reasons = forms.CharField(
        label=_("Reasons (sent to the consumer and to the agent)"),
        max_length=5000,
        widget=forms.Textarea({"rows": 4}),
    )


class CompleteForm(ActionForm):
    partial = forms.BooleanField(label=_("Only partly done"), required=False)
    reasons = forms.CharField(
        label=_(
            "What was done, where no source reported it; for a partial completion, which parts were not done "
            "and why (sent to the requester)"
        ),
        max_length=5000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
    )


class CancelForm(ActionForm):
    reasons = forms.CharField(
        label=_("Why (e.g. withdrawn by the requester, a duplicate)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea({"rows": 2}),
    )


class ResumeForm(ActionForm):
    pass


class ManualTaskForm(ActionForm):
    task = forms.IntegerField(widget=forms.HiddenInput)
    # What the owner found is the fact the person's letter is made from (dsr.engine.manual).
    finding = forms.ChoiceField(label=_("What you found"), choices=ManualFinding.choices, widget=forms.RadioSelect)
    attestation = forms.CharField(label=_("What was done"), max_length=5000, widget=forms.Textarea({"rows": 3}))
    file = forms.FileField(label=_("File for the person's export (optional)"), required=False)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        limit = settings.DSR_UPLOAD_MAX_MB
        if upload is not None and upload.size > limit * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d MB. Send a smaller file, or split it into parts."),
                code="too_large",
                params={"limit": limit},
            )
        return upload


class ApproveForm(ActionForm):
    pass


class BundleReleaseForm(ActionForm):
    bundle = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ObjectionDecisionForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("Balancing (GDPR Art. 21(1))"),
        choices=[
            ("upheld", _("Upheld: no compelling legitimate grounds override the requester's interests")),
            ("rejected", _("Not upheld: compelling legitimate grounds, or legal claims")),
        ],
        widget=forms.RadioSelect,
    )
    reasons = forms.CharField(
        label=_("Reasons (sent to the requester)"), max_length=5000, widget=forms.Textarea({"rows": 4})
    )


class JobRetryForm(ActionForm):
    job = forms.IntegerField(widget=forms.HiddenInput)


class NoticeToldForm(ActionForm):
    """GDPR Art. 19: record how staff told a recipient dsr could not tell itself."""

    notification = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("How you told them (optional)"), max_length=5000, required=False, widget=forms.Textarea({"rows": 2})
    )


class RestrictionLiftForm(ActionForm):
    """GDPR Art. 18(3): the person is told, with the reasons, before the restriction is lifted."""

    reasons = forms.CharField(
        label=_("Reasons for lifting the restriction (sent to the requester)"),
        max_length=5000,
        widget=forms.Textarea({"rows": 3}),
    )
    lift_date = forms.DateField(
        label=_("Lift on (optional; otherwise as soon as the requester has been told)"),
        required=False,
        widget=forms.DateInput({"type": "date"}),
    )

    def clean_lift_date(self) -> date | None:
        return _received_in_range(self.cleaned_data["lift_date"])


# --- Fees (GDPR Art. 12(5)(a), Art. 15(3); dsr/workflow/fees.py) ------------------------------


def _amount_field(label) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=10, decimal_places=2, min_value=Decimal("0.01"), localize=True)


class FeeAskForm(ActionForm):
    ground = forms.ChoiceField(label=_("Ground"), choices=FeeGround.choices, widget=forms.RadioSelect)
    amount = _amount_field(_("Amount"))
    reasons = forms.CharField(
        label=_("Reasons, and how the amount was set (sent to the requester)"),
        max_length=5000,
        widget=forms.Textarea({"rows": 5}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].label = _("Amount (%(currency)s)") % {"currency": settings.DSR_FEE_CURRENCY}


class FeePaidForm(ActionForm):
    amount = _amount_field(_("Amount received"))
    paid_on = forms.DateField(label=_("Paid on"), widget=forms.DateInput({"type": "date"}))
    method = forms.ChoiceField(label=_("How it was paid"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Payment reference (optional)"), max_length=100, required=False)


class FeeWaiveForm(ActionForm):
    reasons = forms.CharField(
        label=_("Why the fee is waived (for the team)"), max_length=5000, widget=forms.Textarea({"rows": 2})
    )


class FeeWithdrawnForm(ActionForm):
    pass


class IntakeForm(forms.Form):
    """A request that came by letter, phone, email or in person, entered by staff."""

    right = forms.ChoiceField(label=_("Right"))
    channel = forms.ChoiceField(label=_("Received by"))
    received_at = forms.DateTimeField(
        label=_("Real time of receipt"),
        widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    email = forms.CharField(label=_("Requester's email"), max_length=254)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    customer_number = forms.CharField(label=_("Customer number"), max_length=64, required=False)
    language = forms.ChoiceField(label=_("Language of our answers"))
    jurisdiction = forms.ChoiceField(label=_("Law the request is answered under"), required=False)
    description = forms.CharField(
        label=_("What the requester asked for, in their words"),
        max_length=5000,
        required=False,
        widget=forms.Textarea({"rows": 3}),
    )
    restriction_ground = forms.ChoiceField(label=_("Restriction: ground (Art. 18(1))"), required=False)
    objection_scope = forms.ChoiceField(label=_("Objection: to what"), required=False)
    objection_purpose = forms.CharField(label=_("Objection: the named purpose"), max_length=200, required=False)
    objection_grounds = forms.CharField(
        label=_("Objection: the requester's grounds"),
        max_length=5000,
        required=False,
        widget=forms.Textarea({"rows": 2}),
    )
    consents = forms.CharField(
        label=_("Consent withdrawal: consent keys, comma-separated"), max_length=1000, required=False
    )
    correction_field = forms.CharField(label=_("Rectification: which data"), max_length=200, required=False)
    correction_current = forms.CharField(label=_("Rectification: the current value"), max_length=1000, required=False)
    correction_correct = forms.CharField(label=_("Rectification: the correct value"), max_length=1000, required=False)
    identity = forms.ChoiceField(
        label=_("Identity"),
        choices=[
            ("email", _("Ask the requester to confirm by email (the clock starts when they do)")),
            ("staff_check", _("I have checked the requester's identity myself (no ID image is kept)")),
        ],
        initial="email",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["right"].choices = Right.choices
        self.fields["channel"].choices = [c for c in Channel.choices if c[0] not in ("web", "api")]
        self.fields["language"].choices = Language.choices
        offered = jurisdictions_offered()
        self.fields["jurisdiction"].choices = [(p.code, p.name) for p in offered]
        self.initial.setdefault("jurisdiction", offered[0].code)
        self.fields["restriction_ground"].choices = [("", "—"), *RestrictionGround.choices]
        self.fields["objection_scope"].choices = [("", "—"), *ObjectionScope.choices]

    def details(self) -> dict:
        """Return the right-specific details in the shape dsr.requests.details_clean checks."""
        data = self.cleaned_data
        right = data["right"]
        details: dict = {}
        if data.get("description"):
            details["description"] = data["description"]
        if right == "restriction":
            details["ground"] = data.get("restriction_ground") or None
        elif right == "objection":
            details["scope"] = data.get("objection_scope") or None
            if data.get("objection_purpose"):
                details["purpose"] = data["objection_purpose"]
            if data.get("objection_grounds"):
                details["grounds"] = data["objection_grounds"]
        elif right == "consent_withdrawal":
            details["consents"] = [c.strip() for c in (data.get("consents") or "").split(",") if c.strip()]
        elif right == "rectification":
            details["corrections"] = [
                {
                    "field": data.get("correction_field", ""),
                    "current": data.get("correction_current", ""),
                    "correct": data.get("correction_correct", ""),
                }
            ]
        return details

"""Forms of the public self-service pages: one per right, the code, and "send me a new link".

The forms check what a browser can get wrong (required fields, lengths, a
valid email) and turn the fields into the `details` a right needs; the
services in dsr.workflow and dsr.requests stay the authority and their
errors are put back on the fields they name (`errors_from_service`).
"""

import hashlib
import secrets

from django import forms
from django.core import signing
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dsr.datamap.schema import localised, sensitive_purposes
from dsr.datamap.selectors import datamap_active, purposes_active
from dsr.models import ObjectionScope, RestrictionGround, Right
from dsr.requests import jurisdictions_offered, reference_normalise
from dsr.rights.objection import objectable_purposes

FORM_TOKEN_SALT = "dsr.public.form"  # noqa: S105 (a signing salt, not a secret)
FORM_TOKEN_MAX_AGE = 24 * 3600
CORRECTION_ROWS = 3
OTHER_FIELD = "other"  # a correction the person describes in their own words
ALL_CONSENTS = "all"
MAX_TEXT = 5000


def form_token_new() -> str:
    """Return a signed one-time token for a fresh form; posting it twice files one request."""
    return signing.dumps(secrets.token_hex(16), salt=FORM_TOKEN_SALT)


class RequestForm(forms.Form):
    """What every right asks for: who the requester is, plus the anti-abuse fields."""

    right: str = ""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("We send a code to this address to confirm that it is yours, and answer you there."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Helps us find you if we hold your data under another address."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    customer_number = forms.CharField(
        label=_("Customer number"),
        max_length=64,
        required=False,
        help_text=_("You find it on your order confirmations and invoices."),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        required=False,
        help_text=_("Only if we might hold your data under this number."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    # The law the request is answered under (dsr/jurisdictions/); choices set per form from the data map.
    jurisdiction = forms.ChoiceField(
        label=_("Country where you live"),
        required=False,
        help_text=_("Its law decides the time limits for our answer and where you can complain."),
    )
    # Honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling robots.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("form_token", form_token_new())
        offered = jurisdictions_offered()
        self.fields["jurisdiction"].choices = [(p.code, p.name) for p in offered]
        self.initial.setdefault("jurisdiction", offered[0].code)
        if len(offered) == 1:
            self.fields["jurisdiction"].widget = forms.HiddenInput()
        # Rights of the laws offered that the form cannot carry, said rather than pretended (docs/jurisdictions.md).
        self.not_carried = [(p.name, p.not_carried) for p in offered if p.not_carried]
        # Where an authorised agent may file for the person, the form points the agent to its own page.
        self.agent_places = [p.name for p in offered if p.authorised_agents]
        for field in self.fields.values():
            if isinstance(field.widget, forms.Textarea) and field.max_length:
                _long_text_field(field)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("website"):
            # Said on the form, not on the hidden field: a person who sees it did nothing wrong.
            raise forms.ValidationError(_("The form could not be sent. Please try again."), code="honeypot")
        return cleaned

    def clean_form_token(self) -> str:
        token = self.cleaned_data["form_token"]
        try:
            nonce = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
        except signing.BadSignature as exc:
            raise forms.ValidationError(
                _("This form has expired. Please check your answers and send it again."), code="expired"
            ) from exc
        return nonce

    def idempotency_key(self) -> str:
        """Return the key that makes a form posted twice file one request."""
        return "web:" + hashlib.sha256(self.cleaned_data["form_token"].encode()).hexdigest()[:48]

    def details(self) -> dict:
        """Return the right-specific details for dsr.requests.details_clean."""
        description = self.cleaned_data.get("description", "")
        return {"description": description} if description else {}

    def token_refresh(self) -> None:
        """Give a re-shown form a fresh token when the old one was not accepted."""
        if "form_token" in self.errors:
            data = self.data.copy()
            data["form_token"] = form_token_new()
            self.data = data

    def errors_from_service(self, message_dict: dict[str, list[str]]) -> None:
        """Put the service's errors on the fields they name, the rest on the form."""
        for key, messages in message_dict.items():
            field = self._field_for(key)
            for message in messages:
                self.add_error(field, message)

    def _field_for(self, key: str) -> str | None:
        return key if key in self.fields else None


def _long_text_field(field: forms.CharField) -> None:
    """Let the person paste a long text and be told it is too long, rather than have the browser cut it.

    A textarea's maxlength makes the browser drop whatever is pasted beyond it, without a word; the limit is
    checked here instead, with a message that says by how much.
    """
    field.widget.attrs.pop("maxlength", None)
    field.error_messages["max_length"] = _(
        "Please shorten this text to at most %(limit_value)s characters; it has %(show_value)s."
    )


def _description_field(help_text) -> forms.CharField:
    return forms.CharField(
        label=_("Anything we should know?"),
        required=False,
        max_length=MAX_TEXT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class AccessForm(RequestForm):
    right = Right.ACCESS
    description = _description_field(_("For example a period or a part of our service you are most interested in."))


class PortabilityForm(RequestForm):
    """GDPR Art. 20: the person's data for themselves, and if they wish sent directly to another company (20(2))."""

    right = Right.PORTABILITY
    description = _description_field(_("For example which data you want to take with you."))
    transmit = forms.BooleanField(label=_("Also send my data directly to another company"), required=False)
    transmit_name = forms.CharField(label=_("The company's name"), max_length=200, required=False)
    transmit_email = forms.EmailField(
        label=_("The company's email address"),
        max_length=254,
        required=False,
        help_text=_("We email them a link to download your data."),
        widget=forms.EmailInput(attrs={"spellcheck": "false"}),
    )
    transmit_url = forms.CharField(
        label=_("Or the address of the company's system (HTTPS)"),
        max_length=500,
        required=False,
        help_text=_("Only if the company gave you one: we send it a link to download your data."),
        widget=forms.URLInput(attrs={"spellcheck": "false", "placeholder": "https://"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("transmit"):
            return cleaned
        if not cleaned.get("transmit_name"):
            self.add_error("transmit_name", _("Give the company's name."))
        email, url = cleaned.get("transmit_email"), (cleaned.get("transmit_url") or "").strip()
        if not email and not url and "transmit_email" not in self.errors:
            self.add_error("transmit_email", _("Give the company's email address or the address of its system."))
        elif email and url:
            self.add_error("transmit_url", _("Give either an email address or a system's address, not both."))
        return cleaned

    def details(self) -> dict:
        details = super().details()
        if self.cleaned_data.get("transmit"):
            target = {"name": self.cleaned_data.get("transmit_name", "")}
            if self.cleaned_data.get("transmit_email"):
                target["email"] = self.cleaned_data["transmit_email"]
            else:
                target["url"] = (self.cleaned_data.get("transmit_url") or "").strip()
            details["transmit_to"] = target
        return details

    def _field_for(self, key: str) -> str | None:
        # The service names "transmit_to.url"; the form calls it "transmit_url".
        if key.startswith("transmit_to"):
            name = {"transmit_to.name": "transmit_name", "transmit_to.email": "transmit_email"}.get(key, "transmit_url")
            return name if key != "transmit_to" else "transmit_email"
        return super()._field_for(key)


class ErasureForm(RequestForm):
    right = Right.ERASURE
    description = _description_field(_("For example if you only want some of your data erased."))


class RectificationForm(RequestForm):
    """GDPR Art. 16: which data is wrong, what it should be, and an optional supplementary statement.

    The person chooses among the correctable fields the data map declares (in their language), or
    describes something else in their own words; the privacy team handles those by hand.
    """

    right = Right.RECTIFICATION
    statement = forms.CharField(
        label=_("Supplementary statement"),
        required=False,
        max_length=MAX_TEXT,
        help_text=_("Where data is incomplete, you may add a statement to complete it (Art. 16)."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, correction_choices: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.choosing = bool(correction_choices)
        for row in range(CORRECTION_ROWS):
            required = row == 0
            if self.choosing:
                self.fields[f"field_{row}"] = forms.ChoiceField(
                    label=_("What is wrong"),
                    required=required,
                    choices=[("", _("Choose…")), *correction_choices, (OTHER_FIELD, _("Something else"))],
                )
                self.fields[f"other_{row}"] = forms.CharField(
                    label=_("If something else: what?"), max_length=200, required=False
                )
            else:
                self.fields[f"field_{row}"] = forms.CharField(
                    label=_("What is wrong"), max_length=200, required=required
                )
            self.fields[f"current_{row}"] = forms.CharField(
                label=_("What we have now"), max_length=1000, required=False
            )
            self.fields[f"correct_{row}"] = forms.CharField(
                label=_("What it should be"), max_length=1000, required=required
            )

    def correction_rows(self) -> list[tuple[int, list[forms.BoundField]]]:
        """Return the bound fields of each correction row, for the template."""
        names = ["field", "other", "current", "correct"] if self.choosing else ["field", "current", "correct"]
        return [(row + 1, [self[f"{name}_{row}"] for name in names]) for row in range(CORRECTION_ROWS)]

    def _field_named(self, row: int) -> str:
        """Return what row ``row`` names: a declared field's key, or the person's own words for something else."""
        field = self.cleaned_data.get(f"field_{row}", "")
        if self.choosing and field == OTHER_FIELD:
            return self.cleaned_data.get(f"other_{row}", "").strip()
        return field

    def clean(self) -> dict:
        cleaned = super().clean()
        for row in range(CORRECTION_ROWS):
            if self.choosing and cleaned.get(f"field_{row}") == OTHER_FIELD and not cleaned.get(f"other_{row}"):
                self.add_error(f"other_{row}", _("Say what is wrong."))
            if row == 0:
                continue
            field, correct = cleaned.get(f"field_{row}"), cleaned.get(f"correct_{row}")
            if field and not correct:
                self.add_error(f"correct_{row}", _("Say what it should be."))
            elif correct and not field:
                self.add_error(f"field_{row}", _("Say what is wrong."))
        return cleaned

    def details(self) -> dict:
        corrections = []
        for row in range(CORRECTION_ROWS):
            field = self._field_named(row)
            if field:
                corrections.append(
                    {
                        "field": field,
                        "current": self.cleaned_data.get(f"current_{row}", ""),
                        "correct": self.cleaned_data.get(f"correct_{row}", ""),
                    }
                )
        details: dict = {"corrections": corrections}
        if self.cleaned_data.get("statement"):
            details["statement"] = self.cleaned_data["statement"]
        return details

    def _field_for(self, key: str) -> str | None:
        # "corrections.1.correct" -> "correct_1"; "corrections" -> the first row.
        if key == "corrections":
            return "field_0"
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "corrections" and parts[1].isdigit():
            name = f"{parts[2]}_{parts[1]}"
            return name if name in self.fields else None
        return super()._field_for(key)


class RestrictionForm(RequestForm):
    """GDPR Art. 18(1): one of the four grounds must apply."""

    right = Right.RESTRICTION
    ground = forms.ChoiceField(
        label=_("Why should we restrict the processing?"),
        choices=RestrictionGround.choices,
        widget=forms.RadioSelect,
    )
    description = _description_field(_("For example which data you contest, and why."))

    def details(self) -> dict:
        return {**super().details(), "ground": self.cleaned_data["ground"]}


class ObjectionForm(RequestForm):
    """GDPR Art. 21: direct marketing is absolute; other processing needs the person's grounds.

    For a named purpose the person ticks the data map's purposes based on Art. 6(1)(e) or (f), by
    their names in the privacy notice, and/or describes another in their own words.
    """

    right = Right.OBJECTION
    scope = forms.ChoiceField(
        label=_("What do you object to?"),
        choices=ObjectionScope.choices,
        widget=forms.RadioSelect,
    )
    purposes = forms.MultipleChoiceField(
        label=_("Which purposes?"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The purposes our privacy notice bases on our legitimate interests. Tick one or more."),
    )
    purpose = forms.CharField(
        label=_("Other (in your own words)"),
        required=False,
        max_length=200,
        help_text=_("Only if the use you object to is not in the list above."),
    )
    grounds = forms.CharField(
        label=_("Your grounds"),
        required=False,
        max_length=MAX_TEXT,
        help_text=_(
            "Tell us about your particular situation (Art. 21(1)). Not needed for direct marketing or for limiting "
            "the use of sensitive personal information: we stop that without asking why."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self,
        *args,
        purpose_choices: list[tuple[str, str]] | None = None,
        scope_choices: list[tuple[str, str]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["purposes"].choices = purpose_choices or []
        if scope_choices is not None:
            self.fields["scope"].choices = scope_choices

    def clean(self) -> dict:
        data = super().clean()
        if data.get("scope") == ObjectionScope.PURPOSE and not data.get("purposes") and not data.get("purpose"):
            self.add_error("purposes", _("Tick the purposes you object to, or describe the one you mean under Other."))
        return data

    def details(self) -> dict:
        details = {"scope": self.cleaned_data["scope"]}
        if self.cleaned_data["scope"] == ObjectionScope.PURPOSE:
            if self.cleaned_data.get("purposes"):
                details["purposes"] = self.cleaned_data["purposes"]
            if self.cleaned_data.get("purpose"):
                details["purpose"] = self.cleaned_data["purpose"]
        if self.cleaned_data.get("grounds"):
            details["grounds"] = self.cleaned_data["grounds"]
        return details


class ConsentWithdrawalForm(RequestForm):
    """GDPR Art. 7(3): withdrawing consent must be as easy as giving it."""

    right = Right.CONSENT_WITHDRAWAL
    consents = forms.MultipleChoiceField(
        label=_("Which consents do you withdraw?"),
        widget=forms.CheckboxSelectMultiple,
    )
    description = _description_field("")

    def __init__(self, *args, consent_choices: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consents"].choices = [
            *(consent_choices or []),
            (ALL_CONSENTS, _("Every consent I have given")),
        ]

    def details(self) -> dict:
        return {**super().details(), "consents": self.cleaned_data["consents"]}


FORMS_BY_RIGHT: dict[str, type[RequestForm]] = {
    form.right: form
    for form in (
        AccessForm,
        PortabilityForm,
        ErasureForm,
        RectificationForm,
        RestrictionForm,
        ObjectionForm,
        ConsentWithdrawalForm,
    )
}


def correction_choices_current() -> list[tuple[str, str]]:
    """Return (field key, label) for each correctable field the active data map declares (GDPR Art. 16)."""
    datamap = datamap_active()
    if datamap is None:
        return []
    language = "en" if (get_language() or "da").startswith("en") else "da"
    return [(key, localised(entry["name"], language)) for key, entry in datamap.corrections.items()]


def objection_choices_current() -> list[tuple[str, str]]:
    """Return (purpose key, name) for each purpose of the active data map a person can object to (Art. 21(1))."""
    datamap = datamap_active()
    if datamap is None:
        return []
    language = "en" if (get_language() or "da").startswith("en") else "da"
    return [(key, localised(datamap.purposes[key]["name"], language)) for key in objectable_purposes(datamap)]


def objection_scopes_current() -> list[tuple[str, str]]:
    """Return (scope, label) for each objection scope a law the controller serves knows.

    California's limit on sensitive personal information is offered only where the active data map marks a
    purpose that uses it beyond the permitted ones (CCPA regs § 7027(b)); its label says whom it is for.
    """
    offered = {scope for profile in jurisdictions_offered() for scope in profile.objection_scopes}
    datamap = datamap_active()
    if datamap is None or not sensitive_purposes(datamap):
        offered.discard(ObjectionScope.SENSITIVE)
    labels = {ObjectionScope.SENSITIVE: _("Limit the use of my sensitive personal information (California residents)")}
    return [(value, labels.get(value, label)) for value, label in ObjectionScope.choices if value in offered]


def consent_choices_current() -> list[tuple[str, str]]:
    """Return (consent key, name) for each consent-based purpose of the active data map."""
    english = (get_language() or "da").startswith("en")
    return [
        (purpose.consent_key, purpose.name_en if english else purpose.name_da)
        for purpose in purposes_active().exclude(consent_key="").order_by("key")
    ]


class VerifyCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the email"),
        max_length=12,
        help_text=_("Six digits."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "size": "8"}
        ),
    )


class StatusLinkLostForm(forms.Form):
    """Ask for a new status link by reference and the email address the request was filed with."""

    reference = forms.CharField(
        label=_("Reference"),
        max_length=32,
        help_text=_("It starts with DSR- and is in every email we sent you about the request."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )
    email = forms.EmailField(
        label=_("Email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def clean_reference(self) -> str:
        return reference_normalise(self.cleaned_data["reference"])

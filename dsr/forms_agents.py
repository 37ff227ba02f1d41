"""The form of the portal's page for authorised agents (Cal. Civ. Code § 1798.130(a)(3); CCPA regs § 7063).

It checks what a browser can get wrong; dsr.workflow.agents stays the authority, and its errors are put back on
the fields they name.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from dsr.forms import RequestForm, form_token_new
from dsr.models import Language


class AgentForm(forms.Form):
    """Who the agent is, who the consumer is, what the consumer asks, and the proof of authority."""

    KINDS = (
        ("know", _("Right to know: a copy of the consumer's personal information (§ 1798.110)")),
        ("delete", _("Right to delete the consumer's personal information (§ 1798.105)")),
        ("correct", _("Right to correct inaccurate personal information (§ 1798.106)")),
        ("opt_out", _("Opt out of the sale or sharing of the consumer's personal information (§ 1798.120)")),
        ("limit", _("Limit the use of the consumer's sensitive personal information (§ 1798.121)")),
    )

    agent_name = forms.CharField(
        label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    agent_email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        help_text=_("We send a link to this address to confirm that it is yours, and tell you there how it goes."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    business = forms.BooleanField(
        label=_("I act as a business registered with the California Secretary of State"), required=False
    )
    entity_name = forms.CharField(label=_("The business's registered name"), max_length=200, required=False)
    entity_number = forms.CharField(label=_("Secretary of State entity number"), max_length=64, required=False)
    consumer_name = forms.CharField(label=_("The consumer's name"), max_length=200)
    consumer_email = forms.EmailField(
        label=_("The consumer's email address"),
        max_length=254,
        help_text=_("We ask the consumer here to confirm that they gave you permission, and answer them here."),
        widget=forms.EmailInput(attrs={"spellcheck": "false"}),
    )
    consumer_language = forms.ChoiceField(
        label=_("The consumer's language"), choices=Language.choices, initial=Language.EN
    )
    kind = forms.ChoiceField(label=_("What the consumer asks for"), choices=KINDS, widget=forms.RadioSelect)
    correction_what = forms.CharField(label=_("For a correction: what is wrong"), max_length=200, required=False)
    correction_correct = forms.CharField(
        label=_("For a correction: what it should be"), max_length=1000, required=False
    )
    document = forms.FileField(
        label=_("The consumer's signed permission, or the power of attorney"),
        help_text=_("A PDF, JPG or PNG file of at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    power_of_attorney = forms.BooleanField(
        label=_("The document is a power of attorney under California Probate Code sections 4121 to 4130"),
        required=False,
    )
    website = RequestForm.base_fields["website"]
    form_token = RequestForm.base_fields["form_token"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("form_token", form_token_new())

    clean_form_token = RequestForm.clean_form_token
    token_refresh = RequestForm.token_refresh

    def idempotency_key(self) -> str:
        """Return the key that makes a form posted twice file one request."""
        return "agent:" + RequestForm.idempotency_key(self)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError(_("The form could not be sent. Please try again."), code="honeypot")
        if cleaned.get("kind") == "correct":
            if not (cleaned.get("correction_what") or "").strip():
                self.add_error("correction_what", _("Say what is wrong."))
            if not (cleaned.get("correction_correct") or "").strip():
                self.add_error("correction_correct", _("Say what it should be."))
        return cleaned

    def corrections(self) -> list[dict]:
        """Return the correction asked for, as dsr.requests.details_clean reads it."""
        what = (self.cleaned_data.get("correction_what") or "").strip()
        correct = (self.cleaned_data.get("correction_correct") or "").strip()
        return [{"field": what, "correct": correct}] if what or correct else []

    def errors_from_service(self, message_dict: dict[str, list[str]]) -> None:
        """Put the service's errors on the fields they name, the rest on the form."""
        for key, messages in message_dict.items():
            field = key if key in self.fields else None
            if key.startswith("corrections"):
                field = "correction_what"
            for message in messages:
                self.add_error(field, message)

"""Every message to the requester, in Danish and English, text and HTML, sent through the real services."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.urls import resolve
from django.utils import translation
from django.utils.formats import date_format

from dsr import workflow
from dsr.audit import Actor
from dsr.models import RefusalGround, Request
from dsr.verification import verification_confirm_code

KINDS = [
    "verification",
    "receipt",
    "suspended",
    "extended",
    "refused",
    "completed",
    "partially_completed",
    "cancelled",
    "expired",
    "status_link",
    "restriction_lift",
    "deadline_reminder",
]
STAFF = Actor(type="staff", id="1")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run a service and return the emails it sent (tasks run inline after commit)."""

    def run(service, **kwargs):
        before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            result = service(**kwargs)
        return result, mail.outbox[before:]

    return run


def _code(message) -> str:
    return re.search(r"^\s+(\d{6})\s*$", message.body, re.M).group(1)


def _html(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


@pytest.fixture
def file_request(db, send):
    def file(*, language: str = "da", right: str = "access", details: dict | None = None, name: str = "Ida & Bo"):
        result, sent = send(
            workflow.request_submit,
            right=right,
            email="ida@example.com",
            name=name,
            language=language,
            details=details or {},
            actor=Actor.subject(),
        )
        return result.request, sent

    return file


@pytest.fixture
def open_request(file_request, send):
    def make(language: str = "da", right: str = "access", details: dict | None = None) -> Request:
        request, sent = file_request(language=language, right=right, details=details)
        send(verification_confirm_code, reference=request.reference, code=_code(sent[0]))
        return Request.objects.get(pk=request.pk)

    return make


@pytest.mark.parametrize("language", ["da", "en"])
def test_verification_email_has_code_link_reference_and_is_in_the_requesters_language(file_request, language):
    request, sent = file_request(language=language)
    assert len(sent) == 1
    message = sent[0]
    assert message.to == ["ida@example.com"]
    assert request.reference in message.subject
    assert message.subject.startswith("Bekræft" if language == "da" else "Confirm")
    assert re.fullmatch(r"\d{6}", _code(message))
    link = re.search(r"https?://\S+/verify/link/\S+/", message.body).group(0)
    assert resolve("/" + link.split("//", 1)[1].split("/", 1)[1]).view_name == "dsr:verify_link"
    html = _html(message)
    assert f'lang="{language}"' in html
    assert _code(message) in html
    # Text parts are plain text: "Ida & Bo", not "Ida &amp; Bo".
    assert "Ida & Bo" in message.body
    assert "Ida &amp; Bo" in html


@pytest.mark.parametrize("language", ["da", "en"])
def test_receipt_gives_reference_due_date_and_status_link(open_request, language):
    request = open_request(language=language)
    receipt = mail.outbox[-1]
    assert request.reference in receipt.subject
    assert "/status/" in receipt.body
    with translation.override(language):
        due = date_format(request.effective_due_date, "j. F Y" if language == "da" else "j F Y")
    assert due in receipt.body
    assert ("artikel 12, stk. 3" if language == "da" else "Article 12(3)") in receipt.body


@pytest.mark.parametrize("language", ["da", "en"])
def test_suspension_says_what_we_need_how_to_reply_and_that_the_clock_stopped(open_request, send, language):
    request = open_request(language=language)
    _, sent = send(workflow.request_suspend, request=request, reason="clarification", note="Which period?", actor=STAFF)
    body = sent[0].body
    assert "Which period?" in body
    assert ("står stille" if language == "da" else "paused") in body
    assert ("Svar på denne e-mail" if language == "da" else "answer this email") in body


@pytest.mark.parametrize("language", ["da", "en"])
def test_extension_gives_reasons_and_the_new_due_date(open_request, send, language):
    request = open_request(language=language)
    request, sent = send(workflow.request_extend, request=request, reasons="Seven systems to search.", actor=STAFF)
    body = sent[0].body
    assert "Seven systems to search." in body
    with translation.override(language):
        due = date_format(request.extended_due_date, "j. F Y" if language == "da" else "j F Y")
    assert due in body
    assert ("artikel 12, stk. 3" if language == "da" else "Article 12(3)") in body


@pytest.mark.parametrize("language", ["da", "en"])
def test_refusal_names_reasons_datatilsynet_with_contact_details_and_the_courts(open_request, send, language):
    request = open_request(language=language)
    _, sent = send(
        workflow.request_refuse,
        request=request,
        ground=RefusalGround.EXCESSIVE,
        reasons="Fourth identical request this month.",
        actor=STAFF,
    )
    for part in (sent[0].body, _html(sent[0])):
        assert "Fourth identical request this month." in part
        assert "Datatilsynet" in part
        assert "33 19 32 00" in part
        assert "dt@datatilsynet.dk" in part
        assert ("artikel 79" if language == "da" else "Article 79") in part
        assert ("artikel 12, stk. 4" if language == "da" else "Article 12(4)") in part


@pytest.mark.parametrize("language", ["da", "en"])
def test_partial_completion_says_what_was_not_done_and_why(open_request, send, language):
    request = open_request(language=language)
    _, sent = send(
        workflow.request_complete,
        request=request,
        partial=True,
        reasons="Invoices kept: Bookkeeping Act.",
        actor=STAFF,
    )
    assert "Invoices kept: Bookkeeping Act." in sent[0].body
    assert "Datatilsynet" in sent[0].body


@pytest.mark.parametrize("language", ["da", "en"])
def test_completion_cancellation_and_new_link_reach_the_requester(open_request, send, language):
    request = open_request(language=language)
    _, sent = send(workflow.request_status_link_reissue, request=request, actor=Actor.subject())
    assert "/status/" in sent[0].body
    assert ("virker ikke længere" if language == "da" else "no longer work") in sent[0].body
    _, sent = send(workflow.request_complete, request=request, reasons="Copy sent.", actor=STAFF)
    assert request.reference in sent[0].subject
    assert "Copy sent." in sent[0].body


@pytest.mark.parametrize("language", ["da", "en"])
def test_cancellation_offers_a_new_request(open_request, send, language):
    request = open_request(language=language)
    _, sent = send(workflow.request_cancel, request=request, reasons="Sent by mistake.", actor=STAFF)
    assert "Sent by mistake." in sent[0].body
    assert "http" in sent[0].body


# --- Every template set on its own, with a full context ---------------------------------


@pytest.fixture
def full_context() -> dict:
    deadline = SimpleNamespace(
        received=date(2026, 3, 5),
        due=date(2026, 4, 7),
        extended_due=date(2026, 6, 5),
        effective_due=date(2026, 6, 5),
        days_left=-2,
        clock_stopped=False,
    )
    request = SimpleNamespace(
        name="Ida",
        reference="DSR-AAAA-BBBB-CCCC-DDDD",
        right="erasure",
        details={},
        get_right_display=lambda: "Erasure (Art. 17)",
    )
    return {
        "request": request,
        "reference": request.reference,
        "right_label": "Erasure (Art. 17)",
        "status_url": "https://privacy.example/status/DSR-AAAA-BBBB-CCCC-DDDD/tok/",
        "base_url": "https://privacy.example",
        "deadline": deadline,
        "controller": {
            "name": "Madkassen A/S",
            "address": "Vestergade 1",
            "cvr": "12345678",
            "email": "privacy@madkassen.dk",
            "phone": "",
            "dpo_email": "",
            "authority": {
                "name": "Datatilsynet",
                "address": "Carl Jacobsens Vej 35, 2500 Valby",
                "phone": "33 19 32 00",
                "email": "dt@datatilsynet.dk",
                "url": "https://www.datatilsynet.dk",
            },
        },
        "code": "123456",
        "verify_url": "https://privacy.example/verify/link/tok/",
        "expires_minutes": 60,
        "suspension": SimpleNamespace(reason="identity", note="Your customer number"),
        "reasons": "The reasons.",
        "ground_label": "Excessive",
        "lift_date": date(2026, 5, 1),
        "today": date(2026, 6, 7),
        "requests": [(request, deadline)],
        "dashboard_url": "https://privacy.example/dashboard/",
    }


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_template_set_renders_a_one_line_subject_and_complete_text_and_html(kind, language, full_context):
    base = f"dsr/emails/{kind}"
    subject = render_to_string(f"{base}/subject.{language}.txt", full_context).strip()
    text = render_to_string(f"{base}/body.{language}.txt", full_context)
    html = render_to_string(f"{base}/body.{language}.html", full_context)
    assert subject
    assert "\n" not in subject
    assert "{{" not in text + html
    assert "{%" not in text + html
    assert "<p" not in text  # the text part has no markup
    assert "<a " not in text
    assert f'lang="{language}"' in html
    if kind != "deadline_reminder":
        assert full_context["reference"] in subject
        assert "Madkassen A/S" in text
    assert "https://privacy.example" in text


def test_staff_reminder_says_overdue_days_without_a_minus_sign(full_context):
    text = render_to_string("dsr/emails/deadline_reminder/body.en.txt", full_context)
    assert "OVERDUE by 2 days" in text
    assert "-2" not in text


def test_a_controller_address_with_a_display_name_gives_a_working_mailto(full_context):
    full_context["controller"]["email"] = "Privacy team <privacy@madkassen.dk>"
    html = render_to_string("dsr/emails/refused/body.en.html", full_context)
    assert 'href="mailto:privacy@madkassen.dk"' in html
    assert "mailto:Privacy team" not in html


@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [
        ("en", "limit the use and disclosure of their sensitive personal information", "Article 19"),
        ("da", "begrænse brugen og videregivelsen af sine følsomme personoplysninger", "artikel 19"),
    ],
)
def test_the_notice_of_a_californian_limit_cites_the_ccpa_not_article_19(language, said, not_said):
    context = {
        "controller": {"name": "Madkassen ApS", "cvr": "12345678", "email": "privacy@madkassen.example"},
        "notification": {"recipient_name": "NutriPartner Inc.", "operation": "consent_withdrawal"},
        "person": {"email": "kunde@example.com"},
        "reference": "DSR-TEST",
    }
    for name in ("body", "subject"):
        rendered = " ".join(
            render_to_string(f"dsr/emails/recipient_notification/{name}.{language}.txt", context).split()
        )
        assert "§ 1798.121" in rendered
        assert not_said not in rendered
    body = " ".join(render_to_string(f"dsr/emails/recipient_notification/body.{language}.txt", context).split())
    assert said in body
    assert "§ 7027(m)" in body
    html = render_to_string(f"dsr/emails/recipient_notification/body.{language}.html", context)
    assert "GDPR" not in html


@pytest.mark.parametrize("language", ["da", "en"])
def test_a_list_of_names_ending_in_a_companys_full_stop_ends_the_sentence_once(language):
    from dsr.letters import letter_html
    from dsr.message_samples import sample_context

    context = sample_context("completed", language)
    context["outcome"] = context["outcome"] | {"notified": ["Stripe, Inc.", "Adyen N.V."], "telling": ["Acme Ltd."]}
    email = " ".join(render_to_string(f"dsr/emails/completed/body.{language}.txt", context).split())
    letter = " ".join(re.sub(r"<[^>]+>", " ", letter_html("erasure_confirmation", context, language)).split())

    for rendered in (email, letter):
        assert "Adyen N.V." in rendered
        assert ".." not in rendered
    assert "Stripe, Inc., Adyen N.V." in email


@pytest.mark.parametrize(("value", "ended"), [("Web shop", "Web shop."), ("Adyen N.V.", "Adyen N.V."), ("", ".")])
def test_sentence_end_adds_a_full_stop_only_where_none_is(value, ended):
    from dsr.templatetags.dsr_format import sentence_end

    assert sentence_end(value) == ended

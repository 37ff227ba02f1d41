"""Letters and emails per profile and language: the request's authority, periods and legal wording."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from dsr import workflow
from dsr.audit import Actor
from dsr.emails import controller_context
from dsr.letters import letter_html
from dsr.models import Message, Request, Right, VerificationMethod
from dsr.outbox import message_render
from dsr.selectors import request_deadline

CPH = ZoneInfo("Europe/Copenhagen")
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return Actor.staff(django_user_model.objects.create_user("agent", "agent@example.org", is_staff=True))


@pytest.fixture
def verified(django_capture_on_commit_callbacks, staff):
    def make(jurisdiction: str, language: str) -> Request:
        with django_capture_on_commit_callbacks(execute=True):
            request = workflow.request_submit(
                right=Right.ACCESS,
                email="kunde@example.com",
                language=language,
                jurisdiction=jurisdiction,
                # Staff checked the identity: the request starts at once and the receipt is sent.
                identity_checked=VerificationMethod.STAFF_CHECK,
                actor=Actor.subject(),
            ).request
        return request

    return make


def _letter_context(request: Request) -> dict:
    return {
        "request": request,
        "controller": controller_context(request),
        "reference": request.reference,
        "right_label": Right(request.right).label,
        "deadline": request_deadline(request),
        "reasons": request.outcome_reasons or request.extension_reasons,
        "ground_label": "",
    }


# (profile, language, the authority named, words the law's letters say, words they must not say)
COMPLAINTS = [
    ("dk", "da", "Datatilsynet", ["databeskyttelsesforordningens artikel 77", "artikel 79"], []),
    ("se", "en", "Integritetsskyddsmyndigheten (IMY)", ["Box 8114, 104 20 Stockholm", "Article 79"], []),
    ("no", "en", "Datatilsynet (Norge)", ["Postboks 458 Sentrum", "Article 77 of the General"], []),
    ("fi", "da", "Tietosuojavaltuutetun toimisto", ["PL 800, 00531 Helsinki"], []),
    ("de", "en", "(BfDI)", ["Graurheindorfer Straße 153, 53117 Bonn"], []),
    ("uk", "en", "Information Commissioner", ["Article 77 of the UK General Data Protection Regulation"], []),
    (
        "us-ca",
        "en",
        "California Privacy Protection Agency",
        ["1798.199.45", "info@cppa.ca.gov"],
        ["Article 79", "General Data Protection Regulation", "Datatilsynet"],
    ),
    ("br", "da", "Autoridade Nacional de Proteção de Dados", ["artikel 18, stk. 1"], ["artikel 79", "Datatilsynet"]),
]


@pytest.mark.parametrize(("code", "language", "authority", "says", "never"), COMPLAINTS, ids=[c[0] for c in COMPLAINTS])
def test_a_refusal_names_the_authority_of_the_requests_law(verified, staff, code, language, authority, says, never):
    request = verified(code, language)
    workflow.request_refuse(request=request, ground="manifestly_unfounded", reasons="It asks for a poem.", actor=staff)
    request.refresh_from_db()
    text = message_render(Message.objects.get(request=request, kind="refused")).text
    html = letter_html("refused", _letter_context(request), language)
    for rendered in (text, html):
        assert authority in rendered
        for words in says:
            assert words in rendered
        for words in never:
            assert words not in rendered


@pytest.mark.parametrize(
    ("code", "language", "says", "never"),
    [
        ("dk", "da", ["senest en måned efter"], []),
        ("se", "en", ["at the latest one month after", "Article 12(3)"], []),
        ("uk", "en", ["UK General Data Protection Regulation (Article 12(3))"], []),
        ("us-ca", "en", ["within 45 calendar days", "15 business days"], ["one month"]),
        ("us-ca", "da", ["senest 45 kalenderdage"], ["en måned"]),
        ("br", "en", ["within 15 days of your request", "allows no extension"], ["one month"]),
    ],
)
def test_the_receipt_states_the_period_of_the_requests_law(verified, code, language, says, never):
    request = verified(code, language)
    text = message_render(Message.objects.get(request=request, kind="receipt")).text
    for words in says:
        assert words in text
    for words in never:
        assert words not in text


@pytest.mark.parametrize(
    ("code", "language", "says", "never"),
    [
        ("se", "en", ["Article 12(3) of the General Data Protection Regulation", "1182/71"], []),
        ("uk", "en", ["Article 12(3) of the UK General Data Protection Regulation"], ["1182/71"]),
        ("de", "da", ["artikel 12, stk. 3, i databeskyttelsesforordningen", "1182/71"], []),
        ("us-ca", "en", ["45 calendar days", "Cal. Civ. Code § 1798.130"], ["Article 12(3)", "1182/71", "one month"]),
        ("us-ca", "da", ["45 kalenderdage"], ["artikel 12", "1182/71"]),
    ],
)
def test_the_extension_letter_cites_the_requests_law(verified, staff, code, language, says, never):
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=CPH)):
        request = verified(code, language)
        workflow.request_extend(request=request, reasons="Many systems are involved.", actor=staff)
    request.refresh_from_db()
    text = message_render(Message.objects.get(request=request, kind="extended")).text
    html = letter_html("extended", _letter_context(request), language)
    for words in says:
        assert words in html
    for words in never:
        assert words not in html
        assert words not in text

"""The answer cites the law the request is answered under: the GDPR's articles, the UK GDPR's, the LGPD's, the CCPA's.

A Californian's opt-out of sale or sharing is an objection to direct marketing inside dsr, but the person asked
to opt out, under Cal. Civ. Code § 1798.120: the answer says so, not "your objection (Article 21 GDPR)".
"""

import pytest
from django.core import mail

from dsr.jurisdictions import profile_get
from dsr.jurisdictions.registry import PROFILES
from dsr.models import Status
from tests.rights.conftest import company_map_load
from tests.rights.helpers import closing_email, names_listed, pdf_text, tasks_finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def auto_approve(settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True


@pytest.fixture
def every_law(company):
    """The demo company, serving people under every profile dsr ships."""

    def edit(document):
        document["controller"]["jurisdictions"] = sorted(PROFILES)

    company_map_load(company, edit)
    return company


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=lambda profile: profile.code)
@pytest.mark.parametrize("language", ["da", "en"])
def test_every_profile_cites_where_its_law_gives_each_right_it_offers(profile, language):
    articles = profile.wording_in(language).articles
    for right in profile.rights:
        assert articles.get(right, "").strip(), f"{profile.code}/{language} cites no article for {right}"


def test_a_californian_opt_out_is_answered_as_an_opt_out_of_sale_or_sharing(company, file):
    mail.outbox.clear()
    request = file("objection", jurisdiction="us-ca", scope="direct_marketing")

    assert request.status == Status.COMPLETED
    body = closing_email(request).body
    assert (
        "We have acted on your request to opt out of the sale or sharing of your personal information "
        "(Cal. Civ. Code § 1798.120)." in body
    )
    assert names_listed(
        body, "We no longer use or share your personal information for: ", ", and we have put you on the list"
    ) == {"Newsletter", "Other marketing to existing customers", "Targeted advertising with ad partners"}
    for gdpr in ("objection", "Article 21", "General Data Protection Regulation", "ad_retargeting"):
        assert gdpr not in body


def test_a_danish_californian_opt_out_is_answered_in_danish_with_the_californian_law(company, file):
    mail.outbox.clear()
    request = file("objection", jurisdiction="us-ca", scope="direct_marketing", language="da")

    body = closing_email(request).body
    assert (
        "Vi har gennemført din anmodning om at fravælge salg eller deling af dine personoplysninger "
        "(Cal. Civ. Code § 1798.120)." in body
    )
    assert "Vi bruger og deler ikke længere dine personoplysninger til: " in body
    assert "indsigelse" not in body
    assert "databeskyttelsesforordningens" not in body


@pytest.mark.parametrize(
    ("jurisdiction", "language", "cited", "never"),
    [
        ("dk", "en", "(Article 17 of the General Data Protection Regulation)", "Cal. Civ. Code"),
        ("dk", "da", "(databeskyttelsesforordningens artikel 17)", "Cal. Civ. Code"),
        ("uk", "en", "(Article 17 of the UK General Data Protection Regulation)", "Regulation (EU)"),
        ("br", "en", "(Article 18(IV) and (VI) of Lei nº 13.709/2018)", "General Data Protection Regulation)"),
        ("br", "da", "(artikel 18, IV og VI, i Lei nº 13.709/2018)", "databeskyttelsesforordningens artikel 17"),
        ("us-ca", "en", "(Cal. Civ. Code § 1798.105)", "General Data Protection Regulation"),
    ],
)
def test_the_erasure_answer_cites_the_requests_law(
    every_law, file, run, staff, auto_approve, jurisdiction, language, cited, never
):
    assert profile_get(jurisdiction).code == jurisdiction
    mail.outbox.clear()
    request = file("erasure", jurisdiction=jurisdiction, language=language)
    tasks_finish(request, staff, run)

    assert request.status == Status.COMPLETED
    body = closing_email(request).body
    paragraph = next(paragraph for paragraph in body.split("\n\n") if cited in paragraph)
    assert never not in paragraph
    # The signed confirmation letter says the same.
    (letter,) = [content for name, content, _type in closing_email(request).attachments if name.endswith(".pdf")]
    assert cited.strip("()") in " ".join(pdf_text(letter).split())


def test_a_consent_withdrawal_under_the_lgpd_cites_its_articles(every_law, file):
    mail.outbox.clear()
    request = file("consent_withdrawal", jurisdiction="br", consents=["newsletter"])

    body = closing_email(request).body
    assert "(Article 8(5) and Article 18(IX) of Lei nº 13.709/2018)" in body
    assert "Article 7(3)" not in body

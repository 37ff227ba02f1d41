"""The preference centre in Chromium, in Danish and English: confirm the email, withdraw one consent, give another.

Tasks run inline and emails are read from django.core.mail.outbox; the
withdrawal's jobs run in the engine's test company (tests/rights/conftest.py).
Screenshots land in test-artifacts/.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from dsr.models import Request, Right
from tests.rights.conftest import PERSON, company_load, shop_consents, shop_rows
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401


def _code(text: str) -> str:
    return re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)


def _link_path(text: str) -> str:
    url = re.search(r"https?://\S+/preferences/link/\S+/", text).group(0)
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


@pytest.fixture
def company(transactional_db, tmp_path, chinook_sqlite, processor):
    loaded = company_load(tmp_path, chinook_sqlite, processor)
    shop_consents(loaded.shop, given=("newsletter",), withdrawn=("call_recording",))
    return loaded


def test_danish_preference_centre_withdraws_the_newsletter_and_gives_call_recording(
    page: Page, live_server, company, screenshot
):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="dine samtykker").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dine samtykker")
    page.get_by_label("E-mailadresse").fill(PERSON)
    screenshot(page, "start-da")
    page.get_by_role("button", name="Send mig en kode").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tjek din e-mail")
    page.get_by_label("Kode fra e-mailen").fill("000000" if _code(mail.outbox[-1].body) != "000000" else "111111")
    page.get_by_role("button", name="Bekræft").click()
    expect(page.get_by_text("Koden er ikke korrekt. 4 forsøg tilbage.").first).to_be_visible()
    screenshot(page, "wrong-code-da")
    page.get_by_label("Kode fra e-mailen").fill(_code(mail.outbox[-1].body))
    page.get_by_role("button", name="Bekræft").click()

    newsletter = page.locator("section", has=page.locator("#consent-newsletter"))
    recording = page.locator("section", has=page.locator("#consent-call_recording"))
    expect(newsletter.locator(".pill")).to_have_text("Givet")
    expect(recording.locator(".pill")).to_have_text("Trukket tilbage")
    screenshot(page, "centre-da")

    newsletter.get_by_role("button", name="Træk tilbage").click()
    filed = Request.objects.get(right=Right.CONSENT_WITHDRAWAL)
    expect(page.locator(".notice.ok")).to_contain_text(f"referencenummer {filed.reference}")
    recording.get_by_role("button", name="Giv samtykke").click()
    expect(page.locator(".notice.ok")).to_have_text("Dit samtykke er registreret i: Webshop og kundekonti.")
    expect(recording.locator(".pill")).to_have_text("Givet")
    screenshot(page, "changed-da")
    assert filed.details["consents"] == ["newsletter"]
    assert shop_rows(
        company.shop, "SELECT channel FROM consent WHERE customer_id = 1 AND purpose = 'call_recording' AND granted = 1"
    ) == [("preference_centre",)]


def test_english_preference_centre_opens_from_the_emailed_link_in_another_browser(
    page: Page, live_server, company, screenshot, browser
):
    page.goto(live_server.url + "/preferences/")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consents")
    page.get_by_label("Email address").fill(PERSON)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    screenshot(page, "code-en")

    other = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900}).new_page()
    other.goto(live_server.url + _link_path(mail.outbox[-1].body))
    other.get_by_role("button", name="English").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    screenshot(other, "link-en")
    other.get_by_role("button", name="Confirm").click()

    expect(other.get_by_role("heading", level=1)).to_have_text("Your consents")
    expect(other.locator("section", has=other.locator("#consent-newsletter")).locator(".pill")).to_have_text("Given")
    expect(other.get_by_text("Web shop and customer accounts").first).to_be_visible()
    screenshot(other, "centre-en")
    other.get_by_role("button", name="Close my consents").click()
    expect(other.get_by_label("Email address")).to_be_visible()
    other.context.close()

"""An authorised agent's walk in Chromium: the start page's link, the form with its upload, both emailed links.

Tasks run inline; the emails are read from django.core.mail.outbox. Screenshots land in test-artifacts/.
"""

import re

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Page, expect

from dsr.models import AgentFiling, Request, Status

pytestmark = pytest.mark.django_db(transaction=True)

AGENT = "pat@agents.example"
CONSUMER = "ana.lopez@example.com"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n% signed: Ana Lopez\ntrailer<<>>\n%%EOF\n"


def _path(address: str, kind: str) -> str:
    message = next(m for m in reversed(mail.outbox) if address in m.to)
    return re.search(rf"https?://[^/\s]+(/agent/{kind}/[^/\s]+/)", message.body).group(1)


def _fill(page: Page, document: dict) -> None:
    page.fill("input[name=agent_name]", "Pat Agent")
    page.fill("input[name=agent_email]", AGENT)
    page.check("input[name=business]")
    page.fill("input[name=entity_name]", "Privacy Agents LLC")
    page.fill("input[name=entity_number]", "202412345678")
    page.fill("input[name=consumer_name]", "Ana Lopez")
    page.fill("input[name=consumer_email]", CONSUMER)
    page.select_option("select[name=consumer_language]", "en")
    page.check("input[name=kind][value=delete]")
    page.set_input_files("input[name=document]", document)


def test_an_agent_files_in_danish_and_the_agent_and_the_consumer_confirm_in_the_browser(
    page: Page, live_server, demo_datamap, screenshot
):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Send en anmodning som befuldmægtiget").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send en anmodning som befuldmægtiget")
    expect(page.locator("label[for=id_document]")).to_contain_text("Forbrugerens underskrevne tilladelse")

    _fill(page, {"name": "permission.pdf", "mimeType": "application/pdf", "buffer": PDF})
    shot = screenshot(page, "agent-form")
    assert shot.stat().st_size > 10_000

    # A text file is refused by its content, and the form says so next to the field.
    page.set_input_files("input[name=document]", {"name": "permission.txt", "mimeType": "text/plain", "buffer": b"x"})
    page.get_by_role("button", name="Send anmodningen").click()
    expect(page.locator("#form-errors")).to_contain_text("er ikke en PDF-, JPG- eller PNG-fil")
    assert not Request.objects.exists()
    screenshot(page, "agent-form-error")

    _fill(page, {"name": "permission.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="Send anmodningen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekræft din e-mailadresse")
    request = Request.objects.get()
    assert (request.status, request.jurisdiction, request.right) == (Status.PENDING_VERIFICATION, "us-ca", "erasure")
    assert [m.to for m in mail.outbox] == [[AGENT]]

    page.goto(live_server.url + _path(AGENT, "confirm"))
    page.get_by_role("button", name="Bekræft").click()
    expect(page.locator(".notice.ok")).to_have_text("Din e-mailadresse er bekræftet.")

    # The consumer opens their own link, in English (the language the agent chose for them).
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page.goto(live_server.url + _path(CONSUMER, "permission"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Did you give permission?")
    expect(page.locator("main")).to_contain_text("Pat Agent")
    expect(page.locator("main")).to_contain_text("Right to delete (Cal. Civ. Code § 1798.105)")
    screenshot(page, "consumer-permission")
    page.get_by_role("button", name="Yes, I gave permission").click()
    expect(page.locator(".notice.ok")).to_have_text("You have confirmed that you gave the agent permission.")
    page.get_by_role("link", name="Follow your request").click()
    expect(page).to_have_url(re.compile(rf"/status/{request.reference}/$"))
    assert AgentFiling.objects.get().consumer_confirmed_at is not None
    assert Request.objects.get().status == Status.AWAITING_APPROVAL

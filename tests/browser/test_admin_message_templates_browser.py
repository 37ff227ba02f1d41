"""A privacy admin edits a message template in Chromium: preview in a sandboxed frame, save, and it is in use."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from dsr.models import MessageTemplate
from dsr.roles import PRIVACY_ADMIN, roles_sync, user_role_set

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def lead(transactional_db, django_user_model):
    roles_sync()
    user = django_user_model.objects.create_user("lead", "lead@example.org", password=PASSWORD)
    user_role_set(user=user, role=PRIVACY_ADMIN)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


@pytest.fixture
def staff_page(browser) -> Page:
    # Tall enough that the preview's frame is in view: headless Chromium paints no frame outside it.
    context = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 2000})
    yield context.new_page()
    context.close()


def test_a_privacy_admin_previews_an_html_template_safely_and_saves_it(staff_page: Page, live_server, lead, screenshot):
    page = staff_page
    page.goto(live_server.url + "/admin/dsr/messagetemplate/")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    device = lead.totpdevice_set.get()
    page.get_by_label("Code").fill(f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Message templates")).to_be_visible()
    page.locator('a[href$="/messagetemplate/receipt/en/html/"]').first.click()
    body = page.get_by_label("Template")
    assert "We have received your request" in body.input_value()

    body.fill(
        '{% extends "dsr/emails/_layout.html" %}{% block content %}'
        '<p id="greeting">Hello {{ request.name }}, reference {{ reference }}</p>'
        "<script>document.body.innerHTML = 'ran'; parent.document.title = 'ran';</script>"
        "{% endblock %}"
    )
    page.get_by_role("button", name="Preview").click()

    frame = page.frame_locator("iframe[title='HTML preview']")
    expect(frame.locator("#greeting")).to_have_text("Hello Ida Jensen, reference DSR-7K2M-9QXP-4HTV-C3RW")
    expect(page.locator("#preview")).to_be_visible()
    # The sandbox ran no script: the frame still has its paragraph, the page its title.
    assert page.title() != "ran"
    screenshot(page, "preview")
    assert not MessageTemplate.objects.exists()

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Messages sent from now on use this text.")).to_be_visible()
    assert "Hello {{ request.name }}" in MessageTemplate.objects.get(kind="receipt", language="en", part="html").body
    page.get_by_role("link", name="Message templates").last.click()
    expect(page.get_by_text("Edited: lead")).to_be_visible()
    screenshot(page, "list")

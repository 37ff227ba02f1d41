"""Every page loads from dsr alone: Chromium records each request's origin and any CSP refusal.

The portal, the dashboard and the API docs (Swagger UI, served from our own static files) are
walked as a visitor and as logged-in staff; not one request may leave the live server's origin,
and the browser must report no Content-Security-Policy violation (nothing inline slipped in).
"""

from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from dsr.roles import PRIVACY_AGENT, roles_sync, user_role_set

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def watched_page(browser):
    """A page that notes the origin of every request it makes and every CSP refusal it reports."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.origins = set()
    page.refusals = []
    page.on("request", lambda request: page.origins.add(_origin(request.url)))
    page.on(
        "console",
        lambda message: (
            page.refusals.append(f"{page.url}: {message.text[:60]}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else parts.scheme


@pytest.fixture
def agent(transactional_db, django_user_model):
    roles_sync()
    user = django_user_model.objects.create_user("agent", "agent@example.org", password=PASSWORD, is_staff=True)
    user_role_set(user=user, role=PRIVACY_AGENT)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def _log_in(page: Page, live_server, user) -> None:
    page.goto(live_server.url + "/dashboard/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    device = user.totpdevice_set.get()
    page.get_by_label("Code").fill(f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Requests by deadline")).to_be_visible()


def test_no_page_loads_anything_from_another_origin(watched_page: Page, live_server, agent):
    page = watched_page
    for path in ("/", "/request/access/", "/request/objection/", "/status/", "/preferences/"):
        response = page.goto(live_server.url + path)
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")

    _log_in(page, live_server, agent)
    for path in ("/dashboard/", "/dashboard/statistics/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")

    docs = page.goto(live_server.url + "/api/docs/")
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    # Swagger UI runs (its script and styles came from us) and has read the schema.
    expect(page.get_by_role("heading", name="dsr API")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("/api/v1/requests/").first).to_be_visible()
    page.wait_for_load_state("networkidle")

    assert page.origins - {"data", "blob"} == {live_server.url}
    assert page.refusals == [], "\n".join(page.refusals)

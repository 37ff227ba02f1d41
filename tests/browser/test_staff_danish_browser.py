"""The privacy team's pages in a Danish browser: every page in Danish, with a year of imported history.

Each page's visible text is checked against the Danish catalogue: no English phrase the
catalogue translates may show on a page served in Danish. The pages: the queue, a request
being worked (dry run, timeline, actions), a request imported from the old spreadsheet,
the statistics with twelve months, and the intake form. Screenshots land in test-artifacts/.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import trans_real
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from dsr import workflow
from dsr.audit import Actor
from dsr.demo.history import demo_history_rows
from dsr.models import Request, Status
from dsr.roles import PRIVACY_ADMIN, roles_sync, user_role_set
from tests.browser.test_dashboard_browser import PASSWORD

pytestmark = pytest.mark.browser


def _english_phrases() -> set[str]:
    """Return every English phrase of three words or more that the Danish catalogue translates differently."""
    catalogue = trans_real.translation("da")._catalog
    phrases = set()
    for msgid, msgstr in catalogue.items():
        if not isinstance(msgid, str) or not msgstr or msgstr == msgid or "%" in msgid or "{" in msgid:
            continue
        text = msgid.strip()
        if len(text.split()) >= 3 and "\n" not in text and len(text) < 120:
            phrases.add(text)
    return phrases


def _assert_danish(page: Page, phrases: set[str], where: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "da")
    text = re.sub(r"\s+", " ", page.locator("body").inner_text())
    english = sorted(phrase for phrase in phrases if phrase in text)
    assert not english, f"{where} shows English text the catalogue translates: {english[:10]}"
    # Longer Danish words must not push the page wider than the window.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where} is {overflow}px wider than the window"


@pytest.fixture
def danish_admin(transactional_db, django_user_model):
    roles_sync()
    user = django_user_model.objects.create_user("privat", "privat@example.dk", password=PASSWORD)
    user_role_set(user=user, role=PRIVACY_ADMIN)
    TOTPDevice.objects.create(user=user, name="telefon", confirmed=True)
    return user


def test_the_staff_pages_speak_danish_with_a_year_of_history(page: Page, live_server, danish_admin, screenshot):

    actor = Actor.staff(danish_admin)
    working = workflow.request_submit(
        right="access",
        email="kunde@example.dk",
        name="Karen Kunde",
        actor=actor,
        channel="letter",
        received_at=timezone.now() - timedelta(days=9),
        identity_checked="staff_check",
    ).request
    result = workflow.requests_import(demo_history_rows(today=timezone.localdate()), actor=Actor.system())
    imported = Request.objects.filter(imported_at__isnull=False, status=Status.REFUSED).first()
    assert result.created > 60
    assert imported is not None
    with translation.override("da"):
        phrases = _english_phrases()
    assert len(phrases) > 300  # the catalogue is there and read

    page.goto(live_server.url + "/dashboard/")
    _assert_danish(page, phrases, "the login page")
    page.locator("input[name=username]").fill("privat")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    device = danish_admin.totpdevice_set.get()
    page.locator("input[name=token]").fill(f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}")
    page.locator("button[type=submit]").click()

    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    _assert_danish(page, phrases, "the queue")
    screenshot(page, "queue")

    page.get_by_role("link", name=working.reference).click()
    expect(page.get_by_test_id("timeline")).to_be_visible()
    _assert_danish(page, phrases, "a request in progress")
    # The timeline is in words: no recorded key shows as it is stored.
    timeline = page.get_by_test_id("timeline").inner_text()
    assert not re.search(r"\b[a-z]+_[a-z_]+: ", timeline), timeline
    screenshot(page, "request")

    page.goto(f"{live_server.url}/dashboard/requests/{imported.pk}/")
    expect(page.get_by_test_id("imported")).to_contain_text("importeret")
    expect(page.get_by_test_id("status")).to_have_text("Afvist")
    _assert_danish(page, phrases, "an imported request")
    screenshot(page, "imported")

    page.goto(live_server.url + "/dashboard/statistics/")
    _assert_danish(page, phrases, "the statistics")
    screenshot(page, "statistics")
    # Twelve months with requests in them: the chart has no empty year any more.
    months = timezone.localdate() - timedelta(days=45 + 330)
    assert Request.objects.filter(received_at__date__lte=months).exists()

    page.goto(live_server.url + "/dashboard/requests/new/")
    _assert_danish(page, phrases, "the intake form")
    screenshot(page, "intake")

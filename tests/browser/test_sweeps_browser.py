"""The privacy admin sweeps the demo shop's expired accounts in Chromium: dry run, approval, report.

The worker's part runs inline (Celery eager), as the approval's task would in a worker.
Screenshots land in test-artifacts/.
"""

import sqlite3
from contextlib import closing

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from dsr.datamap.loading import datamap_load
from dsr.demo.shop import shop_database_build
from dsr.models import RetentionSweep
from dsr.roles import PRIVACY_ADMIN, roles_sync, user_role_set
from tests.sweeps.conftest import map_text

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def admin_page(browser) -> Page:
    context = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def lead(transactional_db, django_user_model, tmp_path):
    roles_sync()
    user = django_user_model.objects.create_user("lead", "lead@example.org", password=PASSWORD)
    user_role_set(user=user, role=PRIVACY_ADMIN)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    shop = tmp_path / "shop.sqlite3"
    shop_database_build(shop)
    datamap_load(text=map_text(f"sqlite:///{shop}"), loaded_by="tests")
    return user, shop


def test_the_admin_dry_runs_approves_and_downloads_a_sweep(admin_page: Page, live_server, lead, screenshot):
    user, shop = lead
    page = admin_page
    page.goto(live_server.url + "/dashboard/")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    device = user.totpdevice_set.get()
    page.get_by_label("Code").fill(f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}")
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Retention sweeps").click()
    row = page.locator("tr[data-rule='purpose:purchase']")
    expect(row).to_contain_text("Off")
    row.get_by_role("button", name="Make a dry run").click()
    expect(page.get_by_test_id("sweep-status")).to_contain_text("Dry run ready")
    sweep = RetentionSweep.objects.get()
    people = sweep.report["sources"][0]["targets"][0]["people"]
    assert people > 0
    totals = page.get_by_test_id("sweep-totals")
    expect(totals.locator("div", has_text="People past the period").locator("dd")).to_have_text(str(people))
    expect(page.get_by_test_id("sweep-report")).to_contain_text("keep under a legal hold")
    expect(page.get_by_test_id("sweep-sample")).to_be_visible()
    screenshot(page, "sweep-dry-run")
    with closing(sqlite3.connect(shop)) as conn:
        assert conn.execute("SELECT count(*) FROM customer WHERE phone IS NULL").fetchone() == (0,)

    page.get_by_test_id("sweep-approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    page.reload()
    expect(page.get_by_test_id("sweep-status")).to_contain_text("Done")
    done = page.get_by_test_id("sweep-done")
    expect(done.locator("div", has_text="Rows anonymised").locator("dd")).to_have_text(str(people))
    screenshot(page, "sweep-done")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"retention-sweep-{sweep.pk}.csv"
    with closing(sqlite3.connect(shop)) as conn:
        assert conn.execute("SELECT count(*) FROM customer WHERE phone IS NULL").fetchone() == (people,)

"""A person downloads their copy from the status page in Chromium, in Danish, against a live server."""

import zipfile

from django.urls import reverse
from playwright.sync_api import Page, expect

from dsr.exports.delivery import link_by_token
from dsr.workflow import request_status_token
from tests.views.bundles import released


def test_danish_requester_downloads_the_copy_from_the_status_page(
    page: Page, live_server, transactional_db, screenshot, tmp_path
):
    request, token = released(right="access", language="da", email="ida.jensen@example.com")

    status_link = reverse("dsr:status_link", args=[request.reference, request_status_token(request)])
    page.goto(live_server.url + status_link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    expect(page.get_by_test_id("download")).to_contain_text("Din kopi er klar")
    screenshot(page, "status-download-da")

    with page.expect_download() as info:
        page.get_by_role("button", name="Hent dine oplysninger").click()
    download = info.value

    assert download.suggested_filename == f"{request.reference}.zip"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
    assert f"{request.reference}/manifest.json" in names
    assert f"{request.reference}/report.pdf" in names
    assert link_by_token(token).downloads == 1

"""A person opens index.html from the unpacked ZIP on their own disk, in Chromium, in Danish and in English."""

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dsr.exports.delivery import bundle_open
from tests.exports.conftest import chinook_sqlite, company, processor, run, staff  # noqa: F401  (fixtures, reused)
from tests.exports.readable_helpers import HOSTILE, access_opened
from tests.rights.conftest import shop_execute

pytestmark = pytest.mark.django_db

TEXT = {
    "da": {
        "h1": "Dine personoplysninger hos Madkassen Demo ApS",
        "data": "Dine oplysninger",
        "account": "Kundekonto",
        "number": "Kundenummer",
        "restricted": "nej",
        "guide": "Hvilken fil skal du åbne?",
        "footnote": "Kunde-id: vores interne nummer for rækken.",
    },
    "en": {
        "h1": "Your personal data held by Madkassen Demo ApS",
        "data": "Your data",
        "account": "Customer account",
        "number": "Customer number",
        "restricted": "no",
        "guide": "Which file to open",
        "footnote": "Customer id: our internal number for the row.",
    },
}


def _unpack(request, folder: Path) -> Path:
    """Unpack the bundle as the person's ZIP program would; return the path of its index.html."""
    with bundle_open(request.bundles.get()) as plain, zipfile.ZipFile(plain) as archive:
        archive.extractall(folder)
    return folder / request.reference / "index.html"


@pytest.mark.parametrize("language", ["da", "en"])
def test_person_reads_their_data_in_index_html_opened_from_disk(
    page: Page, company, run, staff, tmp_path, screenshot, language
):
    shop_execute(company.shop, "UPDATE customer SET first_name = ? WHERE id = 1", HOSTILE)
    shop_execute(company.shop, "UPDATE preference SET dislikes = ? WHERE customer_id = 1", "coriander, " * 60)
    request, _opened = access_opened(run, staff, language=language)
    index = _unpack(request, tmp_path)
    text = TEXT[language]
    asked = []
    page.on("request", lambda sent: asked.append(sent.url))

    page.goto(index.as_uri())

    expect(page.get_by_role("heading", level=1)).to_have_text(text["h1"])
    expect(page.get_by_role("heading", level=2, name=text["data"], exact=True)).to_be_visible()
    expect(page.get_by_text(text["guide"])).to_be_visible()
    account = page.locator("table.data").filter(has=page.get_by_role("columnheader", name=text["number"]))
    expect(account).to_have_count(1)
    expect(account.get_by_role("cell", name=text["restricted"], exact=True)).to_be_visible()
    expect(account.get_by_role("cell", name=HOSTILE)).to_be_visible()
    expect(page.get_by_text(text["footnote"]).first).to_be_visible()
    # The hostile value is text on the page: no script ran and none is in the document.
    assert page.title() != "pwned"
    assert page.locator("script").count() == 0
    # Opened from a ZIP on the person's disk: nothing is fetched from anywhere else.
    assert asked
    assert all(url.startswith("file://") for url in asked), asked
    # Wide tables scroll inside their box and long texts wrap: the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    dislikes = page.get_by_role("cell", name="coriander, coriander", exact=False)
    assert dislikes.bounding_box()["height"] > 40

    # The link to the Excel file points at the file beside index.html.
    link = page.get_by_role("link", name=f"data/shop/customer.{language}.csv").first
    assert (index.parent / link.get_attribute("href")).is_file()
    expect(page.get_by_role("heading", level=4, name=re.compile(f"^{text['account']} ·"))).to_be_visible()
    screenshot(page, f"bundle-index-{language}")

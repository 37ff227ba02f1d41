"""A person's walk through the portal in Chromium, in Danish and English, against a live server.

The Danish access request runs with a real Celery worker (emails read from its
outbox folder); the others run the tasks inline and read django.core.mail.outbox.
Screenshots land in test-artifacts/.
"""

import re
import zipfile

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from dsr.models import Request, Status
from tests.e2e.test_worker_jobs import _reconcile_until, _tasks_finish, engine_env  # noqa: F401
from tests.rights.conftest import PERSON, company_load
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401

EMAIL = "ida.jensen@example.com"


def _plain(message) -> str:
    """Return the text part of an email, whether from the outbox folder or django.core.mail."""
    if hasattr(message, "get_body"):
        return message.get_body(preferencelist=("plain",)).get_content()
    return message.body


def _link(text: str, kind: str) -> str:
    return re.search(rf"https?://\S+/{kind}/\S+/", text).group(0)


def _path(url: str) -> str:
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


def _code(text: str) -> str:
    return re.search(r"^\s+(\d{6})\s*$", text, re.M).group(1)


def _emails_about(subject_start: str):
    return [m for m in mail.outbox if m.subject.startswith(subject_start)]


@pytest.fixture
def company_worker(engine_env, celery_worker_process, tmp_path, chinook_sqlite, processor):
    """Return the real worker, with the engine's test company (shop, Chinook, chats, ad partner) as the data map."""
    company_load(tmp_path, chinook_sqlite, processor)
    return celery_worker_process


def test_danish_access_request_from_the_form_through_the_emailed_link_to_the_status_page_and_the_download(
    page: Page, live_server, company_worker, screenshot, wait_until, tmp_path
):
    celery_worker_process = company_worker
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "da")
    expect(page.locator(".brand-name")).to_have_text("Madkassen Demo ApS")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dine rettigheder over dine personoplysninger")
    screenshot(page, "start-da")

    page.get_by_role("link", name=re.compile("Se de oplysninger, I har om mig")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se de oplysninger, vi har om dig")
    page.get_by_label("E-mailadresse").fill(PERSON)
    page.get_by_label("Navn").fill("Ida Jensen")
    page.get_by_label("Er der noget, vi skal vide?").fill("Især mine ordrer fra 2025.")
    screenshot(page, "form-da")
    page.get_by_role("button", name="Send anmodning").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Tjek din e-mail")
    screenshot(page, "check-email-da")
    request = Request.objects.get()
    assert request.language == "da"
    assert request.email not in page.url

    verification = wait_until(
        lambda: [m for m in celery_worker_process.outbox() if "Bekræft din anmodning" in m["Subject"]],
        timeout=60,
        what="the verification email from the worker",
    )[0]
    link = _link(_plain(verification), "verify/link")
    page.goto(live_server.url + _path(link))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bekræft din anmodning")
    screenshot(page, "confirm-link-da")
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION  # opening the link alone confirms nothing

    page.get_by_role("button", name="Bekræft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    expect(page.get_by_test_id("progress")).to_contain_text("Vi behandler din anmodning og svarer senest")
    expect(page.get_by_text("Vi samler en kopi af dine oplysninger")).to_be_visible()
    expect(page.get_by_test_id("download")).to_contain_text("Din kopi er ikke klar endnu")
    screenshot(page, "status-da")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS

    receipt = wait_until(
        lambda: [m for m in celery_worker_process.outbox() if "Vi har modtaget din anmodning" in m["Subject"]],
        timeout=60,
        what="the receipt from the worker",
    )[0]
    status_link = _link(_plain(receipt), "status")
    # The emailed status link works in a fresh browser and lands on a URL without the secret.
    other = page.context.browser.new_context(locale="da-DK")
    other_page = other.new_page()
    other_page.goto(live_server.url + _path(status_link))
    expect(other_page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    assert other_page.url == f"{live_server.url}/status/{request.reference}/"
    other.close()

    # The worker collects from every system; the owner of the chats attests their task; the bundle is built.
    _tasks_finish(request, wait_until)
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=120)
    completion = wait_until(
        lambda: [m for m in celery_worker_process.outbox() if "/download/" in _plain(m)],
        timeout=60,
        what="the completion email with the download link",
    )[0]
    download_link = _link(_plain(completion), "download")
    page.goto(live_server.url + _path(download_link))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, "download-page-da")
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile("Hent")).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        report = archive.read(f"{request.reference}/index.html").decode()
    assert f"{request.reference}/report.pdf" in names
    assert f"{request.reference}/data/chinook/Invoice.csv" in names
    assert 'lang="da"' in report
    assert "Adyen N.V." in report

    # The status page offers the copy too.
    page.goto(live_server.url + f"/status/{request.reference}/")
    expect(page.get_by_test_id("download")).to_contain_text("Din kopi er klar")
    screenshot(page, "status-completed-da")


def test_english_marketing_objection_is_confirmed_in_one_step(page: Page, live_server, screenshot):
    page.goto(live_server.url + "/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name=re.compile("Object to how my data is used")).click()
    page.get_by_label("Direct marketing").check()
    page.get_by_label("Email address").fill(EMAIL)
    screenshot(page, "objection-form-en")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    verification = _emails_about("Confirm your request")[0]
    page.goto(live_server.url + _path(_link(verification.body, "verify/link")))
    expect(page.get_by_text("Objection (Art. 21)")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your request")
    expect(page.get_by_text("In progress", exact=True)).to_be_visible()
    screenshot(page, "objection-status-en")
    request = Request.objects.get()
    assert request.language == "en"
    assert request.details == {"scope": "direct_marketing"}
    assert _emails_about("We have received your request")


def test_rectification_with_a_validation_error_fixed_by_the_user(page: Page, live_server, screenshot):
    page.goto(live_server.url + "/request/rectification/")
    page.locator("#id_field_0").fill("Adresse")
    page.locator("#id_email").fill("ida.jensen@example")
    page.get_by_role("button", name="Send anmodning").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Ret venligst følgende")
    expect(page.locator("#id_correct_0")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_field_0")).to_have_value("Adresse")  # nothing typed is lost
    screenshot(page, "rectification-errors-da")
    assert Request.objects.count() == 0

    summary.get_by_role("link", name="Hvad det skal være").click()
    expect(page.locator("#id_correct_0")).to_be_focused()
    page.locator("#id_correct_0").fill("Østergade 2, 8000 Aarhus C")
    page.locator("#id_email").fill(EMAIL)
    page.get_by_role("button", name="Send anmodning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tjek din e-mail")

    code = _code(_emails_about("Bekræft din anmodning")[0].body)
    page.get_by_label("Kode fra e-mailen").fill(code)
    page.get_by_role("button", name="Bekræft", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    screenshot(page, "rectification-status-da")
    assert Request.objects.get().details["corrections"][0]["correct"] == "Østergade 2, 8000 Aarhus C"


def test_switching_language_keeps_what_was_typed(page: Page, live_server, screenshot):
    page.goto(live_server.url + "/request/erasure/")
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_name").fill("Ida Jensen")
    page.locator("#id_description").fill("Kun nyhedsbrevet og min konto.")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#id_email")).to_have_value(EMAIL)
    expect(page.locator("#id_name")).to_have_value("Ida Jensen")
    expect(page.locator("#id_description")).to_have_value("Kun nyhedsbrevet og min konto.")
    screenshot(page, "erasure-form-en-kept")
    # Put back once: a later visit to the form starts empty.
    page.reload()
    expect(page.locator("#id_description")).to_have_value("")
    assert not page.evaluate("Object.keys(sessionStorage).filter(key => key.startsWith('dsr-'))")


def test_keyboard_only_submission(page: Page, live_server, screenshot):
    page.goto(live_server.url + "/request/access/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Gå til indholdet")).to_be_focused()
    screenshot(page, "keyboard-skip-link")
    page.keyboard.press("Enter")

    visited = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")
        visited.append(focused)
        if focused == "id_email":
            break
    assert visited[-1] == "id_email", visited
    assert "id_website" not in visited  # the honeypot is out of the tab order
    page.keyboard.type(EMAIL)
    screenshot(page, "keyboard-email-focused")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Tjek din e-mail")
    page.keyboard.press("Tab")
    code = _code(_emails_about("Bekræft din anmodning")[0].body)
    page.locator("#id_code").focus()
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    assert Request.objects.get().status == Status.IN_PROGRESS


def test_the_portal_works_without_javascript(new_context, live_server, demo_datamap, screenshot):
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/request/consent_withdrawal/")
    page.get_by_label("Nyhedsbrev").check()
    screenshot(page, "consent-form-no-js-da")
    page.get_by_label("E-mailadresse").fill(EMAIL)
    page.get_by_role("button", name="Send anmodning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tjek din e-mail")
    page.get_by_label("Kode fra e-mailen").fill(_code(_emails_about("Bekræft din anmodning")[0].body))
    page.get_by_role("button", name="Bekræft", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    screenshot(page, "status-no-js-da")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your request")
    screenshot(page, "status-no-js-en")
    assert Request.objects.get().details == {"consents": ["newsletter"]}


@pytest.mark.parametrize("width", [390])
def test_status_page_on_a_phone(page: Page, live_server, screenshot, width):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server.url + "/request/erasure/")
    page.get_by_label("E-mailadresse").fill(EMAIL)
    page.get_by_role("button", name="Send anmodning").click()
    page.get_by_label("Kode fra e-mailen").fill(_code(_emails_about("Bekræft din anmodning")[0].body))
    page.get_by_role("button", name="Bekræft", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Din anmodning")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    screenshot(page, "status-phone-da")

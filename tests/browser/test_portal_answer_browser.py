"""In Chromium, in Danish and English: the person reads what we asked, answers with a file, and keeps our letter.

Against a live server with the tasks run inline. Screenshots land in test-artifacts/.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Channel, Request, Right, Status, SubjectAnswer, SuspensionReason, VerificationMethod
from dsr.workflow import request_status_token
from tests.rights.conftest import (  # noqa: F401  (the engine's test company and its fixtures, reused)
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.usefixtures("transactional_db")

QUESTION = {
    "da": "Hvilken af dine to konti mener du: webshoppen eller nyhedsbrevet? Skriv gerne dit kundenummer.",
    "en": "Which of your two accounts do you mean: the web shop or the newsletter? Please give your customer number.",
}
TEXT = {
    "da": "Webshoppen. Mit kundenummer er 4411.",
    "en": "The web shop. My customer number is 4411.",
}
WORDS = {
    "da": {
        "asked": "Det har vi brug for fra dig",
        "send": "Send mit svar",
        "received": "Vi modtog dit svar den",
        "wrong": "er ikke en PDF-, JPG-, PNG- eller tekstfil",
        "letter": "Hent brevet (PDF)",
        "letter_name": "sletning.pdf",
    },
    "en": {
        "asked": "What we need from you",
        "send": "Send my answer",
        "received": "We received your answer on",
        "wrong": "is not a PDF, JPG, PNG or text file",
        "letter": "Download the letter (PDF)",
        "letter_name": "erasure.pdf",
    },
}


def _waiting(language: str, user) -> Request:
    actor = Actor.staff(user)
    request = workflow.request_submit(
        right=Right.ERASURE,
        email="ida.jensen@example.com",
        name="Ida Jensen",
        language=language,
        channel=Channel.EMAIL,
        received_at=timezone.now() - timedelta(days=4),
        actor=actor,
    ).request
    workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)
    return workflow.request_suspend(
        request=request, reason=SuspensionReason.CLARIFICATION, note=QUESTION[language], actor=actor
    )


def _open_status(page: Page, live_server, request: Request, language: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    link = reverse("dsr:status_link", args=[request.reference, request_status_token(request)])
    page.goto(live_server.url + link)


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_person_reads_the_question_and_answers_with_a_file(
    page: Page, live_server, django_user_model, screenshot, tmp_path, language
):
    words = WORDS[language]
    request = _waiting(language, django_user_model.objects.create_user("agent"))
    _open_status(page, live_server, request, language)

    answer = page.get_by_test_id("answer")
    expect(answer.get_by_role("heading", level=2)).to_have_text(words["asked"])
    expect(page.get_by_test_id("question")).to_have_text(QUESTION[language])
    screenshot(page, f"waiting-{language}")

    # A file that only pretends to be a PDF is refused by name; the text typed stays.
    fake = tmp_path / "kvittering.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a PDF")
    page.locator("#answer-text").fill(TEXT[language])
    page.locator("#answer-files").set_input_files(str(fake))
    page.get_by_role("button", name=words["send"]).click()
    expect(page.locator(".form-errors")).to_contain_text(f"kvittering.pdf {words['wrong']}")
    expect(page.locator("#answer-text")).to_have_value(TEXT[language])
    screenshot(page, f"refused-file-{language}")

    real = tmp_path / "ordre.pdf"
    real.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.locator("#answer-files").set_input_files(str(real))
    page.get_by_role("button", name=words["send"]).click()
    expect(page.get_by_test_id("answered")).to_contain_text(words["received"])
    expect(page.get_by_test_id("answer")).to_have_count(0)
    screenshot(page, f"answered-{language}")

    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    answer = SubjectAnswer.objects.get(request=request)
    assert answer.text == TEXT[language]
    assert [f.name for f in answer.files.all()] == ["ordre.pdf"]


@pytest.mark.parametrize("language", ["da", "en"])
def test_a_finished_erasure_offers_its_letter(
    page: Page,
    live_server,
    company,
    file,
    run,
    staff,
    settings,
    screenshot,
    language,
):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure", language=language)
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert request.status in (Status.COMPLETED, Status.PARTIALLY_COMPLETED)

    _open_status(page, live_server, request, language)
    expect(page.get_by_test_id("letter")).to_be_visible()
    screenshot(page, f"erasure-letter-{language}")
    with page.expect_download() as info:
        page.get_by_role("button", name=WORDS[language]["letter"]).click()
    assert info.value.suggested_filename == f"{request.reference}-{WORDS[language]['letter_name']}"

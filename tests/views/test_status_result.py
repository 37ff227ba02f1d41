"""The status page of a closed request says what we did, from what the sources reported."""

import pytest
from django.test import Client
from django.urls import reverse

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

pytestmark = pytest.mark.django_db


def _status_page(request, language: str) -> str:
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    link = reverse("dsr:status_link", kwargs={"reference": request.reference, "token": request_status_token(request)})
    return browser.get(link, follow=True).content.decode()


def test_a_completed_erasure_says_what_was_erased_and_kept_in_the_pages_language(company, file, run, staff, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")
    tasks_finish(request, staff, run)

    english = _status_page(request, "en")
    assert "What we did" in english
    assert "Web shop and customer accounts: Customer account (1 record)" in english
    assert "Kept because the law requires it" in english
    assert "(0 " not in english

    danish = _status_page(request, "da")
    assert "Webshop og kundekonti: Kundekonto (1 post)" in danish
    assert "Opbevaret, fordi loven kræver det" in danish


def test_a_request_still_in_work_says_nothing_done_yet(company, file):
    request = file("erasure")
    page = _status_page(request, "en")
    assert 'data-testid="result"' not in page

"""The preference centre with a real worker: the code comes by email, and a withdrawal runs the same jobs.

The person asks for a code, enters it, and withdraws the newsletter; the
worker withdraws it in the demo shop (the consent row marked withdrawn, the
subscription deleted), the person receives the closing letter, and the centre
then shows the consent withdrawn and offers to give it again.
"""

import re

import pytest
from django.test import Client

from dsr.models import Request, Right, Status
from tests.e2e.test_truthful_outcomes import sent_to_person, text
from tests.e2e.test_worker_jobs import _reconcile_until, company, engine_env, worker  # noqa: F401
from tests.rights.conftest import PERSON, shop_rows
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401

pytestmark = pytest.mark.e2e


def _sent(worker, subject_start: str, wait_until):
    def find():
        return [m for m in worker.outbox() if m["To"] == PERSON and m["Subject"].startswith(subject_start)]

    return wait_until(find, timeout=60, what=f"the email {subject_start!r}")[-1]


def _section(page: str, key: str) -> str:
    return page.split(f'id="consent-{key}"', 1)[1].split("</section>", 1)[0]


def test_withdrawing_the_newsletter_in_the_centre_withdraws_it_in_the_shop(worker, company, wait_until):
    person = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert person.post("/preferences/", {"email": PERSON})["Location"] == "/preferences/code/"
    code_email = _sent(worker, "Your code for your consents", wait_until)
    code = re.search(r"^\s+(\d{6})\s*$", text(code_email), re.M).group(1)
    assert person.post("/preferences/code/", {"code": code})["Location"] == "/preferences/"
    assert 'value="withdraw"' in _section(person.get("/preferences/").content.decode(), "newsletter")

    person.post("/preferences/change/", {"consent": "newsletter", "action": "withdraw"})

    request = Request.objects.get(right=Right.CONSENT_WITHDRAWAL)
    assert request.details["consents"] == ["newsletter"]
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=90)
    assert shop_rows(company.shop, "SELECT granted FROM consent WHERE customer_id = 1 AND purpose = 'newsletter'") == [
        (0,)
    ]
    assert shop_rows(company.shop, "SELECT count(*) FROM newsletter_subscription WHERE customer_id = 1") == [(0,)]
    letter = text(sent_to_person(worker, request, "completed", wait_until))
    assert "Newsletter" in letter
    newsletter = _section(person.get("/preferences/").content.decode(), "newsletter")
    assert "Withdrawn" in newsletter
    assert 'value="give"' in newsletter
    assert "We are withdrawing this consent" not in newsletter

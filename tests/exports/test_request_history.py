"""The access answer lists the person's own earlier requests, and never anyone else's."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from dsr.audit import Actor
from dsr.exports.history import request_history, requests_of_person
from dsr.models import ManualFinding, VerificationMethod
from dsr.workflow import request_cancel, request_identity_check, request_purge, request_submit, request_verify
from tests.exports.helpers import bundle_read
from tests.rights.conftest import (  # noqa: F401  (the fixtures, reused)
    PERSON,
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
from tests.rights.helpers import pdf_text, task_finish

pytestmark = pytest.mark.django_db
CPH = ZoneInfo("Europe/Copenhagen")


def _filed(email: str, *, verified: bool = True, customer_number: str = "", right: str = "erasure", **kwargs):
    return request_submit(
        right=right,
        email=email,
        customer_number=customer_number,
        actor=Actor.integration("shop") if verified else Actor.subject(),
        pre_verified=verified,
        **kwargs,
    ).request


def _email_verified(email: str, *, customer_number: str = "", right: str = "erasure"):
    """File as the person on the portal and confirm the email: identity at the email's level only."""
    request = _filed(email, verified=False, customer_number=customer_number, right=right)
    return request_verify(request=request, method=VerificationMethod.EMAIL_CODE, actor=Actor.subject())


def _closed(request, staff):
    return request_cancel(request=request, actor=staff)


def test_only_the_persons_own_verified_requests_are_listed(staff):
    with time_machine.travel(datetime(2024, 5, 2, 10, 0, tzinfo=CPH)):
        earlier = _closed(_filed("Kunde@Example.dk"), staff)
    someone_else = _closed(_filed("kunde@example.dk.evil.example"), staff)
    near_miss = _closed(_filed("kunde2@example.dk"), staff)
    unconfirmed = _filed("kunde@example.dk", verified=False)  # filed with the address, never confirmed
    current = _filed("kunde@example.dk", right="access")

    listed = requests_of_person(current)

    assert listed == [earlier, current]
    assert someone_else not in listed
    assert near_miss not in listed
    assert unconfirmed not in listed


def test_a_customer_number_matches_only_where_both_requests_checked_the_identity(staff):
    checked = _filed("gammel@example.dk", customer_number="KN-100")
    request_identity_check(request=checked, method=VerificationMethod.STAFF_CHECK, actor=staff)
    _closed(checked, staff)
    unchecked = _closed(_email_verified("fremmed@example.dk", customer_number="KN-100"), staff)
    other_number = _filed("tredje@example.dk", customer_number="kn-100")
    request_identity_check(request=other_number, method=VerificationMethod.STAFF_CHECK, actor=staff)
    current = _email_verified("ny@example.dk", customer_number="KN-100", right="access")

    assert requests_of_person(current) == [current], "an email-only request cannot claim a customer number"
    request_identity_check(request=current, method=VerificationMethod.STAFF_CHECK, actor=staff)
    current.refresh_from_db()

    listed = requests_of_person(current)
    assert checked in listed
    assert unchecked not in listed
    assert other_number not in listed  # "kn-100" is another customer number


def test_purged_requests_are_not_listed(staff):
    earlier = _closed(_filed("kunde@example.dk"), staff)
    request_purge(request=earlier, actor=staff)
    current = _filed("kunde@example.dk", right="access")

    assert requests_of_person(current) == [current]


def test_each_request_shows_right_dates_and_outcome_in_the_persons_language(staff):
    with time_machine.travel(datetime(2024, 5, 2, 10, 0, tzinfo=CPH)):
        earlier = _filed("kunde@example.dk")
    with time_machine.travel(datetime(2024, 5, 3, 9, 0, tzinfo=CPH)):
        _closed(earlier, staff)
    current = _filed("kunde@example.dk", right="access")

    with translation.override("da"):
        danish = request_history(current)
    with translation.override("en"):
        english = request_history(current)

    assert danish[0]["right"] == "Sletning (art. 17)"
    assert danish[0]["status"] == "Annulleret"
    assert english[0] | {"received": None, "closed": None} == {
        "reference": earlier.reference,
        "right": "Erasure (Art. 17)",
        "received": None,
        "closed": None,
        "status": "Cancelled",
        "current": False,
    }
    assert (str(english[0]["received"]), str(english[0]["closed"])) == ("2024-05-02", "2024-05-03")
    assert english[1]["current"] is True
    assert english[1]["closed"] is None


@pytest.mark.parametrize(
    ("language", "heading", "this_request", "right"),
    [
        ("en", "Your requests to us", "This request", "Erasure (Art. 17)"),
        ("da", "Dine anmodninger til os", "Denne anmodning", "Sletning (art. 17)"),
    ],
)
def test_the_access_answer_lists_the_earlier_requests_in_the_bundle(
    company, file, run, staff, language, heading, this_request, right
):
    earlier = _closed(_filed(PERSON), staff)
    stranger = _closed(_filed("fremmed@example.dk"), staff)
    request = file("access", language=language)
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    files = bundle_read(request.bundles.get()).files
    report = pdf_text(files["report.pdf"])
    index = files["index.html"].decode()
    document = json.loads(files["requests.json"])

    for text in (report, index):
        assert heading in text
        # A narrow table cell may break a reference over two lines of the PDF.
        compact = text.replace(" ", "")
        assert earlier.reference in compact
        assert request.reference in compact
        assert stranger.reference not in compact
        assert this_request in text
        assert right in text
    assert [entry["reference"] for entry in document] == [earlier.reference, request.reference]
    assert document[1]["this_request"] is True
    assert document[0]["right"] == right

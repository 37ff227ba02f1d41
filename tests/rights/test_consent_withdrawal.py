"""Consent withdrawal (GDPR Art. 7(3)): per consent, in every source that holds it, with no approval step."""

import pytest
from django.core import mail

from dsr.models import ManualFinding, Operation, Status
from tests.rights.conftest import PERSON_SHA256, shop_consents, shop_rows
from tests.rights.helpers import closing_email, notices, outcome_of, task_finish, tasks_finish

pytestmark = pytest.mark.django_db


def _items(request) -> dict[str, dict]:
    return {item["key"] or item["state"]: item for item in outcome_of(request)["items"]}


def test_withdrawing_the_newsletter_consent_changes_only_that_consent(company, file):
    request = file("consent_withdrawal", consents=["newsletter"])

    assert request.status == Status.COMPLETED
    consents = shop_rows(company.shop, "SELECT purpose, granted FROM consent WHERE customer_id = 1 ORDER BY purpose")
    assert consents == [("ad_retargeting", 1), ("newsletter", 0)]
    withdrawn = "SELECT withdrawn_at IS NOT NULL FROM consent WHERE purpose = 'newsletter' AND customer_id = ?"
    assert shop_rows(company.shop, withdrawn, 1) == [(1,)]
    # The ad partner serves no newsletter: it is not asked anything and keeps the person.
    assert PERSON_SHA256 in company.processor.audience
    assert not request.jobs.filter(source_key="adpartner").exclude(operation=Operation.RESOLVE).exists()


def test_the_answer_says_per_consent_where_it_was_withdrawn(company, file):
    mail.outbox.clear()
    request = file("consent_withdrawal", consents=["newsletter"])

    assert _items(request)["newsletter"]["where"] == ["shop"]
    body = closing_email(request).body
    assert "does not affect processing that took place before it" in body
    assert "Your consents:\n- Newsletter: withdrawn in Web shop and customer accounts" in body
    assert not notices(request)


def test_a_consent_the_person_never_gave_is_answered_we_had_no_record_of_it(company, file):
    shop_consents(company.shop, given=("ad_retargeting",))
    mail.outbox.clear()
    request = file("consent_withdrawal", consents=["newsletter"])

    assert request.status == Status.COMPLETED
    assert _items(request)["newsletter"]["state"] == "not_recorded"
    body = closing_email(request).body
    assert "- Newsletter: we had no record of this consent from you" in body
    assert "withdrawn in" not in body
    assert shop_rows(company.shop, "SELECT purpose, granted FROM consent WHERE customer_id = 1") == [
        ("ad_retargeting", 1)
    ]


def test_a_consent_withdrawn_before_is_answered_already_withdrawn(company, file):
    shop_consents(company.shop, given=("ad_retargeting",), withdrawn=("newsletter",))
    mail.outbox.clear()
    request = file("consent_withdrawal", consents=["newsletter"])

    assert _items(request)["newsletter"]["state"] == "already_withdrawn"
    assert "- Newsletter: already withdrawn" in closing_email(request).body
    # The date it was withdrawn stays the one the person chose then.
    assert shop_rows(
        company.shop, "SELECT withdrawn_at FROM consent WHERE customer_id = 1 AND purpose = 'newsletter'"
    ) == [("2025-06-01",)]


def test_withdrawing_the_ad_consent_asks_the_ad_partner_to_remove_the_person(company, file):
    mail.outbox.clear()
    request = file("consent_withdrawal", consents=["ad_retargeting"])

    assert request.status == Status.COMPLETED
    assert PERSON_SHA256 not in company.processor.audience
    assert request.jobs.filter(source_key="adpartner", operation=Operation.AUDIENCE_REMOVAL).exists()
    assert _items(request)["partners_asked"]["where"] == ["adpartner"]
    body = closing_email(request).body
    assert "- Targeted advertising with ad partners: withdrawn in Web shop and customer accounts" in body
    assert "- Demo ad partner (hashed email audience; demo): they have confirmed it is done" in body


def test_withdrawing_every_consent_names_each_consent_based_purpose(company, file, run, staff):
    mail.outbox.clear()
    request = file("consent_withdrawal", consents=["all"])
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    items = _items(request)
    assert items["newsletter"]["state"] == "withdrawn"
    assert items["ad_retargeting"]["state"] == "withdrawn"
    assert items["call_recording"]["state"] == "not_recorded"
    assert shop_rows(company.shop, "SELECT count(*) FROM consent WHERE customer_id = 1 AND granted = 1") == [(0,)]
    assert PERSON_SHA256 not in company.processor.audience


def test_withdrawing_the_call_recording_consent_gives_the_chat_owner_a_task(company, file, run, staff):
    request = file("consent_withdrawal", consents=["call_recording"])

    assert request.status == Status.IN_PROGRESS
    assert tasks_finish(request, staff, run) == 1
    assert request.status == Status.COMPLETED


def test_a_consent_the_chat_owner_withdrew_by_hand_is_answered_withdrawn_there(company, file, run, staff):
    request = file("consent_withdrawal", consents=["call_recording"])
    task_finish(request, "chats", staff, run, finding=ManualFinding.DONE, attestation="Removed the consent")

    body = closing_email(request).body
    line = next(line for line in body.splitlines() if line.startswith("- Recording of customer-service calls"))
    assert "Customer-service chat and calls (Genesys PureCloud)" in line
    assert "no record" not in line


def test_a_consent_the_chat_owner_did_not_find_is_answered_we_had_no_record_of_it(company, file, run, staff):
    request = file("consent_withdrawal", consents=["call_recording"])
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    body = closing_email(request).body
    assert "- Recording of customer-service calls: we had no record of this consent from you" in body
    assert "Done by hand" not in body


def test_a_danish_request_is_answered_in_danish(company, file):
    mail.outbox.clear()
    request = file("consent_withdrawal", consents=["newsletter"], language="da")

    body = closing_email(request).body
    assert "Tilbagetrækningen af samtykke gælder fra nu" in body
    assert "- Nyhedsbrev: trukket tilbage i Webshop og kundekonti" in body
    assert "withdrawn" not in body

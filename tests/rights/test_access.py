"""Access (GDPR Art. 15): collection from every source, the bundle, and the Art. 15 information for this person.

The report in the bundle names only the purposes, recipients and transfers that
apply to the data found and the consents the person gave (dsr.datamap.lineage).
"""

import pytest
from django.core import mail

from dsr.models import AuditEvent, JobStatus, ManualFinding, ManualTask, Operation, PlanStage, Status
from tests.exports.helpers import bundle_read
from tests.rights.conftest import PERSON_SHA256, shop_consents, shop_execute
from tests.rights.helpers import (
    closing_email,
    names_listed,
    outcome_of,
    pdf_text,
    source_states,
    task_finish,
    tasks_finish,
)

pytestmark = pytest.mark.django_db

PURPOSES = "Why we process your data"
CATEGORIES = "The kinds of data we hold about you"
RECIPIENTS = "Who receives your data"
RETENTION = "How long we keep your data"
TRANSFERS = "Transfers outside the EU/EEA"
RIGHTS = "Your rights"


def _report(request) -> str:
    return pdf_text(bundle_read(request.bundles.get()).files["report.pdf"])


def _section(text: str, start: str, end: str) -> str:
    """Return the part of the report between two headings."""
    assert start in text, start
    assert end in text, end
    return text.split(start, 1)[1].split(end, 1)[0]


@pytest.fixture
def accessed(company, file, run, staff):
    """Return PERSON's access request, answered; the chat owner found nothing about them."""
    mail.outbox.clear()
    request = file("access")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)
    return request


def test_access_collects_from_every_source_and_waits_for_the_chat_owner(company, file, run, staff):
    request = file("access")

    collect = {job.source_key: job for job in request.jobs.filter(operation=Operation.ACCESS)}
    assert set(collect) == {"shop", "chats", "adpartner", "chinook"}
    assert collect["shop"].result["tables"]["customer"] == 1
    assert collect["shop"].result["tables"]["invoice"] == 4
    assert collect["chinook"].result["tables"]["Invoice"] == 7
    assert collect["adpartner"].result["tables"] == {"audience": 1}
    assert collect["chats"].status == JobStatus.WAITING
    assert ManualTask.objects.filter(request=request, source_key="chats", operation="access").exists()
    assert not request.jobs.filter(operation=Operation.BUNDLE).exists()

    tasks_finish(request, staff, run)

    # Collected: the bundle job built the export, and its release completed the request.
    assert request.status == Status.COMPLETED
    request.plan.refresh_from_db()
    assert request.plan.stage == PlanStage.DONE
    assert request.plan.identifiers == {}
    assert AuditEvent.objects.filter(request=request, action="collection.done").count() == 1
    bundle_job = request.jobs.get(operation=Operation.BUNDLE)
    assert bundle_job.status == JobStatus.DONE
    assert request.bundles.get().pk == bundle_job.result["bundle"]


def test_the_answer_says_which_sources_held_data_and_which_held_none(accessed):
    assert accessed.status == Status.COMPLETED
    assert source_states(accessed) == {"shop": "done", "chats": "nothing_found", "adpartner": "done", "chinook": "done"}
    body = closing_email(accessed).body
    assert names_listed(body, "We have gathered the data we hold about you, from: ") == {
        "Web shop and customer accounts",
        "Demo ad partner (hashed email audience; demo)",
        "Chinook music store",
    }
    assert "We found no data about you in: Customer-service chat and calls (Genesys PureCloud)." in body
    assert "Download it here" in body


def test_the_answer_names_the_systems_in_the_order_of_the_data_map(accessed):
    body = closing_email(accessed).body

    assert (
        "We have gathered the data we hold about you, from: Web shop and customer accounts, "
        "Demo ad partner (hashed email audience; demo), Chinook music store."
    ) in body
    assert [source["key"] for source in outcome_of(accessed)["sources"]] == ["shop", "chats", "adpartner", "chinook"]


def test_the_recorded_outcome_counts_the_records_found_per_table(accessed):
    lines = {
        (source["key"], line["table"]): line["count"]
        for source in outcome_of(accessed)["sources"]
        for line in source["lines"]
    }

    assert lines[("shop", "customer")] == 1
    assert lines[("shop", "login")] == 3
    assert lines[("chinook", "InvoiceLine")] == 38
    assert lines[("adpartner", "audience")] == 1
    assert not [key for key in lines if key[0] == "chats"]


def test_an_access_request_is_recorded_as_changing_nothing(company, file, run, staff):
    # The chat owner collected the chats by hand: reading is not changing, whoever does it.
    request = file("access")
    tasks_finish(request, staff, run)

    summary = outcome_of(request)["summary"]
    assert summary["found"] is True
    assert summary["changed"] is False


def test_someone_we_hold_nothing_about_is_told_every_source_searched_held_nothing(company, file, run, staff):
    mail.outbox.clear()
    request = file("access", email="nobody-here@example.dk")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert set(source_states(request).values()) == {"nothing_found"}
    body = closing_email(request).body
    assert names_listed(body, "We searched ", " and found no personal data about you.") == {
        "Web shop and customer accounts",
        "Customer-service chat and calls (Genesys PureCloud)",
        "Demo ad partner (hashed email audience; demo)",
        "Chinook music store",
    }
    assert "We have gathered" not in body


# --- The Art. 15 information in the bundle ----------------------------------------------------------


def test_the_report_names_the_newsletter_and_the_ad_partners_for_a_subscriber_who_gave_the_ad_consent(accessed):
    report = _report(accessed)

    assert "Newsletter" in _section(report, PURPOSES, CATEGORIES)
    assert "Targeted advertising with ad partners" in _section(report, PURPOSES, CATEGORIES)
    recipients = _section(report, RECIPIENTS, RETENTION)
    assert "Meta Platforms Ireland Ltd." in recipients
    assert "Google Ireland Limited" in recipients
    assert "Adyen N.V." in recipients
    transfers = _section(report, TRANSFERS, RIGHTS)
    assert "Adequacy decision (EU-U.S. Data Privacy Framework) for transfers to Meta Platforms, Inc., USA" in transfers
    assert "Adequacy decision (EU-U.S. Data Privacy Framework) for transfers to Google LLC, USA" in transfers


def test_the_report_names_neither_the_newsletter_nor_the_ad_platforms_for_a_person_who_consented_to_neither(
    company, file, run, staff
):
    shop_consents(company.shop)
    shop_execute(company.shop, "DELETE FROM newsletter_subscription WHERE customer_id = 1")
    company.processor.audience.discard(PERSON_SHA256)
    request = file("access")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    report = _report(request)
    purposes = _section(report, PURPOSES, CATEGORIES)
    assert "Newsletter" not in purposes
    assert "Targeted advertising" not in purposes
    assert "Purchases and your customer account" in purposes
    recipients = _section(report, RECIPIENTS, RETENTION)
    for name in ("Meta Platforms", "Google Ireland", "Demo Reklamepartner ApS"):
        assert name not in recipients, name
    assert "Adyen N.V." in recipients
    assert "Your data is not transferred outside the EU/EEA." in _section(report, TRANSFERS, RIGHTS)
    assert "Meta Platforms" not in report


def test_a_subscriber_without_a_consent_row_is_still_told_of_the_newsletter(company, file, run, staff):
    # The subscription table exists for the newsletter alone: a row there shows that processing.
    shop_consents(company.shop)
    company.processor.audience.discard(PERSON_SHA256)
    request = file("access")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    report = _report(request)
    assert "Newsletter" in _section(report, PURPOSES, CATEGORIES)
    assert "Meta Platforms" not in _section(report, RECIPIENTS, RETENTION)


def test_a_withdrawn_ad_consent_names_neither_meta_nor_google(company, file, run, staff):
    shop_consents(company.shop, given=("newsletter",), withdrawn=("ad_retargeting",))
    company.processor.audience.discard(PERSON_SHA256)
    request = file("access")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    report = _report(request)
    assert "Targeted advertising" not in _section(report, PURPOSES, CATEGORIES)
    assert "Meta Platforms" not in _section(report, RECIPIENTS, RETENTION)
    assert "Google Ireland" not in _section(report, RECIPIENTS, RETENTION)
    assert "Newsletter" in _section(report, PURPOSES, CATEGORIES)


def test_a_danish_request_is_answered_in_danish(company, file, run, staff):
    mail.outbox.clear()
    request = file("access", language="da")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    body = closing_email(request).body
    assert names_listed(body, "Vi har samlet de oplysninger, vi har om dig, fra: ") == {
        "Webshop og kundekonti",
        "Demo-reklamepartner (hashet e-mail-målgruppe; demo)",
        "Chinook music store",
    }
    assert "Vi fandt ingen oplysninger om dig i: Kundeservice-chat og opkald (Genesys PureCloud)." in body
    for english in ("We have gathered", "Web shop", "Customer-service chat"):
        assert english not in body, english

"""Portability (GDPR Art. 20): only data the person provided, under consent or a contract; otherwise refused."""

import pytest
from django.core import mail

from dsr.models import Operation, RefusalGround, Status
from tests.exports.helpers import bundle_read
from tests.rights.conftest import company_map_load
from tests.rights.helpers import closing_email

pytestmark = pytest.mark.django_db

STRANGER = "nobody-here@example.dk"


def test_portability_collects_only_provided_data_from_consent_or_contract_sources(company, file):
    request = file("portability")

    collect = {job.source_key: job for job in request.jobs.filter(operation=Operation.ACCESS)}
    # GDPR Art. 20(1)(a): the shop rests on the contract and Chinook on the purchase; the ad partner holds
    # nothing the person provided, and the chats are no source of provided data.
    assert set(collect) == {"shop", "chinook"}
    assert collect["shop"].result["provided"] == collect["shop"].result["records"]
    assert "payment_reference" not in collect["shop"].result["tables"]
    assert "invoice" not in collect["shop"].result["tables"]
    # Chinook's invoices are bookkeeping, not provided by the person: only the customer row counts.
    assert collect["chinook"].result["tables"] == {"Customer": 1}


def test_portable_data_is_sent_as_a_bundle_and_the_answer_says_it_is_machine_readable(company, file):
    mail.outbox.clear()
    request = file("portability")

    assert request.status == Status.COMPLETED
    opened = bundle_read(request.bundles.get())
    assert any(name.startswith("data/") for name in opened.files)
    assert "report.pdf" not in opened.files
    body = closing_email(request).body
    assert (
        "We have gathered the data we hold about you that you provided to us, in formats a machine can read, "
        "from: Web shop and customer accounts, Chinook music store."
    ) in body


def test_nothing_portable_is_refused_as_not_covered_with_a_pointer_to_the_right_of_access(company, file):
    mail.outbox.clear()
    request = file("portability", email=STRANGER)

    assert request.status == Status.REFUSED
    assert request.refusal_ground == RefusalGround.NOT_COVERED
    assert "Art. 20(1)" in request.outcome_reasons
    assert "right of access (GDPR Art. 15)" in request.outcome_reasons
    assert "/request/access/" in request.outcome_reasons
    assert not request.bundles.exists()
    assert not request.jobs.filter(operation=Operation.BUNDLE).exists()
    message = closing_email(request)
    assert "right of access (GDPR Art. 15)" in message.body
    assert "Datatilsynet" in message.body


def test_a_danish_request_with_nothing_portable_gets_the_reasons_in_danish(company, file):
    mail.outbox.clear()
    request = file("portability", email=STRANGER, language="da")

    assert request.status == Status.REFUSED
    assert request.refusal_ground == RefusalGround.NOT_COVERED
    assert "The right to data portability" not in request.outcome_reasons
    assert "ret til indsigt (GDPR art. 15)" in request.outcome_reasons
    assert "/request/access/" in request.outcome_reasons
    body = closing_email(request).body
    assert "Vi kan desværre ikke imødekomme den." in body
    assert "The right to data portability" not in body


def test_a_company_holding_no_portable_data_refuses_without_asking_any_source(company, file):
    def nothing_provided(document):
        for source in document["sources"].values():
            source["provided_by_subject"] = []

    company_map_load(company, nothing_provided)
    request = file("portability")

    assert request.status == Status.REFUSED
    assert request.refusal_ground == RefusalGround.NOT_COVERED
    assert not request.jobs.filter(operation=Operation.ACCESS).exists()
    assert not request.bundles.exists()

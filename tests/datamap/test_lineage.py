"""Which purposes and recipients apply to the data found or changed: examples on a map of two payment processors.

Card payments go to one processor, invoice payments to another; the ad platform is an independent
controller reached through its purpose (ads, on consent); the mailer is named on the newsletter table.
See tests/datamap/conftest.py for the map.
"""

import pytest

from dsr.datamap.lineage import (
    EEA,
    group_lineage,
    purposes_applying,
    recipient_lineage,
    recipients_applying,
    recipients_named,
    recipients_received,
    transfers,
)
from tests.datamap.conftest import map_parse

# --- GDPR Art. 19: who is told of a change ------------------------------------------------------


def test_a_change_to_the_card_table_reaches_only_the_card_processor(payments):
    assert recipients_received(payments, "shop", "card", ["financial"]) == {"card_processor": ["financial"]}


def test_a_change_to_the_invoice_account_reaches_only_the_invoice_processor(payments):
    received = recipients_received(payments, "shop", "invoice_account", ["financial", "transaction"])
    assert received == {"invoice_processor": ["financial", "transaction"]}


def test_a_new_street_address_reaches_neither_payment_processor(payments):
    # Both processors are the customer table's recipients (the source's), but their purposes cover only
    # financial and transaction data: they never received the address.
    received = recipients_received(payments, "shop", "customer", ["contact"])
    assert "card_processor" not in received
    assert "invoice_processor" not in received


def test_a_new_email_reaches_the_ad_platform_only_where_the_person_consented(payments):
    assert recipients_received(payments, "shop", "customer", ["contact"], consents_given={"ads"}) == {
        "ad_platform": ["contact"]
    }
    assert recipients_received(payments, "shop", "customer", ["contact"], consents_given=set()) == {}


def test_a_change_of_a_category_the_recipients_purpose_does_not_cover_reaches_nobody(payments):
    assert recipients_received(payments, "shop", "customer", ["identity"]) == {}


def test_a_recipient_named_on_a_group_receives_from_that_group_only(payments):
    assert recipients_received(payments, "shop", "newsletter_subscription", ["contact"]) == {"mailer": ["contact"]}
    # The consent table serves the newsletter too, but the mailer is named on the subscription table alone.
    assert "mailer" not in recipients_received(payments, "shop", "consent", ["marketing"])


def test_purposes_limit_what_a_recipient_is_counted_as_having_received(payments):
    assert recipients_received(payments, "shop", "customer", ["contact"], purposes=["purchase"]) == {}


# --- GDPR Art. 15(1)(a) and (c): what the answer names -------------------------------------------


def test_a_customer_who_never_subscribed_is_not_told_about_the_newsletter(payments):
    found = [("shop", "customer", ["identity", "contact"]), ("shop", "orders", ["transaction"])]
    assert purposes_applying(payments, found, consents_given=set()) == ["purchase"]
    assert recipients_applying(payments, found, ["purchase"], consents_given=set()) == []


def test_a_subscriber_is_told_about_the_newsletter_and_the_mailer(payments):
    found = [("shop", "customer", ["contact"]), ("shop", "newsletter_subscription", ["contact", "marketing"])]
    # The subscription table serves the newsletter alone: its rows exist only because of the consent.
    purposes = purposes_applying(payments, found, consents_given=set())
    assert purposes == ["purchase", "newsletter"]
    assert recipients_applying(payments, found, purposes, consents_given=set()) == ["mailer"]


def test_a_withdrawn_consent_in_the_consent_table_names_neither_purpose_nor_recipient(payments):
    found = [("shop", "customer", ["contact"]), ("shop", "consent", ["marketing"])]
    assert purposes_applying(payments, found, consents_given=set()) == ["purchase"]
    assert recipients_applying(payments, found, ["purchase"], consents_given=set()) == []


def test_a_given_consent_names_the_ad_platform_and_its_transfer_to_the_us(payments):
    found = [("shop", "customer", ["contact"]), ("shop", "consent", ["marketing"])]
    purposes = purposes_applying(payments, found, consents_given={"ads"})
    assert purposes == ["purchase", "ads"]
    recipients = recipients_applying(payments, found, purposes, consents_given={"ads"})
    assert recipients == ["ad_platform"]
    assert transfers(payments, recipients) == [
        {
            "recipient": "ad_platform",
            "name": "Annoncefirma Inc.",
            "countries": ["US"],
            "safeguard": {"da": "Standardkontraktbestemmelser", "en": "Standard contractual clauses"},
        }
    ]


def test_a_card_customer_is_told_about_the_card_processor_only(payments):
    found = [("shop", "customer", ["contact"]), ("shop", "card", ["financial"])]
    purposes = purposes_applying(payments, found, consents_given=set())
    assert purposes == ["purchase", "card_payment"]
    assert recipients_applying(payments, found, purposes, consents_given=set()) == ["card_processor"]


def test_where_no_group_records_consents_a_consent_purpose_is_named_rather_than_hidden(
    described_kind, payments_document
):
    payments_document["sources"]["shop"]["tables"]["consent"]["records_consents"] = False
    datamap = map_parse(payments_document)
    found = [("shop", "customer", ["contact"])]
    assert purposes_applying(datamap, found, consents_given=set()) == ["purchase", "ads"]


def test_unknown_consents_filter_nothing(payments):
    found = [("shop", "customer", ["contact"])]
    assert purposes_applying(payments, found, consents_given=None) == ["purchase", "ads"]


def test_a_purpose_without_categories_covers_every_category(described_kind, payments_document):
    payments_document["purposes"]["card_payment"]["categories"] = []
    datamap = map_parse(payments_document)
    assert purposes_applying(datamap, [("shop", "card", ["identity"])], consents_given=set()) == ["card_payment"]
    assert recipients_received(datamap, "shop", "card", ["identity"]) == {"card_processor": ["identity"]}


def test_a_recipient_that_lists_no_purposes_receives_every_purpose_of_its_group(described_kind, payments_document):
    payments_document["recipients"]["mailer"]["purposes"] = []
    datamap = map_parse(payments_document)
    assert recipients_received(datamap, "shop", "newsletter_subscription", ["marketing", "identity"]) == {
        "mailer": ["marketing"]
    }


# --- the lineage itself ----------------------------------------------------------------------------


def test_an_unknown_group_falls_back_to_the_sources_purposes_and_recipients(payments):
    assert group_lineage(payments, "shop", "returns") == {
        "purposes": ["purchase", "card_payment", "invoice_payment", "newsletter", "ads"],
        "purposes_declared": False,
        "recipients": ["card_processor", "invoice_processor"],
        "recipients_declared": False,
        "categories": [],
        "records_consents": False,
    }


def test_an_unknown_source_is_an_error(payments):
    with pytest.raises(KeyError):
        group_lineage(payments, "warehouse", "stock")


def test_recipients_named_are_those_on_sources_and_groups(payments):
    assert recipients_named(payments) == {"card_processor", "invoice_processor", "mailer"}


def test_recipient_lineage_lists_the_groups_a_recipient_receives_from(payments):
    assert recipient_lineage(payments, "ad_platform") == [
        {"source": "shop", "group": "customer", "categories": ["contact"]}
    ]
    assert recipient_lineage(payments, "invoice_processor") == [
        {"source": "shop", "group": "invoice_account", "categories": ["financial", "transaction"]}
    ]


def test_transfers_leave_out_recipients_inside_the_eea(payments):
    assert transfers(payments, ["card_processor", "invoice_processor", "mailer"]) == []
    assert {"DK", "SE", "IE", "NO", "IS", "LI"} <= EEA
    assert "GB" not in EEA
    assert "US" not in EEA

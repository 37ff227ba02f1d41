"""The demo company's data map checked against the seed notices (002 meal kits, 000 ad partners)."""

import re
from pathlib import Path

import pytest

from dsr.datamap.lineage import purposes_applying, recipients_applying, recipients_received, transfers
from dsr.datamap.parsing import datamap_parse
from dsr.sources.registry import CONNECTORS
from tests.datamap.connectors import sql_describes_tables

DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"
# The shop tables' purposes, commented out until the sql connector reads them (see the top of the map).
TABLE_PURPOSES_COMMENTED = re.compile(r"^( +)# purposes: \[", re.MULTILINE)


@pytest.fixture(scope="module")
def demo():
    return datamap_parse(DEMO_MAP.read_text(encoding="utf-8"))


@pytest.fixture
def lineage(monkeypatch):
    """The demo map with the shop tables' own purposes, as the sql connector reads them once it describes tables."""
    if not sql_describes_tables():
        monkeypatch.setitem(CONNECTORS, "sql", "tests.datamap.connectors.SqlTablesConnector")
    text = TABLE_PURPOSES_COMMENTED.sub(r"\1purposes: [", DEMO_MAP.read_text(encoding="utf-8"))
    return datamap_parse(text)


def test_the_controller_is_fictional_and_the_authority_is_datatilsynet(demo):
    assert demo.controller["name"] == "Madkassen Demo ApS"
    text = DEMO_MAP.read_text(encoding="utf-8")
    assert "HelloFresh" not in text
    assert "H&M" not in text
    assert demo.controller["authority"] == {
        "name": "Datatilsynet",
        "address": "Carl Jacobsens Vej 35, 2500 Valby",
        "phone": "33 19 32 00",
        "email": "dt@datatilsynet.dk",
        "url": "https://www.datatilsynet.dk",
    }


def test_the_eight_categories_of_section_3_1(demo):
    assert set(demo.categories) == {
        "identity",
        "contact",
        "financial",
        "transaction",
        "technical",
        "profile",
        "usage",
        "marketing",
    }
    assert demo.categories["marketing"]["name"]["da"] == "Markedsførings- og kommunikationsoplysninger"


@pytest.mark.parametrize(
    ("purpose", "bases"),
    [
        ("purchase", ["b"]),  # 3.4.1
        ("payment", ["b", "f"]),  # 3.4.2
        ("customer_service", ["f"]),  # 3.4.3
        ("newsletter", ["a"]),  # 3.4.4
        ("comments", ["f", "c"]),  # 3.4.5
        ("other_marketing", ["f"]),  # 3.4.7
        ("call_recording", ["a"]),  # 3.4.7, last paragraph
        ("ad_retargeting", ["a"]),  # 000: ad partners, hashed email
        ("bookkeeping", ["c"]),
    ],
)
def test_purposes_have_the_notices_legal_bases(demo, purpose, bases):
    assert demo.purposes[purpose]["legal_basis"] == bases


def test_retention_rules_match_the_notice(demo):
    assert demo.purposes["purchase"]["retention_rule"] == {"after": "account_deactivated", "months": 36}
    assert demo.purposes["newsletter"]["retention_rule"] == {"after": "last_consent_use", "years": 2}
    assert demo.purposes["bookkeeping"]["retention_rule"] == {"after": "end_of_financial_year", "years": 5}
    assert demo.legal_holds["bookkeeping"]["law"] == {
        "da": "Bogføringsloven § 10",
        "en": "Danish Bookkeeping Act (Bogføringsloven) § 10",
    }


def test_laws_and_source_names_read_in_each_language_without_the_other(demo):
    for hold in demo.legal_holds.values():
        assert "Danish" not in hold["law"]["da"]
        assert "GDPR" not in hold["law"]["da"]
    for source in demo.sources.values():
        assert source["name"]["da"] != source["name"]["en"]
    assert demo.sources["shop"]["name"] == {"da": "Webshop og kundekonti", "en": "Web shop and customer accounts"}


def test_every_field_the_shop_corrects_is_declared_with_labels(demo):
    tables = demo.sources["shop"]["config"]["tables"].values()
    rectified = {field for table in tables for field in table.get("rectify", {})}
    assert rectified == set(demo.corrections)
    assert demo.corrections["address"]["name"] == {
        "da": "Adresse (vej og husnummer)",
        "en": "Address (street and number)",
    }
    assert demo.corrections["phone"]["category"] == "contact"


def test_named_recipients_with_countries_and_safeguards(demo):
    recipients = demo.recipients
    assert recipients["adyen"]["name"] == "Adyen N.V."
    assert "Braintree" in recipients["braintree"]["name"]
    assert recipients["genesys"]["countries"] == ["US", "DE", "AU"]
    assert "46(2)(c)" in recipients["genesys"]["safeguard"]["en"]
    assert recipients["facebook"]["role"] == recipients["google"]["role"] == "controller"
    assert "customer_service" in recipients["genesys"]["purposes"]


def test_ad_retargeting_declares_its_profiling(demo):
    purpose = demo.purposes["ad_retargeting"]
    assert purpose["profiling"] is True
    assert "hash" in purpose["profiling_description"]["en"]


def test_sources_of_every_kind_the_demo_needs(demo):
    assert {key: source["kind"] for key, source in demo.sources.items()} == {
        "shop": "sql",
        "chats": "saas",
        "payments": "saas",
        "newsletter": "saas",
        "adpartner": "http",
        "meta": "meta_audience",
        "google": "google_ads",
    }
    # GDPR Art. 7(3): withdrawing the newsletter consent deletes the subscription row, as the map declares.
    assert demo.sources["shop"]["config"]["tables"]["newsletter_subscription"]["withdrawal"] == {
        "consents": ["newsletter"],
        "action": "delete",
        "give": {"subscribed_at": "{now}"},
    }
    assert demo.sources["shop"]["config"]["url"] == "sqlite:///${VAR_DIR}/demo/shop.sqlite3"
    assert demo.sources["chats"]["recipients"] == ["genesys"]


@pytest.mark.skipif(not sql_describes_tables(), reason="the sql connector does not yet read a table's purposes")
def test_the_shop_tables_declare_their_purposes(demo):
    groups = demo.sources["shop"]["groups"]
    assert set(groups) == set(demo.sources["shop"]["config"]["tables"])
    assert all(group["purposes_declared"] for group in groups.values()), "uncomment the tables' purposes in the map"


# --- lineage: what the answer names and whom a change reaches (GDPR Art. 15, 19) ---------------------

CUSTOMER = ("shop", "customer", ["identity", "contact", "profile"])
ORDERS = ("shop", "orders", ["transaction"])


def test_a_customer_who_never_subscribed_or_consented_hears_of_no_newsletter_and_no_ad_partner(lineage):
    found = [CUSTOMER, ORDERS, ("shop", "consent", ["marketing"])]
    purposes = purposes_applying(lineage, found, consents_given=set())
    assert purposes == ["purchase", "other_marketing", "bookkeeping"]
    recipients = recipients_applying(lineage, found, purposes, consents_given=set())
    assert recipients == []
    assert transfers(lineage, recipients) == []


def test_a_subscriber_hears_of_the_newsletter(lineage):
    found = [CUSTOMER, ("shop", "newsletter_subscription", ["contact", "marketing", "usage"])]
    assert "newsletter" in purposes_applying(lineage, found, consents_given=set())


def test_a_customer_who_consented_to_ads_hears_of_meta_and_google_and_the_transfer_to_the_us(lineage):
    found = [CUSTOMER, ("shop", "consent", ["marketing"])]
    purposes = purposes_applying(lineage, found, consents_given={"ad_retargeting"})
    assert "ad_retargeting" in purposes
    recipients = recipients_applying(lineage, found, purposes, consents_given={"ad_retargeting"})
    assert recipients == ["facebook", "google"]
    assert [(t["recipient"], t["countries"]) for t in transfers(lineage, recipients)] == [
        ("facebook", ["US"]),
        ("google", ["US"]),
    ]


def test_a_paying_customer_hears_of_both_payment_processors(lineage):
    found = [CUSTOMER, ("shop", "payment_reference", ["financial"])]
    purposes = purposes_applying(lineage, found, consents_given=set())
    assert "payment" in purposes
    assert recipients_applying(lineage, found, purposes, consents_given=set()) == ["adyen", "braintree"]


def test_chats_name_genesys_and_its_transfers_outside_the_eea(lineage):
    found = [("chats", "chats", ["identity", "contact", "usage"])]
    purposes = purposes_applying(lineage, found, consents_given=set())
    assert purposes == ["customer_service"]
    recipients = recipients_applying(lineage, found, purposes, consents_given=set())
    assert recipients == ["genesys"]
    assert transfers(lineage, recipients)[0]["countries"] == ["US", "AU"]


def test_a_new_address_reaches_no_payment_processor(lineage):
    assert recipients_received(lineage, "shop", "address", ["contact"], consents_given=set()) == {}


def test_an_erased_email_reaches_the_ad_partners_only_if_the_person_consented(lineage):
    assert recipients_received(lineage, "shop", "customer", ["contact"], consents_given={"ad_retargeting"}) == {
        "facebook": ["contact"],
        "google": ["contact"],
    }
    assert recipients_received(lineage, "shop", "customer", ["contact"], consents_given=set()) == {}


def test_a_deleted_payment_reference_reaches_the_payment_processors_only(lineage):
    assert recipients_received(lineage, "shop", "payment_reference", ["financial"]) == {
        "adyen": ["financial"],
        "braintree": ["financial"],
    }

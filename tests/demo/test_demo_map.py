"""The demo company's data map checked against the seed notices (002 meal kits, 000 ad partners)."""

from pathlib import Path

import pytest

from dsr.datamap.parsing import datamap_parse

DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"


@pytest.fixture(scope="module")
def demo():
    return datamap_parse(DEMO_MAP.read_text(encoding="utf-8"))


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
        "chats": "manual",
        "adpartner": "http",
    }
    assert demo.sources["shop"]["config"]["url"] == "sqlite:///${VAR_DIR}/demo/shop.sqlite3"
    assert demo.sources["chats"]["recipients"] == ["genesys"]

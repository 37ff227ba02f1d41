"""Fixtures for the data map's tests: the demo map's text, and a small map of two payment processors.

The small map's source is of the test-only kind ``described`` (tests/datamap/connectors.py), whose
record groups say which purposes and recipients they serve, as the sql and django connectors' tables do.
"""

import copy
from pathlib import Path

import pytest
import yaml

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMap
from dsr.sources.registry import CONNECTORS

DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"


def _purpose(categories: list[str], *, basis: str = "b", **extra) -> dict:
    return {
        "name": {"da": "Formål", "en": "Purpose"},
        "legal_basis": [basis],
        "retention": {"da": "Et år.", "en": "One year."},
        "retention_rule": {"after": "collected", "years": 1},
        "categories": categories,
        **extra,
    }


def _recipient(name: str, country: str, purposes: list[str], **extra) -> dict:
    return {
        "name": name,
        "role": "processor",
        "country": country,
        "safeguard": {"da": "Ikke nødvendig: inden for EØS", "en": "None needed: within the EEA"},
        "purposes": purposes,
        **extra,
    }


# Card payments go to one processor, invoice payments to another; each payment purpose covers only
# financial and transaction data. The ad platform is an independent controller named on no source:
# it is reached through its purpose, ads, which needs consent. The mailer is named on one table.
PAYMENTS_MAP = {
    "controller": {
        "name": "Testfirma ApS",
        "address": "Testvej 1, 2300 København S",
        "cvr": "12345678",
        "email": "privacy@testfirma.example",
    },
    "categories": {
        key: {"name": {"da": key, "en": key}}
        for key in ("identity", "contact", "financial", "transaction", "marketing")
    },
    "purposes": {
        "purchase": _purpose(["identity", "contact", "transaction"]),
        "card_payment": _purpose(["financial", "transaction"]),
        "invoice_payment": _purpose(["financial", "transaction"]),
        "newsletter": _purpose(["contact", "marketing"], basis="a"),
        "ads": _purpose(["contact"], basis="a"),
    },
    "recipients": {
        "card_processor": _recipient("Kortfirma A/S", "DK", ["card_payment"]),
        "invoice_processor": _recipient("Fakturafirma AB", "SE", ["invoice_payment"]),
        "mailer": _recipient("Postfirma ApS", "DK", ["newsletter"]),
        "ad_platform": _recipient(
            "Annoncefirma Inc.",
            "US",
            ["ads"],
            role="controller",
            safeguard={"da": "Standardkontraktbestemmelser", "en": "Standard contractual clauses"},
        ),
    },
    "sources": {
        "shop": {
            "name": "Webshop",
            "kind": "described",
            "purposes": ["purchase", "card_payment", "invoice_payment", "newsletter", "ads"],
            "recipients": ["card_processor", "invoice_processor"],
            "origin": {"da": "Fra dig.", "en": "From you."},
            "tables": {
                "customer": {"purposes": ["purchase", "ads"], "categories": ["identity", "contact"]},
                "card": {"purposes": ["card_payment"], "categories": ["financial"]},
                "invoice_account": {"purposes": ["invoice_payment"], "categories": ["financial", "transaction"]},
                "orders": {"purposes": ["purchase"], "categories": ["transaction"]},
                "newsletter_subscription": {
                    "purposes": ["newsletter"],
                    "recipients": ["mailer"],
                    "categories": ["contact", "marketing"],
                },
                "consent": {"purposes": ["newsletter", "ads"], "categories": ["marketing"], "records_consents": True},
            },
        }
    },
}


def map_parse(document: dict) -> DataMap:
    """Return the map ``document`` describes, parsed from YAML as a file would be."""
    return datamap_parse(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


@pytest.fixture
def described_kind(monkeypatch):
    """Register the test-only connector kind ``described``."""
    monkeypatch.setitem(CONNECTORS, "described", "tests.datamap.connectors.DescribedConnector")


@pytest.fixture
def payments_document() -> dict:
    return copy.deepcopy(PAYMENTS_MAP)


@pytest.fixture
def payments(described_kind, payments_document) -> DataMap:
    return map_parse(payments_document)


@pytest.fixture
def demo_text() -> str:
    return DEMO_MAP.read_text(encoding="utf-8")

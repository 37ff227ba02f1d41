"""The data map and Chinook configuration the connector tests share."""

from pathlib import Path

import yaml

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMap

CHINOOK_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "chinook"

BASE_MAP = {
    "controller": {
        "name": "Testfirma ApS",
        "address": "Testvej 1, 2300 København S",
        "cvr": "12345678",
        "email": "privacy@testfirma.example",
    },
    "categories": {
        key: {"name": {"da": key, "en": key}}
        for key in ("identity", "contact", "financial", "transaction", "technical", "profile", "usage", "marketing")
    },
    "purposes": {
        "account": {
            "name": {"da": "Konto", "en": "Account"},
            "legal_basis": ["b"],
            "retention": {"da": "36 måneder efter lukning", "en": "36 months after closing"},
            "retention_rule": {"after": "account_deactivated", "months": 36},
            "categories": ["identity", "contact"],
        },
        "newsletter": {
            "name": {"da": "Nyhedsbrev", "en": "Newsletter"},
            "legal_basis": "a",
            "retention": {"da": "To år uden brug", "en": "Two years without use"},
            "retention_rule": {"after": "last_consent_use", "years": 2},
        },
        "bookkeeping": {
            "name": {"da": "Bogføring", "en": "Bookkeeping"},
            "legal_basis": ["c"],
            "retention": {"da": "5 år", "en": "5 years"},
            "retention_rule": {"after": "end_of_financial_year", "years": 5},
        },
    },
    "recipients": {},
    "legal_holds": {
        "bookkeeping": {
            "name": {"da": "Bogføringsloven", "en": "Bookkeeping Act"},
            "law": "Bogføringsloven § 10 (Danish Bookkeeping Act)",
            "period_rule": {"after": "end_of_financial_year", "years": 5},
        }
    },
    # GDPR Art. 16: the fields a person may ask to have corrected, as the test sources map them.
    "corrections": {
        "name": {"name": {"da": "Navn", "en": "Name"}, "category": "identity"},
        "first_name": {"name": {"da": "Fornavn", "en": "First name"}, "category": "identity"},
        "address": {"name": {"da": "Adresse", "en": "Address"}, "category": "contact"},
        "city": {"name": {"da": "By", "en": "City"}, "category": "contact"},
    },
    "sources": {},
}

# A system worked by hand: chats in Genesys PureCloud.
CHAT_SOURCE = {
    "name": "Customer-service chats (Genesys PureCloud)",
    "kind": "manual",
    "purposes": ["account"],
    "origin": {"da": "Fra dine henvendelser", "en": "From your enquiries"},
    "owner": "Customer service team lead",
    "instructions": {
        "access": {"da": "Eksportér samtalerne", "en": "Export the conversations"},
        "erasure": {"da": "Slet samtalerne", "en": "Delete the conversations"},
    },
    "categories": ["contact", "usage"],
}


def map_build(sources: dict, **sections) -> DataMap:
    """Return a validated map with the test controller, purposes, holds and corrections and ``sources``.

    ``sections`` replace top-level sections of the base map, e.g. ``recipients={...}``.
    """
    document = {**BASE_MAP, **sections, "sources": sources}
    return datamap_parse(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


def chinook_tables(naming: str) -> dict:
    """Return the Chinook table configuration for the SQLite (Pascal) or PostgreSQL (snake) naming."""
    pascal = naming == "pascal"

    def n(name: str) -> str:
        if pascal:
            return "".join(part.capitalize() if part != "id" else "Id" for part in name.split("_"))
        return name

    return {
        n("customer"): {
            "identifiers": {"email": n("email"), "phone": n("phone")},
            "categories": {
                n("first_name"): "identity",
                n("last_name"): "identity",
                n("company"): "identity",
                n("address"): "contact",
                n("city"): "contact",
                n("state"): "contact",
                n("country"): "contact",
                n("postal_code"): "contact",
                n("phone"): "contact",
                n("fax"): "contact",
                n("email"): "contact",
            },
            # The support representative is an employee, not data about the customer.
            "exclude": [n("support_rep_id")],
            "erasure": {
                "strategy": "anonymise",
                "fields": {
                    n("first_name"): "redact",
                    n("last_name"): "redact",
                    n("company"): "clear",
                    n("address"): "clear",
                    n("city"): "clear",
                    n("state"): "clear",
                    n("postal_code"): "clear",
                    n("phone"): "clear",
                    n("fax"): "clear",
                    n("email"): "hash",
                },
            },
            "rectify": {"address": n("address"), "city": n("city")},
        },
        n("invoice"): {
            "link": {"table": n("customer"), "columns": {n("customer_id"): n("customer_id")}},
            "categories": {n("billing_address"): "contact", n("total"): "transaction"},
            "erasure": {
                "strategy": "keep",
                "hold": "bookkeeping",
                "date_column": n("invoice_date"),
                "after_hold": "delete",
            },
        },
        n("invoice_line"): {
            "link": {"table": n("invoice"), "columns": {n("invoice_id"): n("invoice_id")}},
            "categories": {n("unit_price"): "transaction", n("quantity"): "transaction"},
            "erasure": {"strategy": "keep", "hold": "bookkeeping"},
        },
    }


def chinook_source(url: str, naming: str) -> dict:
    return {
        "name": "Chinook music store",
        "kind": "sql",
        "purposes": ["account", "bookkeeping"],
        "origin": {"da": "Fra kunden", "en": "From the customer"},
        "provided_by_subject": ["Customer" if naming == "pascal" else "customer"],
        "url": url,
        "tables": chinook_tables(naming),
    }

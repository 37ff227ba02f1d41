"""Fixtures for the connector tests: a small data map, real SQLite files and throwaway PostgreSQL databases."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from dsr.datamap import DataMap, datamap_parse
from dsr.sources.sql import engines_dispose

CHINOOK_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "chinook"
POSTGRES_URL = os.environ.get("DSR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")

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
    "sources": {},
}


def map_build(sources: dict) -> DataMap:
    """Return a validated map with the test controller, purposes and holds and ``sources``."""
    document = {**BASE_MAP, "sources": sources}
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
            "link": {"table": n("customer"), "on": {n("customer_id"): n("customer_id")}},
            "categories": {n("billing_address"): "contact", n("total"): "transaction"},
            "erasure": {"strategy": "keep", "hold": "bookkeeping", "date_column": n("invoice_date")},
        },
        n("invoice_line"): {
            "link": {"table": n("invoice"), "on": {n("invoice_id"): n("invoice_id")}},
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


@pytest.fixture
def chinook_sqlite(tmp_path: Path) -> Path:
    """Return a fresh copy of the Chinook SQLite database (the shared file is never touched)."""
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(CHINOOK_DIR / "Chinook_Sqlite.sqlite", copy)
    copy.chmod(0o644)
    yield copy
    engines_dispose()


def _postgres_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")


@pytest.fixture
def postgres_database():
    """Create a throwaway PostgreSQL database and return its SQLAlchemy URL; drop it afterwards."""
    admin = _postgres_admin()
    name = f"dsr_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}", f"{base}/{name}"
    finally:
        engines_dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def chinook_postgres(postgres_database, tmp_path: Path) -> str:
    """Load Chinook_PostgreSql.sql into a throwaway database and return its URL.

    The script drops and creates its own `chinook` database and connects to it;
    those lines are left out so it fills the throwaway database instead.
    """
    sqlalchemy_url, libpq_url = postgres_database
    script = (CHINOOK_DIR / "Chinook_PostgreSql.sql").read_text(encoding="utf-8")
    kept = [line for line in script.splitlines() if not line.startswith(("DROP DATABASE", "CREATE DATABASE", "\\c "))]
    filtered = tmp_path / "chinook.sql"
    filtered.write_text("\n".join(kept), encoding="utf-8")
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url, "-f", str(filtered)],
        check=True,
        capture_output=True,
    )
    return sqlalchemy_url

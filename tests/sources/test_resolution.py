"""Identity resolution across sources, on real SQLite databases."""

import sqlite3

import pytest

from dsr.sources.registry import connectors_all
from dsr.sources.resolution import identifier_normalise, identities_resolve, identities_resolve_detailed
from tests.sources.maps import map_build


def _database(path, statements: list[str]) -> str:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    return f"sqlite:///{path}"


@pytest.fixture
def two_sources(tmp_path):
    """A shop that knows email and phone, and a support desk that knows phone and a second email."""
    shop = _database(
        tmp_path / "shop.sqlite",
        [
            "CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, customer_no TEXT)",
            "INSERT INTO customer VALUES (1, 'mette@example.dk', '20 30 40 50', 'K-1001')",
            "INSERT INTO customer VALUES (2, 'ole@example.dk', '11223344', 'K-1002')",
        ],
    )
    support = _database(
        tmp_path / "support.sqlite",
        [
            "CREATE TABLE caller (id INTEGER PRIMARY KEY, phone TEXT, email TEXT)",
            "INSERT INTO caller VALUES (1, '+4520304050', 'mette.private@example.com')",
        ],
    )

    def source(url: str, table: str, identifiers: dict) -> dict:
        return {
            "name": table,
            "kind": "sql",
            "purposes": ["account"],
            "origin": {"da": "x", "en": "x"},
            "url": url,
            "tables": {table: {"identifiers": identifiers, "erasure": {"strategy": "delete"}}},
        }

    sources = {
        "shop": source(shop, "customer", {"email": "email", "phone": "phone", "customer_number": "customer_no"}),
        "support": source(support, "caller", {"phone": "phone", "email": "email"}),
    }
    return sources, tmp_path


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("email", "  Mette@Example.DK ", "mette@example.dk"),
        ("email", "not-an-email", None),
        ("phone", "20 30 40 50", "+4520304050"),
        ("phone", "+45 20-30-40-50", "+4520304050"),
        ("phone", "0046 70 123 45 67", "+46701234567"),
        ("phone", "123", None),
        ("customer_number", " K-1001 ", "K-1001"),
    ],
)
def test_identifiers_are_normalised(kind, value, expected):
    assert identifier_normalise(kind, value) == expected


def test_resolution_follows_email_to_phone_to_a_second_email(two_sources):
    sources, _ = two_sources
    connectors = connectors_all(map_build(sources))
    found = identities_resolve(connectors, {"email": {"METTE@example.dk"}})
    assert found == {
        "email": {"mette@example.dk", "mette.private@example.com"},
        "phone": {"+4520304050"},
        "customer_number": {"K-1001"},
    }


def test_a_failing_source_loses_nothing_the_others_found(two_sources):
    sources, tmp_path = two_sources
    (tmp_path / "support.sqlite").unlink()
    result = identities_resolve_detailed(connectors_all(map_build(sources)), {"email": {"mette@example.dk"}})
    assert result.identifiers["phone"] == {"+4520304050"}
    assert list(result.errors) == ["support"]
    assert "does not exist" in result.errors["support"]
    assert result.complete is False


def test_resolution_stops_after_the_round_limit(two_sources):
    sources, _ = two_sources
    result = identities_resolve_detailed(
        connectors_all(map_build(sources)), {"email": {"mette@example.dk"}}, max_rounds=1
    )
    assert result.rounds == 1
    assert result.complete is False
    assert "mette.private@example.com" not in result.identifiers["email"]


def test_an_unknown_person_resolves_to_what_was_given(two_sources):
    sources, _ = two_sources
    result = identities_resolve_detailed(connectors_all(map_build(sources)), {"email": {"nobody@example.dk"}})
    assert result.identifiers == {"email": {"nobody@example.dk"}}
    assert result.complete is True

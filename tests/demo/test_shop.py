"""The demo shop database: deterministic, consistent, Danish-looking and free of card numbers."""

import re
import sqlite3
from contextlib import closing

import pytest

from dsr.demo.shop import shop_database_build

TABLES = [
    "customer",
    "address",
    "orders",
    "order_line",
    "invoice",
    "payment_reference",
    "login",
    "preference",
    "newsletter_subscription",
    "consent",
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    shop_database_build(path, customers=120, seed=7)
    with closing(sqlite3.connect(path)) as conn:
        yield conn


def test_the_same_seed_builds_the_same_database(tmp_path):
    first, second = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    shop_database_build(first, customers=25, seed=3)
    shop_database_build(second, customers=25, seed=3)
    with closing(sqlite3.connect(first)) as a, closing(sqlite3.connect(second)) as b:
        assert list(a.iterdump()) == list(b.iterdump())


def test_rebuilding_replaces_the_file(tmp_path):
    path = tmp_path / "shop.sqlite3"
    shop_database_build(path, customers=10)
    shop_database_build(path, customers=20)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM customer").fetchone() == (20,)


def test_every_table_has_rows_and_the_foreign_keys_hold(shop):
    for table in TABLES:
        assert shop.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table  # noqa: S608
    assert shop.execute("SELECT count(*) FROM customer").fetchone() == (120,)
    assert shop.execute("PRAGMA foreign_key_check").fetchall() == []


def test_customers_look_like_where_they_live(shop):
    # Most live in Denmark; every tenth from the 14th in Sweden, the 20th in California (docs/jurisdictions.md).
    formats = {
        "DK": (r"\+45 \d{2} \d{2} \d{2} \d{2}", r"\d{4}", "@example.dk"),
        "SE": (r"\+46 8 \d{2} \d{2} \d{2} \d{2}", r"\d{3} \d{2}", "@example.se"),
        "US": (r"\+1 415 \d{2} \d{2} \d{2} \d{2}", r"\d{5}", "@example.com"),
    }
    rows = shop.execute(
        "SELECT c.id, c.phone, c.email, a.postal_code, a.country FROM customer c JOIN address a ON a.customer_id = c.id"
    ).fetchall()
    for customer_id, phone, email, postal_code, country in rows:
        phone_format, postcode_format, domain = formats[country]
        assert re.fullmatch(phone_format, phone), customer_id
        assert re.fullmatch(postcode_format, postal_code), customer_id
        assert email.endswith(domain), customer_id
    countries = {row[0]: row[4] for row in rows}
    assert countries[14] == countries[24] == "SE"
    assert countries[20] == "US"
    assert sum(1 for country in countries.values() if country == "DK") == 120 - 11 - 1
    emails = [row[0] for row in shop.execute("SELECT email FROM customer")]
    assert len(set(emails)) == len(emails)


def test_payment_references_are_provider_tokens_not_card_numbers(shop):
    columns = {row[1] for row in shop.execute("PRAGMA table_info(payment_reference)")}
    assert columns == {"id", "customer_id", "provider", "token", "method", "expires", "created_at"}
    for provider, token in shop.execute("SELECT provider, token FROM payment_reference"):
        assert re.fullmatch(rf"{provider}_tok_[0-9a-f]{{24}}", token)

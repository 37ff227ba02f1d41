"""Holds that end row by row: rows whose hold has ended go, unless a row still kept points at them."""

import sqlite3
from contextlib import closing

import pytest
import time_machine

from dsr.sources.base import DELETE, KEEP
from dsr.sources.sql import SqlConnector, engines_dispose
from tests.sources.maps import map_build

SCHEMA = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer (id), placed DATE NOT NULL
);
CREATE TABLE order_line (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id), item TEXT);
CREATE TABLE invoice (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id), issued DATE NOT NULL
);
INSERT INTO customer VALUES (1, 'mette@example.dk', 'Mette'), (2, 'ole@example.dk', 'Ole');
-- 1: ended long ago, with its invoice; 2: ended, but invoiced years later (still held); 3: running.
INSERT INTO orders VALUES (1, 1, '2015-02-01'), (2, 1, '2016-11-30'), (3, 1, '2025-06-01'), (4, 2, '2015-02-01');
INSERT INTO order_line VALUES (10, 1, 'a'), (20, 2, 'b'), (30, 3, 'c'), (40, 4, 'd');
INSERT INTO invoice VALUES
    (100, 1, '2015-02-02'), (200, 2, '2021-01-10'), (300, 3, '2025-06-02'), (400, 4, '2015-02-02');
"""

BOOKKEEPING = {"strategy": "keep", "hold": "bookkeeping"}


@pytest.fixture
def shop(tmp_path):
    path = tmp_path / "shop.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
    tables = {
        "customer": {
            "identifiers": {"email": "email"},
            "categories": {"email": "contact", "name": "identity"},
            "erasure": {"strategy": "anonymise", "fields": {"email": "hash", "name": "redact"}},
        },
        "orders": {
            "link": {"table": "customer", "columns": {"customer_id": "id"}},
            "erasure": {**BOOKKEEPING, "date_column": "placed", "after_hold": "delete"},
        },
        "order_line": {"link": {"table": "orders", "columns": {"order_id": "id"}}, "erasure": BOOKKEEPING},
        "invoice": {
            "link": {"table": "orders", "columns": {"order_id": "id"}},
            "erasure": {**BOOKKEEPING, "date_column": "issued", "after_hold": "delete"},
        },
    }
    source = {
        "name": "Shop",
        "kind": "sql",
        "purposes": ["account"],
        "origin": {"da": "Fra dig", "en": "From you"},
        "url": f"sqlite:///{path}",
        "tables": tables,
    }
    datamap = map_build({"shop": source})
    yield SqlConnector(datamap.sources["shop"], datamap), path
    engines_dispose()


def _ids(path, table: str) -> set[int]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute(f"SELECT id FROM {table}")}  # noqa: S608


@time_machine.travel("2026-12-03 12:00 +0000")
def test_rows_whose_hold_ended_go_unless_a_kept_row_still_points_at_them(shop):
    connector, path = shop
    plan = connector.erasure_plan({"email": {"mette@example.dk"}})
    by = {(table.table, table.action): table for table in plan.tables}

    # Order 2's own hold ended in 2021, but its invoice of 2021 is held until the end of 2026.
    assert sorted(by[("orders", KEEP)].keys) == [2, 3]
    assert by[("orders", KEEP)].hold_until is None  # it stays as long as its invoice: no date to state
    assert by[("orders", DELETE)].keys == [1]
    assert sorted(by[("invoice", KEEP)].keys) == [200, 300]
    assert by[("invoice", KEEP)].hold_until == "2030-12-31"
    assert by[("invoice", DELETE)].keys == [100]
    # Lines are dated by their order: those of an order that goes, go; those of an order that stays, stay.
    assert by[("order_line", DELETE)].keys == [10]
    assert sorted(by[("order_line", KEEP)].keys) == [20, 30]

    connector.erasure_execute(plan)

    assert _ids(path, "orders") == {2, 3, 4}
    assert _ids(path, "invoice") == {200, 300, 400}
    assert _ids(path, "order_line") == {20, 30, 40}
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


@time_machine.travel("2031-01-02 12:00 +0000")
def test_once_the_last_hold_has_ended_everything_goes(shop):
    connector, path = shop
    result = connector.erasure_execute(connector.erasure_plan({"email": {"mette@example.dk"}}))

    assert sum(fact.kept for fact in result.facts) == 0
    assert _ids(path, "orders") == {4}
    assert _ids(path, "invoice") == {400}
    assert _ids(path, "order_line") == {40}

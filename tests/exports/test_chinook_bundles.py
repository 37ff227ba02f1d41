"""Bundles for several Chinook customers, on SQLite and on PostgreSQL, checked row for row against the database."""

import copy
import sqlite3
from contextlib import closing
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest
import yaml

from dsr.datamap.loading import datamap_load
from dsr.models import Status
from tests.exports.helpers import bundle_read
from tests.sources.maps import BASE_MAP, chinook_source

pytestmark = pytest.mark.django_db
# Customers with different countries, numbers of invoices and NULL columns (company, state, fax).
CUSTOMERS = [1, 17, 46, 59]


def _same(got: str, want) -> bool:
    if want is None:
        return got == ""
    if isinstance(want, datetime):
        return datetime.fromisoformat(got) == want.replace(tzinfo=None)
    if isinstance(want, int | float | Decimal) and not isinstance(want, bool):
        return Decimal(got) == Decimal(str(want))
    text = str(want)
    if len(text) >= 10 and text[4] == "-" and "T" in got:
        return datetime.fromisoformat(got) == datetime.fromisoformat(text)
    return got == text


def _load(url: str, naming: str) -> None:
    document = copy.deepcopy(BASE_MAP)
    document["sources"] = {"chinook": chinook_source(url, naming)}
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True), loaded_by="test")


def _check(file, query, naming: str) -> int:
    """File an access request for each customer and compare the bundle with the database; return rows checked."""

    def t(name: str) -> str:
        # The PostgreSQL dump names things in snake case: InvoiceLineId -> invoice_line_id.
        if naming == "pascal":
            return name
        return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))

    checked = 0
    for customer_id in CUSTOMERS:
        # Table and column names are this test's constants, never input.
        (email,) = query(f"SELECT {t('Email')} FROM {t('Customer')} WHERE {t('CustomerId')} = %s", customer_id)[0]  # noqa: S608
        request = file("access", email=email)
        assert request.status == Status.COMPLETED, request.status
        opened = bundle_read(request.bundles.get())
        tables = {
            t("Customer"): (f"SELECT * FROM {t('Customer')} WHERE {t('CustomerId')} = %s", t("CustomerId")),  # noqa: S608
            t("Invoice"): (f"SELECT * FROM {t('Invoice')} WHERE {t('CustomerId')} = %s", t("InvoiceId")),  # noqa: S608
            t("InvoiceLine"): (
                f"SELECT l.* FROM {t('InvoiceLine')} l "  # noqa: S608
                f"JOIN {t('Invoice')} i ON i.{t('InvoiceId')} = l.{t('InvoiceId')} WHERE i.{t('CustomerId')} = %s",
                t("InvoiceLineId"),
            ),
        }
        for table, (sql, key) in tables.items():
            rows = sorted(query(sql, customer_id, dicts=True), key=lambda row: row[key])
            got = opened.csv(f"data/chinook/{table}.csv")
            records = opened.json(f"data/chinook/{table}.json")["records"]
            assert len(got) == len(records) == len(rows), table
            for csv_row, json_row, row in zip(got, records, rows, strict=True):
                row.pop(t("SupportRepId"), None)  # excluded by the map: an employee, not the customer
                assert set(csv_row) == set(row) == set(json_row)
                for column, value in row.items():
                    assert _same(csv_row[column], value), (table, column, csv_row[column], value)
                    assert _same("" if json_row[column] is None else str(json_row[column]), value), (table, column)
                checked += 1
    return checked


def test_chinook_on_sqlite(chinook_sqlite, file):
    _load(f"sqlite:///{chinook_sqlite}", "pascal")

    def query(sql, *params, dicts=False):
        with closing(sqlite3.connect(chinook_sqlite)) as conn:
            conn.row_factory = sqlite3.Row if dicts else None
            rows = conn.execute(sql.replace("%s", "?"), params).fetchall()
            return [dict(row) for row in rows] if dicts else rows

    assert _check(file, query, "pascal") > 100


def test_chinook_on_postgresql(chinook_postgres, postgres_database, file):
    _load(chinook_postgres, "snake")
    libpq_url = postgres_database[1]

    def query(sql, *params, dicts=False):
        with (
            psycopg.connect(libpq_url) as conn,
            conn.cursor(row_factory=psycopg.rows.dict_row if dicts else None) as cur,
        ):
            cur.execute(sql, params)
            return cur.fetchall()

    assert _check(file, query, "snake") > 100

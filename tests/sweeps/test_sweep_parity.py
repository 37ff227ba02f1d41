"""The same sweeps on the demo shop in SQLite and in PostgreSQL leave the same rows, down to every hash."""

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from dsr.datamap.loading import datamap_load
from dsr.sources.sql import engines_dispose
from dsr.sweeps import counts_totals, sweep_approve, sweep_plan, sweep_run
from tests.sources.conftest import postgres_database  # noqa: F401
from tests.sweeps.conftest import TODAY, map_text

RULES = [("purpose:purchase", TODAY), ("purpose:newsletter", TODAY), ("hold:bookkeeping", TODAY.replace(year=2028))]


def _shop_copy(sqlite_url: str, postgres_url: str) -> None:
    """Copy the shop's tables, keys, constraints and rows from SQLite into the empty PostgreSQL database."""
    source, target = sa.create_engine(sqlite_url), sa.create_engine(postgres_url)
    metadata = sa.MetaData()
    metadata.reflect(source)
    for table in metadata.tables.values():
        for column in table.columns:
            column.server_default = None  # SQLite's "DEFAULT 0" of a boolean is no PostgreSQL default
    try:
        metadata.create_all(target)
        with source.connect() as reading, target.begin() as writing:
            for table in metadata.sorted_tables:
                found = [dict(row) for row in reading.execute(sa.select(table)).mappings()]
                if found:
                    writing.execute(sa.insert(table), found)
    finally:
        source.dispose()
        target.dispose()


def _shop_rows(url: str) -> dict[str, list[tuple]]:
    """Return every table's rows in key order, as SQLAlchemy reads them (dates as dates, booleans as booleans)."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    try:
        with engine.connect() as conn:
            return {
                name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
                for name, table in sorted(metadata.tables.items())
            }
    finally:
        engine.dispose()


def _sweeps_run(url: str) -> list[dict]:
    datamap_load(text=map_text(url), loaded_by="test")
    totals = []
    for rule, today in RULES:
        sweep = sweep_plan(rule, today=today)
        sweep_approve(sweep, start=False)
        sweep = sweep_run(sweep.pk)
        assert sweep.status == "done", sweep.error
        totals.append(counts_totals(sweep.counts))
    engines_dispose()
    return totals


def _normal(value: object) -> object:
    # SQLite has no time zone and no fixed decimals: compare what both hold.
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def test_a_sweep_on_sqlite_and_on_postgresql_leaves_the_same_rows(shop: Path, postgres_database, db):
    sqlite_url, postgres_url = f"sqlite:///{shop}", postgres_database[0]
    _shop_copy(sqlite_url, postgres_url)
    before = _shop_rows(sqlite_url)
    assert _shop_rows(postgres_url) == before
    on_sqlite, on_postgres = _sweeps_run(sqlite_url), _sweeps_run(postgres_url)
    assert on_sqlite == on_postgres
    assert on_sqlite[0]["anonymised"] == 21
    assert on_sqlite[1]["deleted"] == 79
    assert on_sqlite[2]["deleted"] > 0
    after_sqlite, after_postgres = _shop_rows(sqlite_url), _shop_rows(postgres_url)
    assert after_sqlite != before
    for table, found in after_sqlite.items():
        normal = [tuple(_normal(value) for value in row) for row in found]
        assert normal == [tuple(_normal(value) for value in row) for row in after_postgres[table]], table
    emails = [row[4] for row in after_postgres["customer"] if str(row[4]).startswith("anon-")]
    assert len(emails) == 21  # hashed by PostgreSQL, and equal to SQLite's hashes from Python

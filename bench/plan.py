"""Erasure planning on a 200-table database: the time one request's plan takes in the sql connector.

A generated SQLite (and, where reachable, PostgreSQL) database has a customer
table and 199 others in foreign-key chains; the map names the customer and ten
of its tables. Each request makes a fresh connector (as a job does) and plans
one person's erasure. The map uses only keys every version of the map knows,
so the same script measures the code before and after a change:

    .venv/bin/python bench/plan.py --people 200
    (cd ../before && ../main/.venv/bin/python bench/plan.py --people 200)   # a worktree of the older commit

Target (issue: a data map that fits real databases): planning adds at most
50 ms per request over the code before the live schema was read.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402

from dsr.datamap.parsing import datamap_parse  # noqa: E402
from dsr.sources.sql import SqlConnector, engines_dispose  # noqa: E402

TABLES = 200
MAPPED = 10
POSTGRES = os.environ.get("DSR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _schema(conn, people: int) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL UNIQUE, "
        "name VARCHAR(100) NOT NULL, phone VARCHAR(30))"
    )
    for i in range(TABLES - 1):
        parent = "customer" if i < 20 else f"t{10 + i % 10}"  # the mapped t0..t9 are leaves
        conn.exec_driver_sql(
            f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, {parent}_id INTEGER NOT NULL REFERENCES {parent} (id), "
            "note VARCHAR(100), amount NUMERIC(10, 2), created DATE)"
        )
    conn.execute(
        sa.text("INSERT INTO customer VALUES (:id, :email, :name, NULL)"),
        [{"id": n, "email": f"person{n}@example.dk", "name": f"Person {n}"} for n in range(1, people + 1)],
    )
    for i in range(MAPPED):
        rows = [{"id": n * 10 + k, "parent": n} for n in range(1, people + 1) for k in range(3)]
        conn.execute(sa.text(f"INSERT INTO t{i} VALUES (:id, :parent, 'x', 9.5, '2025-05-01')"), rows)


def _map(url: str) -> dict:
    tables = {
        "customer": {
            "identifiers": {"email": "email"},
            "categories": {"email": "contact", "name": "identity"},
            "erasure": {"strategy": "anonymise", "fields": {"email": "hash", "name": "redact", "phone": "clear"}},
        }
    }
    for i in range(MAPPED):
        strategy = {"strategy": "keep", "hold": "bookkeeping"} if i % 2 else {"strategy": "delete"}
        tables[f"t{i}"] = {
            "link": {"table": "customer", "columns": {"customer_id": "id"}},
            "categories": {"note": "contact"},
            "erasure": strategy,
        }
    return {
        "controller": {
            "name": "Bench ApS",
            "address": "Benchvej 1, 2300 København S",
            "cvr": "12345678",
            "email": "privacy@bench.example",
        },
        "categories": {key: {"name": {"da": key, "en": key}} for key in ("identity", "contact")},
        "purposes": {
            "account": {
                "name": {"da": "Konto", "en": "Account"},
                "legal_basis": ["b"],
                "retention": {"da": "Tre år", "en": "Three years"},
                "retention_rule": {"after": "account_deactivated", "years": 3},
            }
        },
        "recipients": {},
        "legal_holds": {
            "bookkeeping": {
                "name": {"da": "Bogføringsloven", "en": "Bookkeeping Act"},
                "law": "Bogføringsloven § 10",
                "period_rule": {"after": "end_of_financial_year", "years": 5},
            }
        },
        "sources": {
            "shop": {
                "name": "Shop",
                "kind": "sql",
                "purposes": ["account"],
                "origin": {"da": "Fra dig", "en": "From you"},
                "url": url,
                "tables": tables,
            }
        },
    }


def _measure(url: str, people: int) -> tuple[float, float]:
    datamap = datamap_parse(yaml.safe_dump(_map(url), allow_unicode=True, sort_keys=False))
    source = datamap.sources["shop"]
    SqlConnector(source, datamap).erasure_plan({"email": {"person1@example.dk"}})  # connect, warm the pool
    wall, busy = time.perf_counter(), time.process_time()
    for n in range(1, people + 1):
        plan = SqlConnector(source, datamap).erasure_plan({"email": {f"person{n}@example.dk"}})
        assert sum(table.count for table in plan.tables) == 1 + 3 * MAPPED, plan
    return (time.perf_counter() - wall) * 1000 / people, (time.process_time() - busy) * 1000 / people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"{TABLES} tables, {MAPPED + 1} mapped, {args.people} plans; load average {load[0]:.1f} {load[1]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _schema(conn, args.people)
        engine.dispose()
        wall, busy = _measure(url, args.people)
        print(f"SQLite      {wall:6.1f} ms wall, {busy:6.1f} ms busy per plan")
        engines_dispose()
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL  not reachable ({exc}); skipped")
        return
    name = f"dsr_bench_plan_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        url = f"{base}/{name}"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _schema(conn, args.people)
        engine.dispose()
        wall, busy = _measure(url, args.people)
        print(f"PostgreSQL  {wall:6.1f} ms wall, {busy:6.1f} ms busy per plan")
    finally:
        engines_dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""A retention sweep of many expired people on PostgreSQL, against hand-written set-based SQL doing the same.

    .venv/bin/python bench/sweep.py [--people 100000] [--database postgres://postgres@127.0.0.1:5432/postgres]

The source is a shop on PostgreSQL (database dsr_bench_sweep_shop): customers 36 months past
deactivation, each with an address, two log-ins, a preference and an order with a line and an invoice
from a financial year whose five-year bookkeeping hold has ended, plus a tenth as many active customers
who must stay untouched. dsr's own database is dsr_bench_sweep. Both are dropped at the end.

Two runs on fresh copies of the same data, in one invocation:

- sweep: `dsr_retention_sweep --rule purpose:purchase` in a child process (the dry run, then the batches);
  wall time, the child's CPU time (busy) and its peak resident memory;
- SQL: the same anonymisation and deletions as set-based statements in one transaction (hashes as md5
  in the database), wall time.

Memory flatness: the sweep also runs on a tenth of the people, and the peaks are compared.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import yaml  # noqa: E402

DSR_DB, SHOP_DB = "dsr_bench_sweep", "dsr_bench_sweep_shop"

SCHEMA = """
CREATE TABLE customer (id integer PRIMARY KEY, email text, first_name text, last_name text, phone text,
    deactivated_at timestamp, processing_restricted boolean NOT NULL DEFAULT false);
CREATE TABLE address (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customer(id), street text);
CREATE TABLE login (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customer(id), at timestamp,
    ip_address text);
CREATE TABLE preference (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customer(id), diet text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customer(id),
    placed_at timestamp);
CREATE TABLE order_line (id integer PRIMARY KEY, order_id integer NOT NULL REFERENCES orders(id), product text);
CREATE TABLE invoice (id integer PRIMARY KEY, order_id integer NOT NULL REFERENCES orders(id),
    customer_id integer NOT NULL REFERENCES customer(id), issued_at timestamp, billing_name text);
CREATE INDEX ON address (customer_id); CREATE INDEX ON login (customer_id); CREATE INDEX ON preference (customer_id);
CREATE INDEX ON orders (customer_id); CREATE INDEX ON order_line (order_id); CREATE INDEX ON invoice (order_id);
CREATE INDEX ON invoice (customer_id); CREATE INDEX ON customer (deactivated_at);
"""

FILL = """
INSERT INTO customer SELECT i, 'person' || i || '@example.dk', 'First' || i, 'Last' || i, '+45 ' || (20000000 + i),
    CASE WHEN i <= {expired} THEN timestamp '2019-03-01' + (i % 300) * interval '1 day' END, false
    FROM generate_series(1, {total}) AS i;
INSERT INTO address SELECT i, i, 'Vej ' || i FROM generate_series(1, {total}) AS i;
INSERT INTO login SELECT i, (i + 1) / 2, timestamp '2018-06-01', '10.0.0.1' FROM generate_series(1, 2 * {total}) AS i;
INSERT INTO preference SELECT i, i, 'vegetar' FROM generate_series(1, {total}) AS i;
INSERT INTO orders SELECT i, i, timestamp '2017-05-01' FROM generate_series(1, {total}) AS i;
INSERT INTO order_line SELECT i, i, 'Måltidskasse' FROM generate_series(1, {total}) AS i;
INSERT INTO invoice SELECT i, i, i, timestamp '2017-05-01', 'First' || i || ' Last' || i
    FROM generate_series(1, {total}) AS i;
ANALYZE;
"""

# The same changes as the sweep makes, as set-based statements: the expired customers anonymised, their
# addresses, log-ins and preferences deleted, and their orders, lines and invoices past the hold deleted.
HAND_SQL = """
CREATE TEMP TABLE expired AS SELECT id FROM customer WHERE deactivated_at < '{cutoff}' AND NOT processing_restricted;
UPDATE customer SET first_name = '[erased]', last_name = '[erased]', email = 'anon-' || md5('customer' || id),
    phone = NULL WHERE id IN (SELECT id FROM expired);
DELETE FROM address WHERE customer_id IN (SELECT id FROM expired);
DELETE FROM login WHERE customer_id IN (SELECT id FROM expired);
DELETE FROM preference WHERE customer_id IN (SELECT id FROM expired);
DELETE FROM invoice WHERE customer_id IN (SELECT id FROM expired) AND issued_at < '{hold_cutoff}';
DELETE FROM order_line WHERE order_id IN (SELECT id FROM orders WHERE customer_id IN (SELECT id FROM expired)
    AND placed_at < '{hold_cutoff}');
DELETE FROM orders WHERE customer_id IN (SELECT id FROM expired) AND placed_at < '{hold_cutoff}';
"""


def _map(shop_url: str) -> str:
    tables = {
        "customer": {
            "identifiers": {"email": "email"},
            "categories": {"email": "contact", "first_name": "identity", "last_name": "identity", "phone": "contact"},
            "erasure": {
                "strategy": "anonymise",
                "fields": {"first_name": "redact", "last_name": "redact", "email": "hash", "phone": "clear"},
            },
            "restriction": {"column": "processing_restricted"},
            "events": {"account_deactivated": "deactivated_at"},
        },
        **{
            name: {
                "link": {"table": "customer", "columns": {"customer_id": "id"}},
                "categories": {column: "contact"},
                "erasure": {"strategy": "delete"},
            }
            for name, column in (("address", "street"), ("login", "ip_address"), ("preference", "diet"))
        },
        "orders": {
            "link": {"table": "customer", "columns": {"customer_id": "id"}},
            "categories": {"placed_at": "contact"},
            "erasure": {"strategy": "keep", "hold": "bookkeeping", "date_column": "placed_at", "after_hold": "delete"},
        },
        "order_line": {
            "link": {"table": "orders", "columns": {"order_id": "id"}},
            "categories": {"product": "contact"},
            "erasure": {"strategy": "keep", "hold": "bookkeeping"},
        },
        "invoice": {
            "link": {"table": "customer", "columns": {"customer_id": "id"}},
            "categories": {"billing_name": "identity"},
            "erasure": {"strategy": "keep", "hold": "bookkeeping", "date_column": "issued_at", "after_hold": "delete"},
        },
    }
    both = {"da": "x", "en": "x"}
    document = {
        "controller": {"name": "Bench ApS", "address": "Vej 1", "cvr": "12345678", "email": "privacy@bench.example"},
        "categories": {"identity": {"name": both}, "contact": {"name": both}},
        "purposes": {
            "purchase": {
                "name": both,
                "legal_basis": ["b"],
                "retention": both,
                "retention_rule": {"after": "account_deactivated", "months": 36},
                "categories": ["identity", "contact"],
            },
        },
        "recipients": {},
        "legal_holds": {
            "bookkeeping": {"name": both, "law": both, "period_rule": {"after": "end_of_financial_year", "years": 5}}
        },
        "sources": {
            "shop": {
                "name": both,
                "kind": "sql",
                "purposes": ["purchase"],
                "origin": both,
                "url": shop_url,
                "tables": tables,
            }
        },
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _swap(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _pg(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def _shop_build(admin: str, people: int) -> None:
    with _pg(admin) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SHOP_DB}")
        conn.execute(f"CREATE DATABASE {SHOP_DB}")
    with _pg(_swap(admin, SHOP_DB)) as conn:
        conn.execute(SCHEMA)
        conn.execute(FILL.format(expired=int(people), total=int(people + people // 10)))


def _shop_state(admin: str) -> tuple:
    with _pg(_swap(admin, SHOP_DB)) as conn:
        return tuple(
            conn.execute(sql).fetchone()[0]
            for sql in (
                "SELECT count(*) FROM customer WHERE phone IS NULL",
                "SELECT count(*) FROM address",
                "SELECT count(*) FROM login",
                "SELECT count(*) FROM orders",
                "SELECT count(*) FROM order_line",
                "SELECT count(*) FROM invoice",
            )
        )


def _sweep_child(env: dict) -> dict:
    """Run the sweep command in a child process; return its wall time, CPU time and peak memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    command = [sys.executable, "manage.py", "dsr_retention_sweep", "--rule", "purpose:purchase"]
    result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"the sweep failed:\n{result.stdout}\n{result.stderr}")
    return {
        "wall": wall,
        "busy": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_mb": after.ru_maxrss / 1024,
        "output": result.stdout.strip().splitlines()[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    admin = args.database
    env = {
        **os.environ,
        "DATABASE_URL": _swap(admin, DSR_DB),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DSR_HTTPS": "false",
    }
    with _pg(admin) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DSR_DB}")
        conn.execute(f"CREATE DATABASE {DSR_DB}")
    try:
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=BASE_DIR, env=env, capture_output=True, text=True
        )
        if migrated.returncode:
            raise SystemExit(f"migrate failed:\n{migrated.stderr}")
        map_file = Path(tempfile.mkdtemp()) / "dsr_bench_sweep.yaml"
        shop_url = _swap(admin, SHOP_DB).replace("postgres://", "postgresql+psycopg://", 1)
        map_file.write_text(_map(shop_url), encoding="utf-8")
        subprocess.run(
            [sys.executable, "manage.py", "dsr_load_datamap", str(map_file)],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
        )
        results = {}
        for people in sorted({max(1, args.people // 10), args.people}):
            _shop_build(admin, people)
            load = os.getloadavg()[0]
            results[people] = {**_sweep_child(env), "load": load, "state": _shop_state(admin)}
            print(f"sweep of {people} people: {results[people]}", flush=True)
        _shop_build(admin, args.people)
        load = os.getloadavg()[0]
        with _pg(_swap(admin, SHOP_DB)) as conn:
            started, cpu = time.monotonic(), time.process_time()
            with conn.transaction():
                conn.execute(HAND_SQL.format(cutoff="2023-12-04", hold_cutoff="2021-01-01"))
            hand = {"wall": time.monotonic() - started, "busy": time.process_time() - cpu, "load": load}
        hand["state"] = _shop_state(admin)
        print(f"hand-written SQL for {args.people} people: {hand}", flush=True)
        sweep = results[args.people]
        if sweep["state"] != hand["state"]:
            print(f"NOTE: the two runs left different shops: sweep {sweep['state']}, SQL {hand['state']}")
        ratio = sweep["wall"] / hand["wall"]
        small = results[min(results)]
        print(
            f"\nsweep / SQL wall time: {ratio:.1f}x (target at most 2x: {'met' if ratio <= 2 else 'not met'}); "
            f"peak memory {small['peak_mb']:.0f} MB for {min(results)} people, {sweep['peak_mb']:.0f} MB for "
            f"{args.people}; load average at the start {sweep['load']:.2f}, cores {os.cpu_count()}"
        )
    finally:
        with _pg(admin) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DSR_DB} WITH (FORCE)")
            conn.execute(f"DROP DATABASE IF EXISTS {SHOP_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()

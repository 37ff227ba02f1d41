"""A retention sweep of many expired people on PostgreSQL, against hand-written set-based SQL doing the same.

    .venv/bin/python bench/sweep.py [--people 100000] [--database postgres://postgres@127.0.0.1:5432/postgres]
        [--profile]

The source is a shop on PostgreSQL (database dsr_bench_sweep_shop): customers 36 months past
deactivation, each with an address, two log-ins, a preference and an order with a line and an invoice
from a financial year whose five-year bookkeeping hold has ended, plus a tenth as many active customers
who must stay untouched. dsr's own database is dsr_bench_sweep. Both are dropped at the end.

Set-up (migrate, loading the map, building the shop) is done first and not timed. Then, in one invocation:

- sweep: `dsr_retention_sweep --rule purpose:purchase` in a child process that starts Django, then times
  the command alone (the dry run, then the batches): wall time, CPU time (busy) and how far the process's
  peak resident memory grew during it; the child's wall time with Django's start-up is reported apart;
- SQL: the same anonymisation and deletions as set-based statements in one transaction (hashes as md5
  in the database), wall time, on a fresh copy of the same data.

Both runs must leave the same shop: row counts, the keys left in every table, and every customer's
fields (an anonymised e-mail counts as the same when both runs replaced it with a hash).
Memory flatness: the sweep also runs on a tenth of the people, and the peaks are compared.
With --profile, each sweep runs under cProfile and the top entries (by cumulative and by own time) are
printed, so the next change can start where the time goes.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import yaml  # noqa: E402

from bench.statements import statements_timed  # noqa: E402

DSR_DB, SHOP_DB = "dsr_bench_sweep", "dsr_bench_sweep_shop"
PROFILE_TOP = 30
STATEMENT_SHAPE = 110

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
        # The fill's writes are flushed now, not by a checkpoint in the middle of whichever run comes next.
        conn.execute("CHECKPOINT")


# What the shop holds after a run, compared between the sweep and the SQL: every table's row count and keys,
# and every customer's fields (the e-mail as "replaced by a hash", since the two runs hash differently).
STATE = {
    "customer rows": "SELECT count(*) FROM customer",
    "customers anonymised": "SELECT count(*) FROM customer WHERE phone IS NULL",
    "customer fields": "SELECT md5(string_agg(concat_ws('|', id, first_name, last_name, phone, deactivated_at,"
    " CASE WHEN email LIKE 'anon-%' THEN 'hashed' ELSE email END), ',' ORDER BY id)) FROM customer",
    **{
        f"{table} rows": f"SELECT count(*) || ' ' || md5(coalesce(string_agg(id::text, ',' ORDER BY id), ''))"
        f" FROM {table}"
        for table in ("address", "login", "preference", "orders", "order_line", "invoice")
    },
}
SAMPLE = "SELECT id, first_name, last_name, phone, left(email, 5) FROM customer WHERE id IN (1, 2, {last}) ORDER BY id"


def _shop_state(admin: str, people: int) -> dict:
    with _pg(_swap(admin, SHOP_DB)) as conn:
        state = {name: conn.execute(sql).fetchone()[0] for name, sql in STATE.items()}
        state["sample"] = [list(row) for row in conn.execute(SAMPLE.format(last=people + 1)).fetchall()]
        return state


def _sweep_alone(*, profile: bool, statements: bool) -> None:
    """In the child: start Django, then time the sweep command alone; print the figures as JSON.

    With ``profile``, the command runs under cProfile and its top entries go to stderr (the times then include
    the profiler's own overhead). With ``statements``, every statement is timed and the costliest shapes go to
    stderr.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    import dsr.sources.sql.connector
    import dsr.sweeps  # noqa: F401

    timed = (
        statements_timed(connection, shape_length=STATEMENT_SHAPE, label="dsr: ", sqlalchemy_label="shop: ")
        if statements
        else None
    )
    # The dry run is timed apart: what the run alone costs is the second figure to compare with the SQL.
    from dsr.management.commands import dsr_retention_sweep

    dry_run: dict = {}
    planning = dsr_retention_sweep.sweep_plan

    def sweep_plan_timed(*args, **kwargs):
        started, cpu = time.monotonic(), time.process_time()
        try:
            return planning(*args, **kwargs)
        finally:
            dry_run.update(wall=time.monotonic() - started, busy=time.process_time() - cpu)

    dsr_retention_sweep.sweep_plan = sweep_plan_timed
    output = io.StringIO()
    peak_before = _peak_kb()
    profiler = cProfile.Profile() if profile else None
    started, cpu = time.monotonic(), time.process_time()
    if profiler:
        profiler.enable()
    call_command("dsr_retention_sweep", "--rule", "purpose:purchase", stdout=output)
    if profiler:
        profiler.disable()
    wall, busy = time.monotonic() - started, time.process_time() - cpu
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(PROFILE_TOP)
        stats.sort_stats("tottime").print_stats(PROFILE_TOP)
    if timed is not None:
        count, seconds = sum(n for n, _ in timed.values()), sum(t for _, t in timed.values())
        print(f"statements: {count}, {seconds:.2f} s", file=sys.stderr)
        for name, (count, seconds) in sorted(timed.items(), key=lambda item: -item[1][1])[:PROFILE_TOP]:
            print(f"{seconds:8.3f} s {count:6d}x  {name}", file=sys.stderr)
    peak_after = _peak_kb()
    lines = output.getvalue().strip().splitlines()
    figures = {"wall": wall, "busy": busy, "peak_growth_mb": (peak_after - peak_before) / 1024}
    print(json.dumps({**figures, "dry_run": dry_run, "peak_mb": peak_after / 1024, "output": lines[-1]}))


def _peak_kb() -> int:
    """Return this process's own peak resident set in KB (VmHWM).

    Not ru_maxrss: Linux carries the high-water mark of the memory a process had before exec (here the
    benchmark parent's) into the new program's, so a child smaller than its parent would read too little growth.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def _sweep_child(env: dict, *, profile: bool, statements: bool) -> dict:
    """Run the sweep in a child process; return its figures, and its wall time with Django's start-up."""
    started = time.monotonic()
    options = [*(["--profile"] if profile else []), *(["--statements"] if statements else [])]
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *options]
    result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False)
    with_startup = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the sweep failed:\n{result.stdout}\n{result.stderr}")
    if profile or statements:
        print(result.stderr, flush=True)
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "wall_with_startup": with_startup}


def _uptime() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument(
        "--database", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--profile", action="store_true", help="profile the sweep (cProfile) and print its top entries")
    parser.add_argument(
        "--statements", action="store_true", help="time every statement the sweep sends and print the costliest"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _sweep_alone(profile=args.profile, statements=args.statements)
        return
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
            load = _uptime()
            figures = _sweep_child(env, profile=args.profile, statements=args.statements)
            results[people] = {**figures, "load": load, "state": _shop_state(admin, people)}
            print(f"sweep of {people} people: {json.dumps(results[people], default=str)}", flush=True)
        _shop_build(admin, args.people)
        load = _uptime()
        with _pg(_swap(admin, SHOP_DB)) as conn:
            started, cpu = time.monotonic(), time.process_time()
            with conn.transaction():
                conn.execute(HAND_SQL.format(cutoff="2023-12-04", hold_cutoff="2021-01-01"))
            hand = {"wall": time.monotonic() - started, "busy": time.process_time() - cpu, "load": load}
        hand["state"] = _shop_state(admin, args.people)
        print(f"hand-written SQL for {args.people} people: {json.dumps(hand, default=str)}", flush=True)
        sweep = results[args.people]
        same = sweep["state"] == hand["state"]
        if not same:
            print(f"DIFFERENT SHOPS: sweep {sweep['state']}\n                 SQL {hand['state']}")
        ratio = sweep["wall"] / hand["wall"]
        run_alone = sweep["wall"] - sweep["dry_run"]["wall"]
        small = results[min(results)]
        print(
            f"\nshops identical: {'yes' if same else 'NO'}; sweep alone / SQL wall time: {ratio:.2f}x "
            f"(target at most 2x: {'met' if ratio <= 2 and same else 'not met'}); of it the dry run "
            f"{sweep['dry_run']['wall']:.1f} s, the run {run_alone:.1f} s ({run_alone / hand['wall']:.2f}x the SQL); "
            f"sweep busy {sweep['busy']:.1f} s "
            f"of {sweep['wall']:.1f} s wall ({sweep['wall_with_startup']:.1f} s with Django's start-up); peak memory "
            f"growth {small['peak_growth_mb']:.1f} MB for {min(results)} people, {sweep['peak_growth_mb']:.1f} MB "
            f"for {args.people}; {sweep['load']} at the start; cores {os.cpu_count()}"
        )
    finally:
        with _pg(admin) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DSR_DB} WITH (FORCE)")
            conn.execute(f"DROP DATABASE IF EXISTS {SHOP_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()

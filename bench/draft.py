"""Drafting a data map from a 200-table database: `manage.py dsr_datamap_draft`, timed on SQLite and PostgreSQL.

Target: a draft of a 200-table database in at most 10 s.

    .venv/bin/python bench/draft.py [--modules 39] [--rows 100] [--repeat 3]
                                    [--database postgres://postgres@127.0.0.1:5432/postgres]

The schema is a shop with one customer table and `--modules` product lines
(39 give 200 tables). Each line has five tables in a foreign-key chain:
subscription_N -> customer, invoice_N -> subscription_N, invoice_line_N ->
invoice_N, event_N -> subscription_N, and plan_N, a lookup the subscriptions
and lines point at. Every invoice also points at the shared address table
(which points at a city lookup), so the address is reached by 40 paths.
Beside them: a country lookup behind the city and an audit log no key leads to.
Columns are what shops hold: emails, Danish names, phones, birth dates,
street names, IP addresses, free-text notes, amounts and dates; each table
gets `--rows` rows, so the value sample has something to read.

Each run is the whole command in this process, writing the file with --out:
connect, read the live schema, walk, classify (a sample of up to 200 rows per
reached table), choose strategies, write the YAML and check that it loads.
Busy time is this process's CPU time; on PostgreSQL the server's own work
shows in the wall time only. The SQLite file and the PostgreSQL database
(dsr_bench_draft) are made afresh and removed at the end.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

BENCH_DB = "dsr_bench_draft"
TARGET_SECONDS = 10.0
FIRST_NAMES = ["Mette", "Ole", "Anna", "Jens", "Sofie", "Karl", "Ida", "Lars", "Freja", "Mads"]
LAST_NAMES = ["Hansen", "Nielsen", "Jensen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen"]
STREETS = ["Strandvejen", "Nørrebrogade", "Vesterbrogade", "Algade", "Søndergade", "Østergade"]


def schema_sql(modules: int) -> list[str]:
    """Return the CREATE TABLE statements: 5 shared tables and 5 per module."""
    statements = [
        "CREATE TABLE country (id INTEGER PRIMARY KEY, name VARCHAR(60) NOT NULL)",
        "CREATE TABLE city (id INTEGER PRIMARY KEY, name VARCHAR(80) NOT NULL,"
        " country_id INTEGER NOT NULL REFERENCES country (id))",
        "CREATE TABLE address (id INTEGER PRIMARY KEY, vejnavn VARCHAR(120) NOT NULL, postnr VARCHAR(10),"
        " city_id INTEGER NOT NULL REFERENCES city (id))",
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL UNIQUE,"
        " fornavn VARCHAR(60) NOT NULL, efternavn VARCHAR(60) NOT NULL, telefon VARCHAR(30), foedselsdato DATE,"
        " active BOOLEAN NOT NULL,"
        " address_id INTEGER REFERENCES address (id), created_at TIMESTAMP NOT NULL)",
        "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, actor_email VARCHAR(120), action VARCHAR(40), at TIMESTAMP)",
    ]
    for n in range(modules):
        statements += [
            f"CREATE TABLE plan_{n} (id INTEGER PRIMARY KEY, name VARCHAR(80) NOT NULL, price NUMERIC(10, 2))",
            f"CREATE TABLE subscription_{n} (id INTEGER PRIMARY KEY,"
            " customer_id INTEGER NOT NULL REFERENCES customer (id),"
            f" plan_id INTEGER NOT NULL REFERENCES plan_{n} (id), started_at TIMESTAMP NOT NULL, note TEXT)",
            f"CREATE TABLE invoice_{n} (id INTEGER PRIMARY KEY,"
            f" subscription_id INTEGER NOT NULL REFERENCES subscription_{n} (id),"
            " address_id INTEGER REFERENCES address (id), issued_on DATE NOT NULL, amount NUMERIC(10, 2) NOT NULL,"
            " billing_name VARCHAR(120))",
            f"CREATE TABLE invoice_line_{n} (id INTEGER PRIMARY KEY,"
            f" invoice_id INTEGER NOT NULL REFERENCES invoice_{n} (id), plan_id INTEGER REFERENCES plan_{n} (id),"
            " quantity INTEGER NOT NULL, unit_price NUMERIC(10, 2) NOT NULL)",
            f"CREATE TABLE event_{n} (id INTEGER PRIMARY KEY,"
            f" subscription_id INTEGER NOT NULL REFERENCES subscription_{n} (id), ip VARCHAR(45),"
            " user_agent VARCHAR(200), seen_at TIMESTAMP NOT NULL)",
        ]
    return statements


def database_fill(url: str, modules: int, rows: int) -> int:
    """Create the schema at ``url`` and fill it; return the number of tables."""
    import sqlalchemy as sa

    rng = random.Random(7)
    engine = sa.create_engine(url)
    statements = schema_sql(modules)
    day = dt.date(1950, 1, 1)

    def insert(conn, table: str, values: list[dict]) -> None:
        columns = list(values[0])
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        conn.execute(sa.text(sql), values)

    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
        insert(conn, "country", [{"id": 1, "name": "Danmark"}])
        insert(conn, "city", [{"id": i, "name": f"By {i}", "country_id": 1} for i in range(1, 11)])
        insert(
            conn,
            "address",
            [
                {"id": i, "vejnavn": f"{rng.choice(STREETS)} {i}", "postnr": str(1000 + i), "city_id": 1 + i % 10}
                for i in range(1, rows + 1)
            ],
        )
        insert(
            conn,
            "customer",
            [
                {
                    "id": i,
                    "email": f"kunde{i}@example.dk",
                    "fornavn": rng.choice(FIRST_NAMES),
                    "efternavn": rng.choice(LAST_NAMES),
                    "telefon": f"+45 {rng.randint(20000000, 99999999)}",
                    "foedselsdato": day + dt.timedelta(days=rng.randint(0, 20000)),
                    "active": True,
                    "address_id": i,
                    "created_at": dt.datetime(2024, 1, 1) + dt.timedelta(hours=i),
                }
                for i in range(1, rows + 1)
            ],
        )
        insert(conn, "audit_log", [{"id": 1, "actor_email": "staff@example.dk", "action": "login", "at": None}])
        for n in range(modules):
            ids = range(1, rows + 1)
            insert(conn, f"plan_{n}", [{"id": i, "name": f"Plan {i}", "price": 99.0} for i in range(1, 6)])
            insert(
                conn,
                f"subscription_{n}",
                [
                    {"id": i, "customer_id": i, "plan_id": 1 + i % 5, "started_at": dt.datetime(2025, 1, 1), "note": ""}
                    for i in ids
                ],
            )
            insert(
                conn,
                f"invoice_{n}",
                [
                    {
                        "id": i,
                        "subscription_id": i,
                        "address_id": i,
                        "issued_on": dt.date(2025, 1 + i % 12, 1),
                        "amount": 99.0,
                        "billing_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                    }
                    for i in ids
                ],
            )
            insert(
                conn,
                f"invoice_line_{n}",
                [{"id": i, "invoice_id": i, "plan_id": 1 + i % 5, "quantity": 1, "unit_price": 99.0} for i in ids],
            )
            insert(
                conn,
                f"event_{n}",
                [
                    {
                        "id": i,
                        "subscription_id": i,
                        "ip": f"10.{n}.{i // 250}.{i % 250}",
                        "user_agent": "Mozilla/5.0",
                        "seen_at": dt.datetime(2025, 6, 1),
                    }
                    for i in ids
                ],
            )
    engine.dispose()
    return len(statements)


def draft_time(url: str, repeat: int, out: Path) -> dict:
    """Run the command ``repeat`` times; return wall and busy seconds of each run and what the last one printed."""
    from django.core.management import call_command

    from dsr.sources.sql import engines_dispose

    walls, busy, printed = [], [], ""
    for _ in range(repeat):
        engines_dispose()  # each run connects afresh, as the command run from a shell does
        output = io.StringIO()
        started, cpu = time.perf_counter(), time.process_time()
        call_command("dsr_datamap_draft", url, identity="customer.email", out=out, stdout=output, stderr=output)
        walls.append(time.perf_counter() - started)
        busy.append(time.process_time() - cpu)
        printed = output.getvalue()
    engines_dispose()
    return {"wall": walls, "busy": busy, "printed": printed, **_parts(url, out)}


def _parts(url: str, out: Path) -> dict:
    """Return the time the live schema read alone takes, and whether the drafted file loads as it is."""
    from dsr.datamap.parsing import datamap_parse
    from dsr.datamap.schema import DataMapInvalid
    from dsr.sources.sql import engines_dispose
    from dsr.sources.sql.connection import transaction_open
    from dsr.sources.sql.schema import live_schema_read

    started = time.perf_counter()
    with transaction_open(url, read_only=True) as conn:
        live_schema_read(conn)
    introspection = time.perf_counter() - started
    engines_dispose()
    try:
        datamap_parse(out.read_text(encoding="utf-8"))
    except DataMapInvalid as exc:
        return {"introspection": introspection, "loads": f"no, {len(exc.errors)} error(s)"}
    return {"introspection": introspection, "loads": "yes"}


def _database_swap(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin(admin_url: str, sql: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(sql)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable ({str(exc).splitlines()[0]}); SQLite only.")
        return False
    return True


def report(name: str, tables: int, result: dict) -> None:
    wall, busy = result["wall"], result["busy"]
    print(f"\n{name}: {tables} tables, {len(wall)} runs")
    print(f"  wall s: {' '.join(f'{s:.2f}' for s in wall)}  (median {statistics.median(wall):.2f})")
    print(f"  busy s: {' '.join(f'{s:.2f}' for s in busy)}  (median {statistics.median(busy):.2f})")
    print(f"  of which the live schema read alone: {result['introspection']:.2f} s wall")
    print(f"  the drafted map loads as it is: {result['loads']}")
    met = "met" if max(wall) <= TARGET_SECONDS else "NOT MET"
    print(f"  target <= {TARGET_SECONDS:.0f} s wall: {met} (worst {max(wall):.2f} s)")
    for line in result["printed"].splitlines():
        if line.strip().startswith(("tables mapped", "context", "shared", "decisions", "the draft")):
            print(f"  {line.strip()[:110]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=39, help="product lines of 5 tables (default 39: 200 tables)")
    parser.add_argument("--rows", type=int, default=100, help="rows per table (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per database (default 3)")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases ('' for SQLite only)",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="dsr-bench-draft-") as folder:
        path = Path(folder) / "shop.sqlite"
        tables = database_fill(f"sqlite:///{path}", args.modules, args.rows)
        report("SQLite", tables, draft_time(f"sqlite:///{path}", args.repeat, Path(folder) / "sqlite.yaml"))
        if args.database and _admin(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'):
            _admin(args.database, f'CREATE DATABASE "{BENCH_DB}"')
            url = _database_swap(args.database, BENCH_DB).replace("postgres://", "postgresql+psycopg://", 1)
            try:
                tables = database_fill(url, args.modules, args.rows)
                report("PostgreSQL", tables, draft_time(url, args.repeat, Path(folder) / "postgres.yaml"))
            finally:
                _admin(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

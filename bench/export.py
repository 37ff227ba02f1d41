"""Export of one person with many rows: time and peak memory against reading the same rows raw into CSV.

    .venv/bin/python bench/export.py [--rows 1000000] [--small 100000] [--others 2000] [--workers 2] [--profile]

Two SQLite sources are built in a temporary folder: a shop (customer ->
orders -> order_line) and a web analytics store (visitor -> page_view). One
person owns ``--rows`` rows across the five tables, a second ``--small`` rows,
and ``--others`` other customers a few rows each. dsr's own database, bundle
storage and broker folder are a throwaway SQLite database and folders in the
same temporary folder (DSR_VAR_DIR), so nothing touches var/ of the checkout.

Each measured part runs in a fresh interpreter (this script again, started by
subprocess); its wall time and its busy (CPU) time are the work alone, after
imports and Django set-up, and are reported apart:

- raw: plain sqlite3 runs the same queries the sql connector builds (the
  person's rows of each table, linked tables through IN (subquery), in
  primary-key order) and writes each table to a CSV file with csv.writer;
- export: what the collect and bundle jobs do (dsr/rights/access.py
  _run_collect and _run_bundle): records_stage for each source, a done
  collect job holding its result, then bundle_build, up to the sealed ZIP in
  bundle storage.

The bundle is then opened (bundle_open) and the rows of its CSV files counted.
Memory is read by each child from its own /proc/self/status: "set-up MB" is
the peak resident set (VmHWM) of the fresh interpreter after its imports (and
django.setup() for the export), before the work; "peak MB" is its VmHWM after
the work, imports and set-up included; growth is the one minus the other. For
the export, peak is the highest of its own process and the staging workers it
forks (their resident set counts the pages they share with it, as a pool
process's does). Not ru_maxrss from wait4: Linux carries the high-water mark of
the memory a process had before exec into the exec'd program's, so a child
started from this (large) parent would report at least the parent's size.

Targets (PRODUCT.md): the export within 2x the time of the raw read; peak
memory <= 200 MB whatever the row count, so the export runs at both sizes and
the two peaks must lie within MEMORY_FLAT_MB of each other.
``--profile`` runs the large export once more under cProfile and prints where
the time goes.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import csv  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import closing  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402

from bench.worker import commit_describe, load_describe, verdict  # noqa: E402

TIME_TARGET = 2.0
MEMORY_TARGET_MB = 200
MEMORY_FLAT_MB = 10  # how much higher the peak at --rows may be than at --small and still count as flat

SHOP_SCHEMA = """
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    customer_no TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    order_no TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    placed_at TIMESTAMP NOT NULL,
    delivery_date DATE NOT NULL,
    status TEXT NOT NULL,
    total_dkk NUMERIC NOT NULL
);
CREATE TABLE order_line (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    product TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_dkk NUMERIC NOT NULL
);
"""
SHOP_INDEXES = """
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX order_line_order_idx ON order_line (order_id);
"""
WEB_SCHEMA = """
CREATE TABLE visitor (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    statistics_consent BOOLEAN NOT NULL
);
CREATE TABLE page_view (
    id INTEGER PRIMARY KEY,
    visitor_id INTEGER NOT NULL REFERENCES visitor (id),
    at TIMESTAMP NOT NULL,
    path TEXT NOT NULL,
    referrer TEXT,
    ip_address TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
"""
WEB_INDEXES = "CREATE INDEX page_view_visitor_idx ON page_view (visitor_id);"

# What the sql connector asks for the person's rows, parents first (dsr.sources.sql: _match, records).
_CUSTOMER = "SELECT id FROM customer WHERE lower(trim(email)) IN (?)"
_ORDERS = f"SELECT id FROM orders WHERE customer_id IN ({_CUSTOMER})"
_VISITOR = "SELECT id FROM visitor WHERE lower(trim(email)) IN (?)"
RAW_QUERIES = {
    "shop": [
        ("customer", "SELECT * FROM customer WHERE lower(trim(email)) IN (?) ORDER BY id"),
        ("orders", f"SELECT * FROM orders WHERE customer_id IN ({_CUSTOMER}) ORDER BY id"),
        ("order_line", f"SELECT * FROM order_line WHERE order_id IN ({_ORDERS}) ORDER BY id"),
    ],
    "web": [
        ("visitor", "SELECT * FROM visitor WHERE lower(trim(email)) IN (?) ORDER BY id"),
        ("page_view", f"SELECT * FROM page_view WHERE visitor_id IN ({_VISITOR}) ORDER BY id"),
    ],
}

PRODUCTS = [
    ("Grøntsagskasse, stor", 349.00),
    ("Rugbrød", 32.50),
    ("Æblemost 1 l", 28.95),
    ('Kaffe "Mørk" 500 g', 64.00),
    ("Smørrebrødskasse til 4", 279.00),
    ("Hjemmelavet pesto", 39.95),
]
STATUSES = ["delivered", "delivered", "delivered", "cancelled", "refunded"]
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
START = datetime(2021, 1, 4, 7, 30)


def split(rows: int) -> dict[str, int]:
    """Return how many of a person's ``rows`` each table holds: 5% orders, 45% order lines, the rest page views."""
    orders = max(1, rows // 20)
    lines = max(1, rows * 9 // 20)
    views = rows - 2 - orders - lines
    if views < 1:
        raise SystemExit("--rows and --small must be at least 20")
    return {"customer": 1, "orders": orders, "order_line": lines, "visitor": 1, "page_view": views}


def _stamp(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


class _Ids:
    """The next primary key of each table, across everyone added."""

    def __init__(self):
        self.next = {"customer": 1, "orders": 1, "order_line": 1, "visitor": 1, "page_view": 1}

    def take(self, table: str, count: int) -> int:
        first = self.next[table]
        self.next[table] += count
        return first


def _person_add(shop, web, ids: _Ids, *, email: str, number: int, counts: dict[str, int]) -> None:
    """Insert one customer and visitor with ``counts`` rows per table."""
    customer = ids.take("customer", 1)
    shop.execute(
        "INSERT INTO customer VALUES (?, ?, ?, ?, ?, ?, ?)",
        (customer, f"K{number:07d}", "Ida", f"Sørensen {number}", email, f"+45 20{number:06d}"[:12], _stamp(number)),
    )
    orders, first_order = counts["orders"], ids.take("orders", counts["orders"])
    shop.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                first_order + i,
                f"O{first_order + i:09d}",
                customer,
                _stamp(number + i * 37),
                (date(2021, 1, 6) + timedelta(days=(number + i) % 1500)).isoformat(),
                STATUSES[i % len(STATUSES)],
                round(100 + (i % 400) * 2.45, 2),
            )
            for i in range(orders)
        ),
    )
    lines, first_line = counts["order_line"], ids.take("order_line", counts["order_line"])
    shop.executemany(
        "INSERT INTO order_line VALUES (?, ?, ?, ?, ?)",
        (
            (first_line + i, first_order + i * orders // lines, _product(i)[0], 1 + i % 3, _product(i)[1])
            for i in range(lines)
        ),
    )
    visitor = ids.take("visitor", 1)
    web.execute("INSERT INTO visitor VALUES (?, ?, ?, ?)", (visitor, email.upper(), _stamp(number), True))
    views, first_view = counts["page_view"], ids.take("page_view", counts["page_view"])
    web.executemany(
        "INSERT INTO page_view VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                first_view + i,
                visitor,
                _stamp(number + i * 3),
                f"/opskrifter/{i % 997}/{'frokost' if i % 2 else 'aftensmad'}",
                None if i % 3 else "https://www.google.dk/",
                f"10.{i % 200}.{i % 251}.{i % 7 + 1}",
                USER_AGENT,
            )
            for i in range(views)
        ),
    )


def _product(i: int) -> tuple[str, float]:
    return PRODUCTS[i % len(PRODUCTS)]


def sources_build(folder: Path, people: dict[str, int], others: int) -> None:
    """Build shop.sqlite3 and web.sqlite3: ``others`` small customers, then each of ``people`` with its rows."""
    folder.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(folder / "shop.sqlite3")) as shop,
        closing(sqlite3.connect(folder / "web.sqlite3")) as web,
    ):
        shop.executescript(SHOP_SCHEMA)
        web.executescript(WEB_SCHEMA)
        ids = _Ids()
        small = {"customer": 1, "orders": 3, "order_line": 9, "visitor": 1, "page_view": 10}
        for number in range(others):
            _person_add(shop, web, ids, email=f"kunde{number}@example.dk", number=number, counts=small)
        for offset, (email, rows) in enumerate(people.items()):
            _person_add(shop, web, ids, email=email, number=others + offset, counts=split(rows))
        shop.executescript(SHOP_INDEXES)
        web.executescript(WEB_INDEXES)
        shop.commit()
        web.commit()
        shop.execute("ANALYZE")
        web.execute("ANALYZE")


def map_text(folder: Path) -> str:
    """Return the data map of the two sources (the connector tests' controller, purposes and holds)."""
    import yaml

    from tests.sources.maps import BASE_MAP

    keep = {"strategy": "keep", "hold": "bookkeeping"}
    sources = {
        "shop": {
            "name": "Webshop",
            "kind": "sql",
            "purposes": ["account", "bookkeeping"],
            "origin": {"da": "Fra kunden", "en": "From the customer"},
            "provided_by_subject": ["customer"],
            "url": f"sqlite:///{folder / 'shop.sqlite3'}",
            "tables": {
                "customer": {
                    "identifiers": {"email": "email"},
                    "categories": {
                        "first_name": "identity",
                        "last_name": "identity",
                        "email": "contact",
                        "phone": "contact",
                    },
                    "erasure": {
                        "strategy": "anonymise",
                        "fields": {"first_name": "redact", "last_name": "redact", "email": "hash", "phone": "clear"},
                    },
                },
                "orders": {
                    "link": {"table": "customer", "columns": {"customer_id": "id"}},
                    "categories": {"total_dkk": "transaction", "placed_at": "transaction"},
                    "erasure": {**keep, "date_column": "placed_at", "after_hold": "delete"},
                },
                "order_line": {
                    "link": {"table": "orders", "columns": {"order_id": "id"}},
                    "categories": {"product": "transaction", "unit_price_dkk": "transaction"},
                    "erasure": keep,
                },
            },
        },
        "web": {
            "name": "Webanalyse",
            "kind": "sql",
            "purposes": ["account"],
            "origin": {"da": "Fra vores hjemmeside", "en": "From our website"},
            "url": f"sqlite:///{folder / 'web.sqlite3'}",
            "tables": {
                "visitor": {
                    "identifiers": {"email": "email"},
                    "categories": {"email": "contact"},
                    "erasure": {"strategy": "delete"},
                },
                "page_view": {
                    "link": {"table": "visitor", "columns": {"visitor_id": "id"}},
                    "categories": {"ip_address": "technical", "user_agent": "technical", "path": "usage"},
                    "erasure": {"strategy": "delete"},
                },
            },
        },
    }
    return yaml.safe_dump({**BASE_MAP, "sources": sources}, allow_unicode=True, sort_keys=False)


# --- The measured parts, each in a child process ---------------------------------------------


def _memory_mb(field: str = "VmHWM") -> float:
    """Return ``field`` of this process's /proc/self/status in MB: VmHWM its peak resident set, VmRSS the current.

    Both belong to the process's own memory since its exec or fork, unlike ru_maxrss (see the module docstring).
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in /proc/self/status: the memory figures need Linux")


def raw_run(folder: Path, email: str, out: Path) -> dict:
    """Read the person's rows with plain sqlite3 and write one CSV file per table; return times, rows and memory."""
    out.mkdir()
    rows = 0
    setup_mb = _memory_mb()
    started, cpu = time.perf_counter(), time.process_time()
    for source, queries in RAW_QUERIES.items():
        with closing(sqlite3.connect(folder / f"{source}.sqlite3")) as conn:
            for table, sql in queries:
                cursor = conn.execute(sql, (email,))
                with open(out / f"{source}-{table}.csv", "w", newline="", encoding="utf-8") as file:
                    writer = csv.writer(file)
                    writer.writerow([column[0] for column in cursor.description])
                    while batch := cursor.fetchmany(1000):
                        writer.writerows(batch)
                        rows += len(batch)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "rows": rows, "setup_mb": setup_mb, "peak_mb": _memory_mb()}


def _stage_source(request_id: int, key: str) -> tuple[dict, float, int, float]:
    """Stage one source's records, as one collect job on one worker does.

    Return the result, the seconds, and the id and peak resident set (MB) of the process that staged it.
    """
    from dsr.datamap.selectors import datamap_active
    from dsr.exports.staging import records_stage
    from dsr.models import Request
    from dsr.sources.registry import connector_for

    request = Request.objects.select_related("plan").get(pk=request_id)
    identifiers = {kind: set(values) for kind, values in request.plan.identifiers.items()}
    connector = connector_for(key, datamap_active())
    began = time.perf_counter()
    # As the access job stages: in batches where the connector reads so, with each table's CSV for people in
    # the request's language.
    read = getattr(connector, "record_batches", connector.records)
    result = records_stage(
        read(identifiers, reference=request.reference),
        request_id=request.pk,
        source_key=key,
        readable=request.language,
    )
    return result, time.perf_counter() - began, os.getpid(), _memory_mb()


def export_run(request_id: int, profile_to: str, workers: int) -> dict:
    """Stage every source's records and build the bundle, as the collect and bundle jobs do; return the timings.

    With ``workers`` > 1 the sources are staged by that many processes at once, as the worker pool runs
    the collect jobs (one job per source); the bundle job then runs alone. CPU time counts every process.
    """
    import resource

    import django

    django.setup()
    from django import db

    from dsr.datamap.selectors import datamap_active
    from dsr.exports.bundle import bundle_build
    from dsr.models import Job, JobStatus, Operation, Request

    setup_mb = _memory_mb()
    request = Request.objects.get(pk=request_id)
    datamap = datamap_active()
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if workers > 1 and not profiler:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        db.connections.close_all()  # each forked worker opens its own connection
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {key: pool.submit(_stage_source, request_id, key) for key in datamap.sources}
            results = {key: future.result() for key, future in futures.items()}
    else:
        results = {key: _stage_source(request_id, key) for key in datamap.sources}
    for key, (result, _seconds, _pid, _peak) in results.items():
        Job.objects.create(
            request=request, source_key=key, operation=Operation.ACCESS, status=JobStatus.DONE, result=result
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
    staged, staged_cpu = time.perf_counter(), time.process_time() - cpu + children_cpu
    staged_peak = _memory_mb()
    bundle = bundle_build(request=request, datamap=datamap)
    finished, cpu = time.perf_counter(), time.process_time() - cpu + children_cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_to)
    workers_peak: dict[int, float] = {}
    for _result, _seconds, pid, peak in results.values():
        if pid != os.getpid():
            workers_peak[pid] = max(peak, workers_peak.get(pid, 0.0))
    own_peak = _memory_mb()
    return {
        "seconds": finished - started,
        "cpu": cpu,
        "stage_seconds": staged - started,
        "stage_cpu": staged_cpu,
        "bundle_seconds": finished - staged,
        "stages": {key: seconds for key, (_result, seconds, _pid, _peak) in results.items()},
        "bundle": bundle.pk,
        "records": bundle.records,
        "setup_mb": setup_mb,
        "staged_peak_mb": staged_peak,
        "own_peak_mb": own_peak,
        "workers_peak_mb": sorted(workers_peak.values(), reverse=True),
        "peak_mb": max([own_peak, *workers_peak.values()]),
        "workers": workers,
    }


def child_main(args: argparse.Namespace) -> None:
    if args.child == "raw":
        result = raw_run(Path(args.folder), args.email, Path(args.out))
    else:
        result = export_run(args.request, args.profile_to, args.workers)
    Path(args.result).write_text(json.dumps(result))


def _child(part: str, work: Path, *extra: str) -> dict:
    """Run one measured part in a fresh interpreter; return its result (times and memory as the child read them)."""
    result_file = work / f"result-{time.monotonic_ns()}.json"
    command = [sys.executable, __file__, "--child", part, "--result", str(result_file), *extra]
    log = work / f"{part}.log"  # the child's logging (WeasyPrint and fontTools talk at INFO)
    with open(log, "ab") as stderr:
        returncode = subprocess.run(command, cwd=BASE_DIR, env=os.environ.copy(), stderr=stderr, check=False).returncode
    if returncode != 0:
        print(log.read_text()[-3000:], file=sys.stderr)
        raise SystemExit(f"the {part} child failed (exit {returncode})")
    return json.loads(result_file.read_text())


def bundle_csv_rows(bundle_id: int) -> tuple[int, int]:
    """Open the sealed bundle and return the data rows of its CSV files and its size on storage."""
    import zipfile

    from dsr.exports.delivery import bundle_open
    from dsr.models import Bundle

    bundle = Bundle.objects.get(pk=bundle_id)
    rows = 0
    with bundle_open(bundle) as plain, zipfile.ZipFile(plain) as archive:
        for name in archive.namelist():
            # The spreadsheet CSVs (<table>.da.csv, .en.csv) hold the same rows again, for people.
            if name.endswith(".csv") and not name.endswith((".da.csv", ".en.csv")):
                with archive.open(name) as member:
                    reader = csv.reader(io.TextIOWrapper(member, encoding="utf-8-sig", newline=""))
                    rows += sum(1 for _row in reader) - 1  # the header
    return rows, bundle.size


def _request_new(email: str, *, filer: str = "bench") -> int:
    """File a pre-verified access request for ``email`` with its plan at the collect stage; return its id.

    Each run files as its own integration (``filer``): the same filer's same request minutes later would be
    taken for a retry and answered with the first one (the duplicate-filing guard).
    """
    from dsr.audit import Actor
    from dsr.models import Plan, PlanStage
    from dsr.workflow import request_submit

    request = request_submit(right="access", email=email, actor=Actor.integration(filer), pre_verified=True).request
    Plan.objects.create(request=request, identifiers={"email": [email]}, stage=PlanStage.RUNNING)
    return request.pk


def _profile_print(path: Path, rows: int) -> None:
    import pstats

    for order in ("tottime", "cumulative"):
        print(f"\n--- profile of the export of {rows:,} rows, by {order} ---")
        pstats.Stats(str(path), stream=sys.stdout).strip_dirs().sort_stats(order).print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="the person's rows (default 1,000,000)")
    parser.add_argument("--small", type=int, default=100_000, help="a second person's rows (default 100,000)")
    parser.add_argument("--others", type=int, default=2000, help="other customers, 24 rows each (default 2,000)")
    parser.add_argument("--profile", action="store_true", help="also profile the large export with cProfile")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes staging the sources at once, as the worker pool does (2)"
    )
    for hidden in ("--child", "--result", "--folder", "--email", "--out", "--profile-to"):
        parser.add_argument(hidden, default="", help=argparse.SUPPRESS)
    parser.add_argument("--request", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    work = Path(tempfile.mkdtemp(prefix="dsr-bench-export-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "DSR_HTTPS": "false",
            "DSR_VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'var' / 'dsr.sqlite3'}",
            "DSR_BUNDLE_STORAGE": "local",
            "DSR_BUNDLE_DIR": str(work / "var" / "bundles"),
            "DSR_OUTBOX_DIR": str(work / "var" / "outbox"),
            "CELERY_BROKER_URL": "filesystem://localhost//",
            "CELERY_TASK_ALWAYS_EAGER": "false",  # no worker runs: the filed requests' tasks only queue up
        }
    )
    load_at_start = load_describe()
    try:
        large, small = "ida.export@example.dk", "bo.export@example.dk"
        people = {large: args.rows, small: args.small}
        print(f"building the sources: {args.rows:,} + {args.small:,} rows, {args.others:,} other customers ...")
        began = time.perf_counter()
        sources_build(work / "sources", people, args.others)
        print(f"  built in {time.perf_counter() - began:.0f} s", flush=True)

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from dsr.datamap.loading import datamap_load

        call_command("migrate", verbosity=0)
        datamap_load(text=map_text(work / "sources"), loaded_by="bench")

        results = []
        for email, rows in ((small, args.small), (large, args.rows)):
            print(f"{rows:,} rows: raw ...", flush=True)
            raw = _child(
                "raw", work, "--folder", str(work / "sources"), "--email", email, "--out", str(work / f"raw-{rows}")
            )
            if raw["rows"] != rows:
                raise SystemExit(f"the raw read found {raw['rows']} rows, not {rows}")
            print(f"{rows:,} rows: export ...", flush=True)
            request_id = _request_new(email)
            connection.close()  # the child writes to the same SQLite database
            export = _child("export", work, "--request", str(request_id), "--workers", str(args.workers))
            csv_rows, sealed_size = bundle_csv_rows(export["bundle"])
            if csv_rows != rows or export["records"] != rows:
                raise SystemExit(f"the bundle holds {csv_rows} CSV rows and {export['records']} records, not {rows}")
            results.append((rows, raw, export, sealed_size))

        print()
        print(
            f"{'part':<7} | {'rows':>9} | {'wall s':>6} | {'busy s':>6} | {'set-up MB':>9} | {'peak MB':>7} |"
            f" {'growth MB':>9}"
        )
        for rows, raw, export, _size in results:
            for part, measured in (("raw", raw), ("export", export)):
                print(
                    f"{part:<7} | {rows:>9,} | {measured['seconds']:6.1f} | {measured['cpu']:6.1f} |"
                    f" {measured['setup_mb']:9.0f} | {measured['peak_mb']:7.0f} |"
                    f" {round(measured['peak_mb'] - measured['setup_mb']):+9d}"
                )
        print(
            "wall: the work alone; busy: its CPU time (user + system, the staging workers' included); memory from"
            " each child's /proc/self/status: set-up = peak resident set (VmHWM) of the fresh interpreter after its"
            " imports (and django.setup() for export), peak = its VmHWM after the work (export: the highest of its"
            " process and its staging workers), growth = peak - set-up"
        )
        for rows, _raw, export, sealed_size in results:
            per_source = ", ".join(f"{key} {seconds:.1f} s" for key, seconds in export["stages"].items())
            workers_peak = ", ".join(f"{peak:.0f}" for peak in export["workers_peak_mb"]) or "none"
            print(
                f"export of {rows:,} rows: staging {export['stage_seconds']:.1f} s ({per_source};"
                f" CPU {export['stage_cpu']:.1f} s), bundle {export['bundle_seconds']:.1f} s"
                f" (CPU {export['cpu'] - export['stage_cpu']:.1f} s); peak MB of the export process"
                f" {export['staged_peak_mb']:.0f} after staging and {export['own_peak_mb']:.0f} after the bundle,"
                f" of its staging workers {workers_peak};"
                f" sealed bundle {sealed_size / 1e6:.1f} MB"
            )
        print("every bundle opened, and its CSV files hold exactly the person's rows")
        print(f"the sources were staged by {args.workers} worker process(es) at once, as collect jobs run")

        rows, raw, export, _size = results[-1]
        ratio, cpu_ratio = export["seconds"] / raw["seconds"], export["cpu"] / raw["cpu"]
        peak = max(export["peak_mb"] for _rows, _raw, export, _size in results)
        growth = results[-1][2]["peak_mb"] - results[0][2]["peak_mb"]
        print(
            f"time: export {ratio:.1f}x the raw read's wall time at {rows:,} rows (target <= {TIME_TARGET:.0f}x)"
            f" -> {verdict(ratio, TIME_TARGET)}; {cpu_ratio:.1f}x its busy time"
        )
        print(f"memory: peak {peak:.0f} MB (target <= {MEMORY_TARGET_MB} MB) -> {verdict(peak, MEMORY_TARGET_MB)}")
        print(
            f"memory flat: peak {round(growth):+d} MB from {results[0][0]:,} to {rows:,} rows"
            f" (target <= +{MEMORY_FLAT_MB} MB) -> {verdict(growth, MEMORY_FLAT_MB)}"
        )
        print(f"commit: {commit_describe()}; at the start: {load_at_start}; at the end: {load_describe()}")

        if args.profile:
            request_id = _request_new(large, filer="bench-profile")
            connection.close()
            profile = work / "export.prof"
            _child("export", work, "--request", str(request_id), "--profile-to", str(profile))
            _profile_print(profile, rows)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

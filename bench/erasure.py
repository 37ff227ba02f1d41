"""Erasure of many people across five sources by real Celery workers: the engine's overhead above the sources.

    .venv/bin/python bench/erasure.py [--people 1000] [--concurrency 2]
                                      [--database postgres://postgres@127.0.0.1:5432/postgres]
                                      [--broker redis://127.0.0.1:6379/9]

Five sources: the demo shop, two copies of it standing in for a CRM and a data
warehouse, the Chinook music store (all SQLite files in a temporary folder) and
an OpenGDPR ad partner served on a local port by this process. dsr's own
database is a fresh PostgreSQL database (dsr_bench_erasure_<pid>), dropped at the end.

Erasure plans are approved automatically (DSR_ERASURE_AUTO_APPROVE), so each
request runs resolve, five dry-run plans, five executions, the suppression
entry, the Art. 19 notifications and the completion email with no one waiting.

Three things are measured, each against its target (issue "Speed"):

- wall per request: --serial requests filed through the API (an
  integration's key, so they arrive verified) in this process, each once the
  last is completed; the median from the POST to the request closed as
  completed. Target: <= 0.15 s.
- busy per request: the CPU (user + system, from /proc) the worker's
  processes used while they erased --people people submitted at once,
  divided by the people; letters, emails and notifications included.
- sources alone: the same connector calls (identity resolution, consents,
  plan and execute in every source) made directly, one person after another,
  on fresh copies of the same databases: the SQL and HTTP the engine cannot
  avoid. Its wall time and this process's CPU time are printed; the CPU is
  what the busy figure is compared with (both are CPU, so a loaded machine
  moves them less than it moves wall times). Target: busy per request at
  most 100 ms above it.

With --timeline, the last timed request's jobs are printed: when each was
created, started and finished, in ms after its POST. The bulk run's wall time
(first submission to last completion) is printed too; with --kills it is what
the trials are about: nothing lost, nothing done twice.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import datetime  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import closing  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import yaml  # noqa: E402

from bench.worker import (  # noqa: E402
    admin_run,
    commit_describe,
    database_swap,
    group_cpu_seconds,
    load_describe,
    median,
    request_timeline,
    verdict,
    worker_start,
)

# Its own database per run, so two runs on one server do not drop each other's.
BENCH_DB = f"dsr_bench_erasure_{os.getpid()}"
TARGET_WALL = 0.15
TARGET_BUSY_ABOVE_SOURCES = 0.100
CHINOOK = BASE_DIR.parent / "shared" / "datasets" / "chinook" / "Chinook_Sqlite.sqlite"
SHOP_COPIES = ("crm", "warehouse")


def _processor_serve(audience: set[str]):
    """Serve the ad partner (the connector tests' OpenGDPR processor) on a free local port."""
    from tests.sources.http.processor import Processor

    state = Processor()
    state.audience |= audience
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                status, answer = state.answer(self.command, self.path, body, self.headers.get("X-OpenGDPR-Signature"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/opengdpr"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server, state


def _email_valid(email: str) -> bool:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _company_build(folder: Path, people: int, processor_url: str) -> tuple[str, list[str]]:
    """Build the five sources in ``folder``; return the data map text and the people's emails."""
    from dsr.demo.shop import shop_database_build
    from tests.rights.conftest import map_text
    from tests.sources.maps import chinook_source

    shop = folder / "shop.sqlite3"
    # A few generated addresses are not ones a request form accepts; build a margin and take the valid ones.
    shop_database_build(shop, customers=people + people // 10 + 5, seed=7)
    for copy in SHOP_COPIES:
        shutil.copyfile(shop, folder / f"{copy}.sqlite3")
    shutil.copyfile(CHINOOK, folder / "chinook.sqlite3")
    with closing(sqlite3.connect(shop)) as conn:
        emails = [row[0] for row in conn.execute("SELECT email FROM customer ORDER BY id") if _email_valid(row[0])]
    emails = emails[:people]
    document = yaml.safe_load(map_text(shop=shop, chinook=None, processor_url=processor_url))
    document["sources"].pop("chats")  # a person's task would make every request wait for a human
    for copy in SHOP_COPIES:
        source = dict(document["sources"]["shop"], name=copy.title(), recipients=[])
        source["url"] = f"sqlite:///{folder / f'{copy}.sqlite3'}"
        document["sources"][copy] = source
    document["sources"]["chinook"] = {
        **chinook_source(f"sqlite:///{folder / 'chinook.sqlite3'}", "pascal"),
        "purposes": ["purchase", "bookkeeping"],
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False), emails


def _request_wait(client, token: str, email: str, *, timeout: float, timeline: list | None = None) -> float:
    """File one erasure request through the API and return the seconds from the POST to its completion.

    With ``timeline``, append its jobs' times to it (bench.worker.request_timeline).
    """
    from dsr.models import Request, Status

    posted = datetime.datetime.now(datetime.UTC)
    response = client.post(
        "/api/v1/requests/",
        {"right": "erasure", "email": email, "language": "en"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    answered = datetime.datetime.now(datetime.UTC)
    if response.status_code != 201:
        raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")
    reference = response.json()["reference"]
    deadline = time.monotonic() + timeout
    while True:
        status, closed_at = Request.objects.values_list("status", "closed_at").get(reference=reference)
        if status == Status.COMPLETED:
            if timeline is not None:
                timeline.append(request_timeline(Request.objects.get(reference=reference), posted, answered))
            return (closed_at - posted).total_seconds()
        if time.monotonic() > deadline:
            raise SystemExit(f"{reference} not completed within {timeout:.0f} s (status {status})")
        time.sleep(0.005)


def _done_twice(processor) -> int:
    """Return how many requests, jobs or processor submissions took effect more than once."""
    from django.db.models import Count

    from dsr.models import AuditEvent

    completed = AuditEvent.objects.filter(action="request.completed").values("request").annotate(n=Count("id"))
    twice = completed.filter(n__gt=1).count()
    jobs: dict = {}
    for data in AuditEvent.objects.filter(action="job.done").values_list("data", flat=True):
        jobs[data["job"]] = jobs.get(data["job"], 0) + 1
    twice += sum(1 for n in jobs.values() if n > 1)
    posts = [call for call in processor.calls if call[0] == "POST"]
    return twice + len(posts) - len(processor.requests)


def _still_there(folder: Path, emails: list[str]) -> int:
    """Return how many rows of the shop and its copies still hold one of the erased addresses."""
    found = 0
    for name in ("shop", *SHOP_COPIES):
        with closing(sqlite3.connect(folder / f"{name}.sqlite3")) as conn:
            for start in range(0, len(emails), 500):
                chunk = emails[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found += conn.execute(f"SELECT count(*) FROM customer WHERE email IN ({marks})", chunk).fetchone()[0]
                problems = conn.execute("PRAGMA foreign_key_check").fetchall()
                found += len(problems)
    return found


def _sources_direct(text: str, emails: list[str]) -> tuple[float, float]:
    """Return the wall and CPU seconds the connector calls alone take for ``emails``, one person after another.

    The CPU is this process's, the ad partner's server thread included (a few milliseconds per person).
    """
    from dsr.datamap.parsing import datamap_parse
    from dsr.sources.registry import connector_for
    from dsr.sources.resolution import identities_resolve_detailed

    datamap = datamap_parse(text)
    connectors = [connector_for(key, datamap) for key in datamap.sources]
    started, cpu_started = time.perf_counter(), time.process_time()
    for number, email in enumerate(emails):
        identifiers = identities_resolve_detailed(connectors, {"email": {email}}).identifiers
        for connector in connectors:
            # Identity resolution also asks which consents the person gave (the Art. 19 lineage needs them).
            connector.consents_recorded(identifiers)
        for connector in connectors:
            plan = connector.erasure_plan(identifiers, reference=f"DIRECT-{number}")
            connector.erasure_execute(plan)
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000, help="people to erase (default 1,000)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases",
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9", help="a Redis URL for the bench alone")
    parser.add_argument(
        "--kills", type=int, default=0, help="SIGKILL the workers this many times at random moments (default 0)"
    )
    parser.add_argument(
        "--serial", type=int, default=20, help="requests timed one after another before the bulk run (default 20)"
    )
    parser.add_argument(
        "--timeline", action="store_true", help="print the last timed request's jobs, ms after its POST"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    args = parser.parse_args()

    print(f"commit {commit_describe()}; {load_describe()} at the start", flush=True)
    serial = 0 if args.kills else args.serial
    folder = Path(tempfile.mkdtemp(prefix="dsr-bench-erasure-"))
    env = {
        "ALLOWED_HOSTS": "testserver",
        "DSR_INTAKE_RATE_PER_IP": "100000000/hour",
        "DSR_INTAKE_RATE_PER_EMAIL": "100000000/hour",
        "DSR_INTAKE_RATE_GLOBAL": "100000000/hour",
        "DATABASE_URL": database_swap(args.database, BENCH_DB),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        # Served over plain HTTP here; HTTPS is on by default whenever DEBUG is off.
        "DSR_HTTPS": "false",
        "CELERY_BROKER_URL": args.broker,
        "DSR_VAR_DIR": str(folder / "var"),
        "DSR_OUTBOX_DIR": str(folder / "outbox"),
        "DSR_ERASURE_AUTO_APPROVE": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    if args.kills:
        # Short leases and grace, so the work of a killed worker is taken up again within seconds.
        env.update(DSR_JOB_LEASE_SECONDS="15", DSR_JOB_DISPATCH_GRACE_SECONDS="5", DSR_JOB_POLL_SECONDS="2")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from config.celery import app
    from dsr.apikeys import apikey_create
    from dsr.audit import Actor
    from dsr.datamap.loading import datamap_load
    from dsr.engine.reconcile import jobs_reconcile
    from dsr.models import ApiScope, Job, Request, Status
    from dsr.workflow import request_submit

    admin_run(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_run(args.database, f'CREATE DATABASE "{BENCH_DB}"')
    worker = None
    server = None
    try:
        call_command("migrate", verbosity=0)
        app.control.purge()
        print(f"building {args.people} people in five sources ...", flush=True)
        server, processor = _processor_serve(set())
        warm_up = 3 if serial else 0
        text, everyone = _company_build(folder / "engine", warm_up + serial + args.people, processor.url)
        processor.audience |= {hashlib.sha256(email.encode()).hexdigest() for email in everyone}
        datamap_load(text=text, loaded_by="bench")
        serial_emails, emails = everyone[: warm_up + serial], everyone[warm_up + serial :]

        worker = worker_start(args.concurrency, {**os.environ, **env})
        waits = []
        if serial:
            print(f"timing {serial} requests one after another (after {warm_up} warm-up) ...", flush=True)
            token = apikey_create(name="bench", scopes=[ApiScope.REQUESTS_CREATE], actor=Actor.system()).token
            client = Client()
            timeline = [] if args.timeline else None
            for number, email in enumerate(serial_emails):
                last = timeline if number == len(serial_emails) - 1 else None
                wait = _request_wait(client, token, email, timeout=args.timeout, timeline=last)
                if number >= warm_up:
                    waits.append(wait)
            if timeline:
                print("the last timed request (ms after its POST):\n" + "\n".join(timeline), flush=True)
        busy_seconds, busy_base = 0.0, group_cpu_seconds(worker.pid)
        started = time.perf_counter()
        bulk = [
            request_submit(right="erasure", email=email, actor=Actor.integration("bench"), pre_verified=True).request.pk
            for email in emails
        ]
        submitted = time.perf_counter() - started
        rng = random.Random(args.seed)
        kills_left, next_kill, next_reconcile = args.kills, time.perf_counter() + rng.uniform(2, 8), 0.0
        while Request.objects.filter(pk__in=bulk, status=Status.COMPLETED).count() < args.people:
            time.sleep(0.5)
            now = time.perf_counter()
            if now - started > args.timeout:
                print(f"gave up after {args.timeout:.0f} s", flush=True)
                break
            if kills_left and now >= next_kill:
                busy_seconds += group_cpu_seconds(worker.pid) - busy_base
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
                worker = worker_start(args.concurrency, {**os.environ, **env})
                busy_base = group_cpu_seconds(worker.pid)
                kills_left -= 1
                next_kill = time.perf_counter() + rng.uniform(2, 8)
            if args.kills and now >= next_reconcile:
                jobs_reconcile()  # what beat does every DSR_RECONCILE_INTERVAL_SECONDS
                next_reconcile = now + 3
            elif worker.poll() is not None:
                raise SystemExit("the worker died")
        wall = time.perf_counter() - started
        busy_seconds += group_cpu_seconds(worker.pid) - busy_base
        jobs = Job.objects.count()
        retried = Job.objects.filter(attempts__gt=1).count()
        unfinished = dict(
            Job.objects.filter(finished_at__isnull=True)
            .values("operation")
            .annotate(n=Count("id"))
            .values_list("operation", "n")
        )
        not_done = Request.objects.exclude(status=Status.COMPLETED).count()
        twice = _done_twice(processor)
        durations: dict[str, list[float]] = {}
        for operation, job_started, job_finished in Job.objects.filter(
            started_at__isnull=False, finished_at__isnull=False
        ).values_list("operation", "started_at", "finished_at"):
            durations.setdefault(operation, []).append((job_finished - job_started).total_seconds())

        print("timing the same connector calls without the engine ...", flush=True)
        direct_server, direct_processor = _processor_serve(set())
        direct_text, direct_emails = _company_build(folder / "direct", args.people, direct_processor.url)
        direct_processor.audience |= {hashlib.sha256(email.encode()).hexdigest() for email in direct_emails}
        direct, direct_cpu = _sources_direct(direct_text, direct_emails)
        direct_server.shutdown()

        busy_per = busy_seconds / args.people
        direct_per = direct_cpu / args.people
        print(f"people: {args.people} at once, one worker with {args.concurrency} processes; not completed: {not_done}")
        print(f"jobs: {jobs}, of which {retried} needed more than one run; never finished: {unfinished or 'none'}")
        print(f"worker kills: {args.kills}; lost or stuck: {not_done}; done twice: {twice}")
        print(f"shop rows still holding an erased address: {_still_there(folder / 'engine', everyone)}")
        print(f"submission: {submitted:.1f} s ({submitted / args.people * 1000:.1f} ms per request)")
        if waits:
            print(
                f"wall per request, POST to completed, one at a time: median {median(waits) * 1000:.0f} ms,"
                f" max {max(waits) * 1000:.0f} ms of {len(waits)}"
                f" (target <= {TARGET_WALL * 1000:.0f} ms: {verdict(median(waits), TARGET_WALL)})"
            )
        print(f"bulk wall: {wall:.1f} s, {args.people / wall:.1f} requests/s")
        print(
            f"sources alone: {direct:.1f} s wall, {direct / args.people * 1000:.0f} ms per request;"
            f" CPU {direct_per * 1000:.0f} ms per request"
        )
        print(
            f"worker busy CPU per request: {busy_per * 1000:.0f} ms, {(busy_per - direct_per) * 1000:.0f} ms above the"
            f" sources' own CPU (target <= {TARGET_BUSY_ABOVE_SOURCES * 1000:.0f} ms:"
            f" {verdict(busy_per - direct_per, TARGET_BUSY_ABOVE_SOURCES)})"
        )
        for operation, values in sorted(durations.items()):
            print(f"  {operation}: {len(values)} jobs, mean {sum(values) / len(values) * 1000:.0f} ms claim to result")
        print(f"{load_describe()} at the end", flush=True)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        if server is not None:
            server.shutdown()
        from django.db import connections

        connections.close_all()
        admin_run(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

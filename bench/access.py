"""Access end to end: POST /api/v1/requests/ to a completed request with its sealed bundle and PDF report.

    .venv/bin/python bench/access.py [--people 30] [--starts 3] [--concurrency 2]
                                     [--database postgres://postgres@127.0.0.1:5432/postgres]
                                     [--broker redis://127.0.0.1:6379/9]

A generated two-source shop: the demo shop and a copy of it standing in for a
CRM (SQLite files in a temporary folder), so each person has their rows in
two sources. dsr's own database is a fresh PostgreSQL database
(dsr_bench_access_<pid>), dropped at the end; the broker is Redis; one real
`celery worker` runs the work.

Each request is filed through the API (an integration's key, so it arrives
verified), in this process through Django's whole stack, and the next one only
once the last is completed: the times are one person's wait, not throughput.
Measured per request, medians over --people requests after three warm-up ones:

- collected: from the POST to the last source's data collected (the jobs' own
  finish times);
- completed: from the POST to the request closed as completed, its bundle
  sealed with the PDF report in it (checked for every request);
- busy: the CPU the worker's processes used (user + system, from /proc)
  during the timed requests, divided by their number.

Then --starts times: the worker is stopped, a new one started, and one
request timed; the first request after a start is compared with a warm one.
--timeline prints, for the last warm request and each first one, when each
of its jobs was created, started and finished (ms after the POST).

Targets (issue "Speed"): completed <= 0.2 s, collected <= 0.1 s, the first
request after a worker start within 1.5x a warm one.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import datetime  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import closing  # noqa: E402

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
BENCH_DB = f"dsr_bench_access_{os.getpid()}"
TARGET_COMPLETED = 0.2
TARGET_COLLECTED = 0.1
TARGET_FIRST = 1.5


def _company_build(folder: Path, people: int) -> tuple[str, list[str]]:
    """Build the shop and its CRM copy in ``folder``; return the data map text and the people's emails."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from dsr.demo.shop import shop_database_build
    from tests.rights.conftest import map_document

    shop = folder / "shop.sqlite3"
    shop_database_build(shop, customers=people + people // 10 + 10, seed=11)
    shutil.copyfile(shop, folder / "crm.sqlite3")
    emails = []
    with closing(sqlite3.connect(shop)) as conn:
        for (email,) in conn.execute("SELECT email FROM customer ORDER BY id"):
            try:
                validate_email(email)
            except ValidationError:
                continue  # a few generated addresses are not ones the API accepts
            emails.append(email)
    document = map_document(shop=shop, chinook=None, processor_url="http://127.0.0.1:9/unused")
    for key in ("chats", "adpartner"):  # two sources only: the shop and its copy
        document["sources"].pop(key)
    document["sources"]["crm"] = dict(
        document["sources"]["shop"], name="CRM", recipients=[], url=f"sqlite:///{folder / 'crm.sqlite3'}"
    )
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False), emails


def _request_time(
    client, token: str, email: str, *, timeout: float = 120, timeline: list | None = None
) -> tuple[float, float, int]:
    """File one access request and wait for it; return seconds to collected and to completed, and its rows.

    With ``timeline``, append the request's jobs' times to it (``_timeline``).
    """
    from django.db.models import Max

    from dsr.models import BundleStatus, Job, Operation, Request, Status

    posted = datetime.datetime.now(datetime.UTC)
    response = client.post(
        "/api/v1/requests/",
        {"right": "access", "email": email, "language": "en"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    if response.status_code != 201:
        raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")
    reference = response.json()["reference"]
    deadline = time.monotonic() + timeout
    while True:
        request = Request.objects.filter(reference=reference).only("status", "closed_at", "reference").get()
        if request.status == Status.COMPLETED:
            break
        if request.status in (Status.PARTIALLY_COMPLETED, Status.REFUSED, Status.CANCELLED, Status.NEEDS_ATTENTION):
            raise SystemExit(f"{reference} ended {request.status}, not completed")
        if time.monotonic() > deadline:
            raise SystemExit(f"{reference} not completed within {timeout:.0f} s (status {request.status})")
        time.sleep(0.005)
    bundle = request.bundles.get()
    if bundle.status != BundleStatus.RELEASED or not bundle.sha256:
        raise SystemExit(f"{reference}: completed without a sealed bundle ({bundle.status})")
    if not any(entry["path"].rsplit("/", 1)[-1] == "report.pdf" for entry in bundle.manifest):
        raise SystemExit(f"{reference}: the bundle has no PDF report")
    if timeline is not None:
        timeline.append(request_timeline(request, posted))
    access_jobs = Job.objects.filter(request=request, operation=Operation.ACCESS)
    collected = access_jobs.aggregate(last=Max("finished_at"))["last"]
    rows = sum(sum(job_counts.values()) for job_counts in access_jobs.values_list("counts", flat=True))
    return (collected - posted).total_seconds(), (request.closed_at - posted).total_seconds(), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30, help="timed requests, one after another (default 30)")
    parser.add_argument("--starts", type=int, default=3, help="worker starts to time a first request after")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--timeline", action="store_true", help="print the last warm and every first request's jobs, ms after the POST"
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases",
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/9", help="a Redis URL for the bench alone")
    args = parser.parse_args()

    print(f"commit {commit_describe()}; {load_describe()} at the start", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="dsr-bench-access-"))
    env = {
        "DATABASE_URL": database_swap(args.database, BENCH_DB),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        # Served over plain HTTP here; HTTPS is on by default whenever DEBUG is off.
        "DSR_HTTPS": "false",
        "ALLOWED_HOSTS": "testserver",
        "CELERY_BROKER_URL": args.broker,
        "DSR_VAR_DIR": str(folder / "var"),
        "DSR_OUTBOX_DIR": str(folder / "outbox"),
        "DSR_INTAKE_RATE_PER_IP": "100000000/hour",
        "DSR_INTAKE_RATE_PER_EMAIL": "100000000/hour",
        "DSR_INTAKE_RATE_GLOBAL": "100000000/hour",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from config.celery import app
    from dsr.apikeys import apikey_create
    from dsr.audit import Actor
    from dsr.datamap.loading import datamap_load
    from dsr.models import ApiScope

    admin_run(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_run(args.database, f'CREATE DATABASE "{BENCH_DB}"')
    worker = None
    try:
        call_command("migrate", verbosity=0)
        app.control.purge()
        needed = 3 + args.people + args.starts
        text, emails = _company_build(folder, needed)
        if len(emails) < needed:
            raise SystemExit(f"the shop has {len(emails)} usable addresses, {needed} needed")
        datamap_load(text=text, loaded_by="bench")
        token = apikey_create(name="bench", scopes=[ApiScope.REQUESTS_CREATE], actor=Actor.system()).token
        client = Client()
        people = iter(emails)

        worker = worker_start(args.concurrency, {**os.environ, **env})
        for _ in range(3):
            _request_time(client, token, next(people))
        collected, completed, rows = [], [], []
        busy_before = group_cpu_seconds(worker.pid)
        timeline = [] if args.timeline else None
        for number in range(args.people):
            last = timeline if number == args.people - 1 else None
            seconds_collected, seconds_completed, person_rows = _request_time(
                client, token, next(people), timeline=last
            )
            collected.append(seconds_collected)
            completed.append(seconds_completed)
            rows.append(person_rows)
        busy = (group_cpu_seconds(worker.pid) - busy_before) / args.people

        firsts = []
        for _ in range(args.starts):
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
            worker = worker_start(args.concurrency, {**os.environ, **env})
            firsts.append(_request_time(client, token, next(people), timeline=timeline)[1])

        warm = median(completed)
        first = median(firsts) if firsts else None
        print(f"requests timed: {args.people} (after 3 warm-up), one worker with {args.concurrency} processes")
        print(f"rows per person in the two sources: median {median(rows):.0f} (min {min(rows)}, max {max(rows)})")
        print(
            f"POST to data collected: median {median(collected) * 1000:.0f} ms, max {max(collected) * 1000:.0f} ms"
            f" (target <= {TARGET_COLLECTED * 1000:.0f} ms: {verdict(median(collected), TARGET_COLLECTED)})"
        )
        print(
            f"POST to completed (sealed bundle, PDF): median {warm * 1000:.0f} ms, max {max(completed) * 1000:.0f} ms"
            f" (target <= {TARGET_COMPLETED * 1000:.0f} ms: {verdict(warm, TARGET_COMPLETED)})"
        )
        print(f"worker busy CPU per request: {busy * 1000:.0f} ms (no target; wall above is what the person waits)")
        if first is not None:
            ratio = first / warm
            print(
                f"first request after a worker start: median {first * 1000:.0f} ms of {args.starts}"
                f" ({', '.join(f'{s * 1000:.0f}' for s in firsts)}), {ratio:.2f}x a warm one"
                f" (target <= {TARGET_FIRST}x: {verdict(ratio, TARGET_FIRST)})"
            )
        if timeline:
            print("the last warm request, then each first request after a start (ms after the POST):")
            print("\n".join(timeline))
        print(f"{load_describe()} at the end", flush=True)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
        from django.db import connections

        connections.close_all()
        admin_run(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

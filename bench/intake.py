"""Intake throughput: POST /api/v1/requests/ against a bare Django view that inserts one row.

Target (PRODUCT.md): the intake API reaches at least half the throughput of the
bare view, on PostgreSQL. Both run in this process through Django's full
middleware stack (WSGI handler, no network), serially, so the ratio measures
what dsr adds: validation, the request row, its clock stop, the verification
challenge, the audit chain append, the message record and its "go" signal.

    .venv/bin/python bench/intake.py [--requests 1000] [--database postgres://postgres@127.0.0.1:5432/postgres]
        [--statements] [--profile] [--submit] [--ceilings] [--datamap]

--statements times each statement shape the filings send (per filing); --profile runs the intake side under
cProfile and prints its top entries (the throughput then includes the profiler's overhead). --datamap loads the
demo data map first (dsr/demo/datamap.yaml), as a deployment always has one: the filing's jurisdiction check
reads it. --submit also times request_submit alone, called in a loop (no HTTP, no DRF): the filing's own cost.

A third side, "drf", is the intake's own DRF view (its authentication, throttle and serializer) storing one
row like the bare view: the ratio no filing through DRF can exceed, whatever it writes.

--ceilings adds two sides that bound what a different design could reach, each short of something the intake
must do, so neither is a way to file:
- "no-drf": a plain Django view (JSON in, the same three rate limits, request_submit, JSON out) without DRF's
  request, authentication, serializer and renderer: the whole filing without the API framework;
- "request-row": the intake's DRF view validating as it does and storing the request row alone, prepared as
  the filing prepares it and inserted by one statement (jsonb_populate_record): the least a filing that keeps
  the request in the register from the moment it is filed could write (a one-row outbox; no clock stop,
  challenge, code, audit event or "go" signal).

Besides the throughput (wall time, serially), each side prints its busy CPU per request, apart: this
process's (the client, Django and dsr) and the database server's backend process's (from /proc).

It creates and drops its own database (dsr_bench_intake) on that server.
The broker is Redis when CELERY_BROKER_URL says so (as in production), else the
filesystem broker; no worker runs, so messages only queue up. The rate limits count in the cache CACHE_URL names:
Redis as in production (CACHE_URL=redis://127.0.0.1:6379/6), else local memory.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.statements import statements_timed  # noqa: E402
from bench.worker import commit_describe, load_describe  # noqa: E402

BENCH_DB = "dsr_bench_intake"
PROFILE_TOP = 35
STATEMENT_SHAPE = 100


def _backend_cpu_seconds(pid: int) -> float:
    """Return the CPU seconds (user + system) the database server's process ``pid`` has used, 0 if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database_swap(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _database_recreate(admin_url: str) -> None:
    import psycopg

    dsn = admin_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _database_drop(admin_url: str) -> None:
    import psycopg

    dsn = admin_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _costs(connection, count: int, once) -> tuple[float, float, float]:
    """Call ``once(i)`` for i in range(count); return the wall time, this process's and the database's busy time.

    Per call, in milliseconds; the database's from its backend process's CPU (/proc).
    """
    backend = connection.connection.info.backend_pid
    backend_started = _backend_cpu_seconds(backend)
    busy_started = time.process_time()
    started = time.perf_counter()
    for i in range(count):
        once(i)
    wall = time.perf_counter() - started
    busy = time.process_time() - busy_started
    database = _backend_cpu_seconds(backend) - backend_started
    return wall / count * 1000, busy / count * 1000, database / count * 1000


def _submit_alone(count: int, connection) -> None:
    """Print what request_submit alone costs per filing: wall time, busy time here and in the database."""
    from dsr.audit import Actor
    from dsr.workflow import request_submit

    def submit(i: int, prefix: str = "submit") -> None:
        request_submit(right="access", email=f"{prefix}{i}@example.dk", actor=Actor.subject())

    for i in range(20):
        submit(i, "submit-warm")
    wall, busy, database = _costs(connection, count, submit)
    print(f"request_submit alone: per filing {wall:.2f} ms wall, busy {busy:.2f} ms here + {database:.2f} ms database")


def _ceiling_views():
    """Return the no-drf and request-row sides' views (see the docstring); after django.setup()."""
    import json

    from django.conf import settings
    from django.db import connection
    from django.http import JsonResponse
    from django.utils import timezone
    from django.views.decorators.csrf import csrf_exempt
    from rest_framework.response import Response

    from dsr.api.serializers import RequestCreateSerializer
    from dsr.api.views import RequestsView
    from dsr.audit import Actor
    from dsr.models import Channel, Request
    from dsr.ratelimit import client_ip, rate_limits_wait
    from dsr.workflow import request_submit
    from dsr.workflow.filing import _submission_prepare
    from dsr.workflow.filing_sql import _record

    @csrf_exempt
    def no_drf(request):
        body = json.loads(request.body)
        limits = [
            ("intake-ip", client_ip(request), settings.DSR_INTAKE_RATE_PER_IP),
            ("intake-email", body["email"].strip().lower(), settings.DSR_INTAKE_RATE_PER_EMAIL),
            ("intake-all", "all", settings.DSR_INTAKE_RATE_GLOBAL),
        ]
        if rate_limits_wait(limits):
            return JsonResponse({"error": {"code": "throttled"}}, status=429)
        result = request_submit(right=body["right"], email=body["email"], channel=Channel.API, actor=Actor.subject())
        return JsonResponse({"reference": result.request.reference, "status_token": result.status_token}, status=201)

    table = Request._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
    # Prepared once per connection, as the filing's own statement is.
    insert = (
        f"INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, "
        f"%s::jsonb || jsonb_build_object('id', nextval('{sequence}')))"
    )

    class RequestRow(RequestsView):
        def post(self, request):
            serializer = RequestCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            prepared = _submission_prepare(
                **{name: data[name] for name in ("right", "email", "name", "phone", "customer_number")},
                **{name: data[name] for name in ("language", "details", "jurisdiction")},
                channel=Channel.API,
                received_at=None,
                identity_checked="",
                email_confirmed="",
                idempotency_key=None,
                now=timezone.now(),
            )
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                cursor.execute(insert, [_record(prepared)], prepare=True)
            return Response({"reference": prepared.reference}, status=201)

    return no_drf, RequestRow.as_view()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per side (default 1000)")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the intake side (cProfile) and print its top entries"
    )
    parser.add_argument(
        "--statements", action="store_true", help="count the intake side's statements and their time per filing"
    )
    parser.add_argument("--datamap", action="store_true", help="load the demo data map before filing")
    parser.add_argument(
        "--submit", action="store_true", help="also time request_submit alone (no HTTP, no DRF) as many times"
    )
    parser.add_argument(
        "--ceilings", action="store_true", help="also time the no-drf and request-row sides (see the docstring)"
    )
    args = parser.parse_args()

    _database_recreate(args.database)
    os.environ["DATABASE_URL"] = _database_swap(args.database, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DSR_INTAKE_RATE_PER_IP"] = "100000000/hour"
    os.environ["DSR_INTAKE_RATE_PER_EMAIL"] = "100000000/hour"
    os.environ["DSR_INTAKE_RATE_GLOBAL"] = "100000000/hour"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # Served over plain HTTP here; HTTPS is on by default whenever DEBUG is off.
    os.environ["DSR_HTTPS"] = "false"
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.http import JsonResponse
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    try:
        call_command("migrate", verbosity=0)
        if args.datamap:
            from dsr.datamap.loading import datamap_load

            datamap_path = BASE_DIR / "dsr" / "demo" / "datamap.yaml"
            datamap_load(text=datamap_path.read_text(), loaded_by="bench", source_path=str(datamap_path))
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_row (id bigserial PRIMARY KEY, email text, right_kind text, at timestamptz)"
            )

        @csrf_exempt
        def bare_insert(request):
            import json

            body = json.loads(request.body)
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_row (email, right_kind, at) VALUES (%s, %s, now()) RETURNING id",
                    [body["email"], body["right"]],
                )
                row_id = cursor.fetchone()[0]
            return JsonResponse({"id": row_id}, status=201)

        from rest_framework.response import Response

        from dsr.api.serializers import RequestCreateSerializer
        from dsr.api.views import RequestsView

        class DrfInsert(RequestsView):
            """The intake's own DRF view (its authentication, throttle and serializer), storing one row."""

            def post(self, request):
                serializer = RequestCreateSerializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                with connection.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO bench_row (email, right_kind, at) VALUES (%s, %s, now()) RETURNING id",
                        [serializer.validated_data["email"], serializer.validated_data["right"]],
                    )
                    row_id = cursor.fetchone()[0]
                return Response({"id": row_id}, status=201)

        urls = type(sys)("bench_urls")
        urls.urlpatterns = [path("bare/", bare_insert), path("drf/", DrfInsert.as_view())]
        if args.ceilings:
            no_drf, request_row = _ceiling_views()
            urls.urlpatterns += [path("no-drf/", no_drf), path("request-row/", request_row)]
        urls.urlpatterns.append(path("", include(settings.ROOT_URLCONF)))
        sys.modules["bench_urls"] = urls

        with override_settings(ROOT_URLCONF="bench_urls"):
            client = Client()

            def run(url: str, label: str) -> float:
                # Warm up: connections, caches, first-import costs.
                for i in range(20):
                    client.post(
                        url, {"right": "access", "email": f"warm{i}@example.dk"}, content_type="application/json"
                    )

                def post(i: int) -> None:
                    response = client.post(
                        url, {"right": "access", "email": f"{label}{i}@example.dk"}, content_type="application/json"
                    )
                    if response.status_code != 201:
                        raise SystemExit(f"{label}: HTTP {response.status_code}: {response.content[:200]!r}")

                wall, busy, database = _costs(connection, args.requests, post)
                print(f"{label}: per request {wall:.2f} ms wall, busy {busy:.2f} ms here + {database:.2f} ms database")
                return 1000 / wall

            bare = run("/bare/", "bare")
            drf = run("/drf/", "drf")
            ceilings = {label: run(f"/{label}/", label) for label in ("no-drf", "request-row")} if args.ceilings else {}
            if args.submit:
                # Before the intake side's profiler and statement timer, which would time these filings too.
                _submit_alone(args.requests, connection)
            profiler = cProfile.Profile() if args.profile else None
            timed = statements_timed(connection, shape_length=STATEMENT_SHAPE) if args.statements else None
            if profiler:
                profiler.enable()
            intake = run("/api/v1/requests/", "intake")
            if profiler:
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(PROFILE_TOP)
                stats.sort_stats("tottime").print_stats(PROFILE_TOP)
            if timed is not None:
                filings = args.requests + 20
                print(f"statements per filing: {sum(n for n, _ in timed.values()) / filings:.1f}")
                for shape, (count, seconds) in sorted(timed.items(), key=lambda item: -item[1][1]):
                    print(f"{seconds / filings * 1000:7.3f} ms {count / filings:5.2f}x  {shape}")
        ratio = intake / bare
        print(
            f"database: PostgreSQL {connection.pg_version // 10000}, "
            f"broker: {settings.CELERY_BROKER_URL.split(':')[0]}, "
            f"cache (the rate limits' counters): {settings.CACHES['default']['BACKEND'].rsplit('.', 2)[-2]}"
        )
        print(f"commit: {commit_describe()}; {load_describe()}")
        print(f"requests per side: {args.requests}, data map: {'demo' if args.datamap else 'none'}")
        print(f"bare view (one INSERT):  {bare:8.1f} req/s")
        print(f"DRF view (one INSERT):   {drf:8.1f} req/s  (the intake's view, serializer and throttle storing one")
        print(f"                                     row; ratio {drf / bare:.2f}: what no DRF filing can exceed)")
        for label, rate in ceilings.items():
            print(f"{label + ' side:':25}{rate:8.1f} req/s  (ratio {rate / bare:.2f}; a bound, not a filing)")
        print(f"intake API:              {intake:8.1f} req/s")
        print(f"ratio: {ratio:.2f} (target >= 0.50) -> {'PASS' if ratio >= 0.5 else 'FAIL'}")
    finally:
        connection.close()
        _database_drop(args.database)


if __name__ == "__main__":
    main()

"""The staff queue at 1,000,000 requests: p95 of the queue page, per filter, on PostgreSQL.

Target (PRODUCT.md): p95 <= 150 ms with 1,000,000 requests. Each page is fetched
through Django's full stack in this process (WSGI handler, sessions, the two-factor
check, the template), logged in as a privacy agent, so the time is what a team
member waits for minus the network.

    .venv/bin/python bench/queue_page.py [--requests 1000000] [--open 60000] [--repeat 100]
                                    [--database postgres://postgres@127.0.0.1:5432/postgres]

It creates and drops its own database (dsr_bench_queue) on that server. Rows are
written with one INSERT ... SELECT over generate_series: requests received over
four years, most of them closed, `--open` of them open (spread over the open
statuses, half assigned), a few extended.
"""

import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path and would shadow the standard library's `queue`.
sys.path[0] = str(BASE_DIR)

import argparse  # noqa: E402
import html  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from urllib.parse import parse_qs, urlsplit, urlunsplit  # noqa: E402

BENCH_DB = "dsr_bench_queue"

OPEN = ("pending_verification", "in_progress", "awaiting_subject", "awaiting_approval", "needs_attention")
CLOSED = ("completed", "completed", "completed", "partially_completed", "refused", "cancelled", "expired")
RIGHTS = ("access", "portability", "erasure", "rectification", "restriction", "objection", "consent_withdrawal")

# Rows: g in 1..N, in order of arrival as a real table fills up: the oldest request first, received over
# four years; the newest `open` requests are the open ones, received within the last seven weeks (so some
# are overdue), spread over the open statuses, half of them assigned; one in 31 extended.
FILL_SQL = """
INSERT INTO dsr_request (
    reference, "right", status, email, name, phone, customer_number, language, details, channel,
    received_at, created_at, updated_at, identity_level, identity_required, verified_at, verification_method,
    due_date, extended_due_date, extended_at, extension_reasons, suspended_days,
    closed_at, outcome_reasons, refusal_ground, purged_at, assignee_id, status_salt, idempotency_key
)
SELECT
    'DSR-' || upper(lpad(to_hex(g), 16, '0')),
    (%(rights)s::text[])[1 + g %% 7],
    CASE WHEN is_open THEN (%(open)s::text[])[1 + g %% 5] ELSE (%(closed)s::text[])[1 + (g / 7) %% 7] END,
    'person' || g || '@example.dk', '', '', '', 'da', '{}'::jsonb, 'web',
    received, received, received, 1, 1, received, 'email_code',
    (received + interval '1 month')::date,
    CASE WHEN g %% 31 = 0 THEN (received + interval '3 months')::date END,
    CASE WHEN g %% 31 = 0 THEN received + interval '10 days' END,
    '', 0,
    CASE WHEN is_open THEN NULL ELSE received + ((g %% 40) || ' days')::interval END,
    '', '', NULL,
    CASE WHEN is_open AND g %% 2 = 0 THEN (%(assignees)s::bigint[])[1 + (g / 2) %% %(assignee_count)s] END,
    md5(g::text), NULL
FROM (
    SELECT g,
           g > %(n)s - %(open_count)s AS is_open,
           CASE WHEN g > %(n)s - %(open_count)s
                THEN now() - make_interval(secs => (%(n)s - g)::float8 / %(open_count)s * 50 * 86400)
                ELSE now() - interval '50 days' - make_interval(secs => (%(n)s - g)::float8 / %(n)s * 1460 * 86400)
           END AS received
    FROM generate_series(1, %(n)s) AS g
) AS rows
"""


def _database_swap(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests in the table (default 1,000,000)")
    parser.add_argument("--open", type=int, default=60_000, help="of which open (default 60,000)")
    parser.add_argument("--repeat", type=int, default=100, help="timed fetches per scenario (default 100)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards, to EXPLAIN queries")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases",
    )
    args = parser.parse_args()

    _admin(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    _admin(args.database, f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = _database_swap(args.database, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DEBUG"] = "false"
    # Served over plain HTTP here; HTTPS is on by default whenever DEBUG is off.
    os.environ["DSR_HTTPS"] = "false"

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from dsr.models import Request
    from dsr.roles import PRIVACY_AGENT, roles_sync, user_role_set

    try:
        call_command("migrate", verbosity=0)
        roles_sync()
        users = []
        for i in range(10):
            user = get_user_model().objects.create_user(f"agent{i}")
            user_role_set(user=user, role=PRIVACY_AGENT)
            users.append(user)
        me = users[0]
        device = TOTPDevice.objects.create(user=me, name="bench", confirmed=True)

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                FILL_SQL,
                {
                    "n": args.requests,
                    "open_count": args.open,
                    "rights": list(RIGHTS),
                    "open": list(OPEN),
                    "closed": list(CLOSED),
                    "assignees": [u.pk for u in users],
                    "assignee_count": len(users),
                },
            )
        # As autovacuum would have by now: statistics, and the visibility map that index-only scans need.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE dsr_request")
        filled = time.perf_counter() - started
        total = Request.objects.count()
        open_count = Request.objects.filter(status__in=OPEN).count()
        sample = Request.objects.filter(status="in_progress").order_by("id").first()

        client = Client()
        client.force_login(me)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

        def next_cursor(response) -> str:
            # The page's own "next" link, as a person would follow it (no test instrumentation here).
            query = re.search(r'href="\?([^"]*)" rel="next"', response.content.decode()).group(1)
            return parse_qs(html.unescape(query))["after"][0]

        cursor_deep = next_cursor(client.get("/dashboard/"))
        for _ in range(20):  # twenty pages in
            cursor_deep = next_cursor(client.get("/dashboard/", {"after": cursor_deep}))
        scenarios = {
            "open, first page, counts not cached": {"_fresh": True},
            "open, first page": {},
            "open, page 21 (keyset)": {"after": cursor_deep},
            "right = erasure": {"right": "erasure"},
            "assigned to me": {"assignee": str(me.pk)},
            "unassigned": {"assignee": "none"},
            "overdue": {"overdue": "on"},
            "clock stopped": {"stopped": "on"},
            "needs attention": {"attention": "on"},
            "received in one month": {"received_from": "2026-10-01", "received_to": "2026-10-31"},
            "search by reference": {"q": sample.reference},
            "search by email": {"q": sample.email},
            "status = completed (closed)": {"status": "completed"},
            "status = expired, right = objection": {"status": "expired", "right": "objection"},
        }
        print(f"database: PostgreSQL {connection.pg_version // 10000}")
        print(f"requests: {total:,} ({open_count:,} open), filled in {filled:.1f} s")
        print(f"fetches per scenario: {args.repeat} (after 5 warm-up fetches)")
        print(f"{'scenario':38} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'queries':>7} {'rows':>5}")

        sql_time = [0.0, 0]

        def timed(execute, sql, params, many, context):
            begin = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                sql_time[0] += time.perf_counter() - begin
                sql_time[1] += 1

        worst = 0.0
        for name, params in scenarios.items():
            fresh = params.pop("_fresh", False)
            for _ in range(5):
                client.get("/dashboard/", params)
            timings, sql_timings = [], []
            rows = queries = 0
            for _ in range(args.repeat):
                if fresh:
                    cache.clear()  # as if no colleague had opened the queue in the last seconds
                sql_time[:] = [0.0, 0]
                begin = time.perf_counter()
                with connection.execute_wrapper(timed):
                    response = client.get("/dashboard/", params)
                timings.append((time.perf_counter() - begin) * 1000)
                sql_timings.append(sql_time[0] * 1000)
                queries = sql_time[1]
                if response.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {response.status_code}")
                rows = response.content.count(b"data-reference=")
            p95 = _percentile(timings, 0.95)
            worst = max(worst, p95)
            print(
                f"{name:38} {statistics.median(timings):8.1f} {p95:8.1f} "
                f"{statistics.median(sql_timings):8.1f} {queries:7d} {rows:5d}"
            )
        print(f"worst p95: {worst:.1f} ms (target <= 150) -> {'PASS' if worst <= 150 else 'FAIL'}")
    finally:
        connection.close()
        if not args.keep:
            _admin(args.database, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()

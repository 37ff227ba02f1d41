"""A retention sweep of a shop on PostgreSQL, run by a real Celery worker that is SIGKILLed mid-sweep.

The shop is the demo's (1,500 customers, about a hundred 36 months past deactivation), copied row for row
into a throwaway PostgreSQL database, swept one person a batch so the kill lands mid-sweep. On PostgreSQL the
keyed hashes and linked rows are worked out by the server, so this is the sweep's other code path: it must
resume as the SQLite one does, with every person swept once and every foreign key whole.
"""

import re
import signal

import pytest
import sqlalchemy as sa

from dsr import tasks
from dsr.datamap.loading import datamap_load
from dsr.demo.shop import SCHEMA, shop_database_build
from dsr.models import AuditAction, AuditEvent, RetentionSweep, SweepBatch
from dsr.sources.sql import engines_dispose
from dsr.sweeps import counts_totals, sweep_approve, sweep_plan
from tests.sources.conftest import postgres_database  # noqa: F401  (fixture, reused)
from tests.sweeps.conftest import map_text

# The demo shop's tables in an order that satisfies their foreign keys, and the columns SQLite keeps as 0/1.
TABLES = [name for name in re.findall(r"CREATE TABLE (\w+)", SCHEMA)]
BOOLEANS = {"processing_restricted", "granted"}


def _postgres_schema() -> list[str]:
    script = SCHEMA.replace("PRAGMA foreign_keys = ON;", "").replace("BOOLEAN NOT NULL DEFAULT 0", "BOOLEAN NOT NULL")
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _copy(sqlite_path, postgres_url: str) -> None:
    """Fill a fresh PostgreSQL database with the shop's schema and every row of the SQLite file."""
    source = sa.create_engine(f"sqlite:///{sqlite_path}")
    target = sa.create_engine(postgres_url)
    try:
        with source.connect() as read, target.begin() as write:
            for statement in _postgres_schema():
                write.exec_driver_sql(statement)
            for table in TABLES:
                result = read.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608  (the schema's own names)
                columns = list(result.keys())
                rows = [
                    {
                        column: bool(value) if column in BOOLEANS else value
                        for column, value in zip(columns, row, strict=True)
                    }
                    for row in result
                ]
                if rows:
                    marks = ", ".join(f":{column}" for column in columns)
                    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                    write.execute(sa.text(insert), rows)
    finally:
        source.dispose()
        target.dispose()


def _rows(url: str, sql: str, **params) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture
def postgres_shop(transactional_db, tmp_path, postgres_database):
    url = postgres_database[0]
    sqlite_path = tmp_path / "shop.sqlite3"
    shop_database_build(sqlite_path, customers=1500, seed=11)
    _copy(sqlite_path, url)
    datamap_load(text=map_text(url), loaded_by="test")
    yield url
    engines_dispose()


def test_a_sweep_of_a_postgres_shop_killed_mid_way_resumes_and_sweeps_everyone_once(
    postgres_shop, celery_worker_process, wait_until
):
    worker = celery_worker_process
    worker.env["DSR_SWEEP_BATCH_SIZE"] = "1"
    worker.restart()
    dry = sweep_plan("purpose:purchase")
    people = dry.report["sources"][0]["targets"][0]["people"]
    assert people > 50
    addresses = {t["table"]: t for t in dry.report["sources"][0]["targets"][0]["tables"]}["address"]["rows"]
    day = dry.as_of.replace(year=dry.as_of.year - 3).isoformat()  # 36 months before the sweep's day
    expired = "SELECT id FROM customer WHERE deactivated_at < CAST(:day AS timestamp) ORDER BY id"
    expired_ids = [row[0] for row in _rows(postgres_shop, expired, day=day)]
    assert len(expired_ids) == people
    others_before = _rows(
        postgres_shop,
        "SELECT id, first_name, email, phone FROM customer WHERE NOT (id = ANY(:ids)) ORDER BY id",
        ids=expired_ids,
    )

    sweep_approve(dry)  # the worker gets the task
    wait_until(
        lambda: SweepBatch.objects.filter(sweep=dry, done=True).count() >= 5, timeout=120, what="five batches done"
    )
    worker.kill(signal.SIGKILL)
    done_at_kill = SweepBatch.objects.filter(sweep=dry, done=True).count()
    assert done_at_kill < people, "the sweep ended before the kill"
    assert RetentionSweep.objects.get(pk=dry.pk).status == "running"

    worker.start()
    # Started again as an admin would, while the unacknowledged message may also come back by itself.
    tasks.retention_sweep_run.delay(dry.pk)
    wait_until(
        lambda: RetentionSweep.objects.get(pk=dry.pk).status == "done", timeout=240, what="the sweep resumed to its end"
    )

    sweep = RetentionSweep.objects.get(pk=dry.pk)
    batches = list(SweepBatch.objects.filter(sweep=sweep).order_by("number"))
    assert [batch.number for batch in batches] == list(range(1, len(batches) + 1))
    assert all(batch.done and batch.keys == [] for batch in batches)
    last_keys = [batch.last_key for batch in batches]
    assert last_keys == sorted(set(last_keys))  # each person in exactly one batch
    totals = counts_totals(sweep.counts)
    assert totals["people"] == people
    assert totals["anonymised"] == people
    assert sweep.counts["shop"]["tables"]["address"]["deleted"] == addresses

    # The shop, read with SQL of the test's own: every expired customer anonymised and their addresses gone,
    # everyone else as they were, and every foreign key still pointing at a row.
    assert _rows(
        postgres_shop, "SELECT count(*) FROM customer WHERE phone IS NOT NULL AND id = ANY(:ids)", ids=expired_ids
    ) == [(0,)]
    assert _rows(postgres_shop, "SELECT count(*) FROM address WHERE customer_id = ANY(:ids)", ids=expired_ids) == [(0,)]
    assert (
        _rows(
            postgres_shop,
            "SELECT id, first_name, email, phone FROM customer WHERE NOT (id = ANY(:ids)) ORDER BY id",
            ids=expired_ids,
        )
        == others_before
    )
    emails = _rows(
        postgres_shop, "SELECT count(DISTINCT email), count(*) FROM customer WHERE id = ANY(:ids)", ids=expired_ids
    )
    assert emails == [(people, people)]  # each hashed e-mail unique, as the column demands
    assert AuditEvent.objects.filter(action=AuditAction.SWEEP_DONE).count() == 1

"""Retention sweeps run by a real Celery worker, killed with SIGKILL mid-sweep and restarted.

The shop is the demo's, larger (about a hundred customers 36 months past deactivation), swept one
person a batch so the kill lands mid-sweep. Whatever the kill interrupts, the sweep resumes and ends
with every person swept once: each batch is one transaction in the shop and recorded before and after.
"""

import signal
import sqlite3
from contextlib import closing

import pytest

from dsr import tasks
from dsr.datamap.loading import datamap_load
from dsr.demo.shop import shop_database_build
from dsr.models import AuditAction, AuditEvent, RetentionSweep, SweepBatch
from dsr.sweeps import counts_totals, sweep_approve, sweep_plan
from tests.sweeps.conftest import map_text


def _rows(path, sql: str, **params) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def big_shop(transactional_db, tmp_path):
    path = tmp_path / "shop.sqlite3"
    shop_database_build(path, customers=1500, seed=11)
    datamap_load(text=map_text(f"sqlite:///{path}"), loaded_by="test")
    return path


def test_a_sweep_killed_mid_way_resumes_and_sweeps_everyone_once(big_shop, celery_worker_process, wait_until):
    worker = celery_worker_process
    worker.env["DSR_SWEEP_BATCH_SIZE"] = "1"
    worker.restart()
    dry = sweep_plan("purpose:purchase")
    people = dry.report["sources"][0]["targets"][0]["people"]
    assert people > 50
    addresses = {t["table"]: t for t in dry.report["sources"][0]["targets"][0]["tables"]}["address"]["rows"]

    sweep_approve(dry)  # the worker gets the task
    wait_until(
        lambda: SweepBatch.objects.filter(sweep=dry, done=True).count() >= 5, timeout=120, what="five batches done"
    )
    worker.kill(signal.SIGKILL)
    done_at_kill = SweepBatch.objects.filter(sweep=dry, done=True).count()
    assert done_at_kill < people, "the sweep ended before the kill"
    assert RetentionSweep.objects.get(pk=dry.pk).status == "running"

    worker.start()
    # The message may come back by itself (acks late); the sweep is also started again, as an admin would:
    # two runners of one sweep must still sweep everyone once.
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
    # The shop: every expired customer anonymised, their addresses gone, and its foreign keys whole.
    untouched = "SELECT count(*) FROM customer WHERE phone IS NOT NULL AND deactivated_at < :day"
    day = sweep.as_of.replace(year=sweep.as_of.year - 3).isoformat()  # 36 months before the sweep's day
    assert _rows(big_shop, untouched, day=day) == [(0,)]
    assert _rows(big_shop, "PRAGMA foreign_key_check") == []
    assert AuditEvent.objects.filter(action=AuditAction.SWEEP_DONE).count() == 1

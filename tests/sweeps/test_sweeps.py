"""Retention sweeps on the demo shop (SQLite): the dry run, the execution, holds, restrictions and failures."""

import sqlite3
from contextlib import closing
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from dsr import sweeps
from dsr.audit import Actor, audit_chain_verify
from dsr.datamap.loading import datamap_load
from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid
from dsr.models import AuditAction, AuditEvent, Restriction, RetentionSweep, SweepBatch, SweepRuleSetting
from dsr.suppression import identifier_digest
from dsr.sweeps import SweepRefused, counts_totals, report_totals, sweep_approve, sweep_plan, sweep_run
from dsr.workflow import request_submit
from tests.sweeps.conftest import DEMO_MAP, TODAY, map_text, rows

EXPIRED = "SELECT id FROM customer WHERE deactivated_at < '2023-12-03' ORDER BY id"


def of_expired(path, table: str, what: str = "count(*)") -> tuple:
    """Return ``what`` over ``table``'s rows of the 21 expired customers."""
    sql = (
        f"SELECT {what} FROM {table} WHERE customer_id IN (SELECT id FROM customer WHERE deactivated_at < '2023-12-03')"  # noqa: S608
    )
    return rows(path, sql)[0]


def _run(rule: str, **kwargs) -> RetentionSweep:
    sweep = sweep_plan(rule, today=TODAY)
    sweep_approve(sweep, start=False)
    return sweep_run(sweep.pk, **kwargs)


def _target(sweep: RetentionSweep, source: str = "shop") -> dict:
    (found,) = [s for s in sweep.report["sources"] if s["source"] == source]
    return found["targets"][0]


# --- the map ---------------------------------------------------------------------------


def _map_with(events: object, table: str = "customer") -> str:
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    document["sources"]["shop"]["tables"][table]["events"] = events
    return yaml.safe_dump(document, allow_unicode=True)


def test_the_demo_map_dates_deactivation_and_the_last_newsletter_opened():
    datamap = datamap_parse(DEMO_MAP.read_text(encoding="utf-8"))
    tables = datamap.sources["shop"]["config"]["tables"]
    assert tables["customer"]["events"] == {"account_deactivated": "deactivated_at"}
    assert tables["newsletter_subscription"]["events"] == {"last_consent_use": "last_opened_at"}


@pytest.mark.parametrize(
    ("events", "path", "message"),
    [
        ({"deactivated": "deactivated_at"}, "sources.shop.tables.customer.events.deactivated", "unknown event"),
        ({"account_deactivated": ["a", "b"]}, "sources.shop.tables.customer.events.account_deactivated", "column"),
        (["deactivated_at"], "sources.shop.tables.customer.events", "must map retention events"),
    ],
)
def test_a_bad_events_key_is_refused_with_its_path(events, path, message):
    with pytest.raises(DataMapInvalid) as raised:
        datamap_parse(_map_with(events))
    assert any((error.path, message in error.message) == (path, True) for error in raised.value.errors)


def test_an_event_column_the_database_lacks_stops_the_dry_run_and_changes_nothing(db, shop):
    text = map_text(f"sqlite:///{shop}", customer_events={"account_deactivated": "closed_at"})
    datamap_load(text=text, loaded_by="test")
    before = rows(shop, "SELECT * FROM customer ORDER BY id")
    with pytest.raises(Exception, match=r'customer\.events\.account_deactivated: no column "closed_at"'):
        sweep_plan("purpose:purchase", today=TODAY)
    assert rows(shop, "SELECT * FROM customer ORDER BY id") == before
    assert not RetentionSweep.objects.exists()


# --- the dry run ---------------------------------------------------------------------------


def test_the_dry_run_finds_the_21_customers_and_79_subscribers_and_changes_nothing(demo):
    before = rows(demo, "SELECT * FROM customer ORDER BY id")
    purchase = sweep_plan("purpose:purchase", today=TODAY)
    newsletter = sweep_plan("purpose:newsletter", today=TODAY)
    assert rows(demo, "SELECT * FROM customer ORDER BY id") == before
    assert purchase.status == "planned"
    target = _target(purchase)
    assert target["root"] == "customer"
    assert target["people"] == 21
    assert [row[0] for row in target["sample"]] == [row[0] for row in rows(demo, EXPIRED)][:10]
    tables = {table["table"]: table for table in target["tables"]}
    assert set(tables) == {"customer", "address", "orders", "order_line", "invoice", "login", "preference"}
    (addresses,) = of_expired(demo, "address")
    assert tables["address"] == {"table": "address", "action": "delete", "rows": addresses, "ended": 0, "running": 0}
    orders = of_expired(demo, "orders", "count(*), max(placed_at)")
    assert tables["orders"]["rows"] == orders[0]
    # Orders from 2021 on are still under the Bookkeeping Act's five years: kept, with the end dates stated.
    assert tables["orders"]["ended"] + tables["orders"]["running"] == orders[0]
    assert tables["orders"]["running_until"] == f"{int(orders[1][:4]) + 5}-12-31"
    subscribers = _target(newsletter)
    assert subscribers["root"] == "newsletter_subscription"
    assert subscribers["people"] == 79
    assert subscribers["tables"] == [
        {"table": "newsletter_subscription", "action": "delete", "rows": 79, "ended": 0, "running": 0}
    ]


def test_sources_that_are_not_sql_are_reported_as_not_swept_with_what_to_do(demo):
    sweep = sweep_plan("purpose:customer_service", today=TODAY)
    (chats,) = sweep.report["sources"]
    # The chats live in Genesys Cloud, reached through its API (a processor): named, not swept.
    assert chats["source"] == "chats"
    assert chats["not_swept"] == "processor"
    adverts = sweep_plan("purpose:ad_retargeting", today=TODAY)
    reasons = {source["source"]: source.get("not_swept") for source in adverts.report["sources"]}
    # The shop dates no last activity; the ad partner is a processor.
    assert reasons == {"shop": "undated", "adpartner": "processor"}
    assert report_totals(adverts.report)["not_swept"] == 2


def test_an_unknown_rule_is_refused(demo):
    with pytest.raises(SweepRefused, match='no retention rule "purpose:nothing"'):
        sweep_plan("purpose:nothing", today=TODAY)


# --- executing -------------------------------------------------------------------------------


def test_the_approved_sweep_erases_with_the_maps_strategies_and_keeps_what_a_hold_needs(demo):
    others = "SELECT * FROM customer WHERE deactivated_at IS NULL OR deactivated_at >= '2023-12-03'"
    others_before = rows(demo, others)
    orders_before = rows(demo, "SELECT count(*) FROM orders")[0][0]
    sweep = _run("purpose:purchase")
    assert sweep.status == "done", sweep.error
    customers = rows(demo, "SELECT first_name, phone, email FROM customer WHERE deactivated_at < '2023-12-03'")
    assert all(first == "[slettet]" or first.startswith("[") for first, _, _ in customers)
    assert all(phone is None and email.startswith("anon-") for _, phone, email in customers)
    assert rows(demo, others) == others_before
    for table in ("address", "login", "preference"):
        assert of_expired(demo, table) == (0,)
    assert rows(demo, "SELECT count(*) FROM orders")[0][0] == orders_before  # all still under the hold
    totals = counts_totals(sweep.counts)
    assert totals["people"] == 21
    assert totals["anonymised"] == 21
    assert totals["kept"] == sum(t["running"] for t in _target(sweep)["tables"])
    # The sample named rows for the admin's check; the done sweep keeps counts only.
    assert _target(sweep)["sample"] == []
    assert not SweepBatch.objects.exclude(keys=[]).exists()
    # One audit event for the sweep, with counts and no personal data.
    (event,) = AuditEvent.objects.filter(action=AuditAction.SWEEP_DONE)
    assert event.data["anonymised"] == 21
    assert event.data["rule"] == "purpose:purchase"
    assert "@" not in str(event.data)
    assert audit_chain_verify()[1] is None
    # Done once: the next dry run finds nobody left to sweep.
    assert report_totals(sweep_plan("purpose:purchase", today=TODAY).report)["people"] == 0


def test_the_newsletter_sweep_deletes_the_79_silent_subscriptions_only(demo):
    total = rows(demo, "SELECT count(*) FROM newsletter_subscription")[0][0]
    sweep = _run("purpose:newsletter")
    assert counts_totals(sweep.counts)["deleted"] == 79
    assert rows(demo, "SELECT count(*) FROM newsletter_subscription")[0][0] == total - 79
    assert rows(demo, "SELECT count(*) FROM newsletter_subscription WHERE last_opened_at < '2024-12-03'") == [(0,)]


def test_small_batches_do_the_same_as_one(demo, settings):
    settings.DSR_SWEEP_BATCH_SIZE = 4
    sweep = _run("purpose:purchase")
    assert sweep.batches.count() == 6  # 21 people, 4 a batch
    totals = counts_totals(sweep.counts)
    assert (totals["people"], totals["anonymised"]) == (21, 21)
    assert [b.number for b in sweep.batches.order_by("number")] == [1, 2, 3, 4, 5, 6]


def test_the_hold_sweep_deletes_kept_rows_once_their_hold_has_ended(demo):
    assert _run("purpose:purchase").status == "done"
    # Two years on, the orders of 2021 and 2022 are past the Bookkeeping Act's five years.
    later = TODAY.replace(year=TODAY.year + 2)
    dry = sweep_plan("hold:bookkeeping", today=later)
    orders = {t["table"]: t for t in _target(dry)["tables"]}["orders"]
    assert orders["ended"] > 0
    sweep_approve(dry, start=False)
    sweep = sweep_run(dry.pk)
    assert sweep.status == "done", sweep.error
    assert sweep.counts["shop"]["tables"]["orders"]["deleted"] == orders["ended"]
    (left,) = of_expired(demo, "orders", "min(placed_at)")
    assert left is None or left >= "2023-01-01"


def test_a_person_in_the_restriction_register_is_skipped(demo):
    first = rows(demo, EXPIRED)[0][0]
    (email, name) = rows(demo, "SELECT email, first_name FROM customer WHERE id = ?", first)[0]
    request = request_submit(
        right="restriction", email=email, details={"ground": "accuracy_contested"}, actor=Actor.subject()
    ).request
    Restriction.objects.create(request=request, kind="email", digest=identifier_digest("email", email), ground="x")
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert _target(dry)["people"] == 20
    assert _target(dry)["restricted_in_register"] == 1
    sweep_approve(dry, start=False)
    sweep = sweep_run(dry.pk)
    assert counts_totals(sweep.counts)["skipped_restricted"] == 1
    assert rows(demo, "SELECT first_name FROM customer WHERE id = ?", first) == [(name,)]
    assert rows(demo, "SELECT count(*) FROM address WHERE customer_id = ?", first)[0][0] > 0


def test_a_row_marked_restricted_in_the_source_is_skipped(demo):
    first = rows(demo, EXPIRED)[0][0]
    with closing(sqlite3.connect(demo)) as conn:
        conn.execute("UPDATE customer SET processing_restricted = 1 WHERE id = ?", (first,))
        conn.commit()
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert _target(dry)["people"] == 20
    assert _target(dry)["restricted_in_source"] == 1
    sweep_approve(dry, start=False)
    sweep_run(dry.pk)
    assert rows(demo, "SELECT phone IS NOT NULL FROM customer WHERE id = ?", first) == [(1,)]


def test_a_batch_recorded_but_not_finished_is_run_again_and_counted_once(demo, monkeypatch, settings):
    settings.DSR_SWEEP_BATCH_SIZE = 8
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    real, calls = sweeps._result_summary, []

    def crash_after_the_second_commit(result):
        calls.append(1)
        if len(calls) == 2:
            # The source committed the batch; the process dies before dsr records it.
            raise KeyboardInterrupt
        return real(result)

    monkeypatch.setattr(sweeps, "_result_summary", crash_after_the_second_commit)
    with pytest.raises(KeyboardInterrupt):
        sweep_run(dry.pk)
    monkeypatch.setattr(sweeps, "_result_summary", real)
    assert RetentionSweep.objects.get(pk=dry.pk).status == "running"
    assert list(SweepBatch.objects.filter(sweep=dry).values_list("number", "done")) == [(1, True), (2, False)]
    sweep = sweep_run(dry.pk)
    assert sweep.status == "done"
    assert SweepBatch.objects.get(sweep=dry, number=2).resumed
    totals = counts_totals(sweep.counts)
    assert (totals["people"], totals["anonymised"]) == (21, 21)
    assert of_expired(demo, "address") == (0,)
    assert sum(entry.get("deleted", 0) for entry in [sweep.counts["shop"]["tables"]["address"]]) == sum(
        t["rows"] for t in _target(dry)["tables"] if t["table"] == "address"
    )


def test_a_source_that_fails_fails_the_sweep_with_its_reason_and_it_can_resume(demo):
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    moved = demo.with_suffix(".away")
    demo.rename(moved)
    sweep = sweep_run(dry.pk)
    assert sweep.status == "failed"
    assert "does not exist" in sweep.error
    assert AuditEvent.objects.filter(action=AuditAction.SWEEP_FAILED).count() == 1
    moved.rename(demo)
    sweep = sweep_run(dry.pk)
    assert sweep.status == "done"
    assert counts_totals(sweep.counts)["anonymised"] == 21


def test_a_dry_run_is_approved_once_and_a_done_sweep_never_runs_again(demo):
    dry = sweep_plan("purpose:newsletter", today=TODAY)
    with pytest.raises(SweepRefused, match="only an approved sweep runs"):
        sweep_run(dry.pk)
    sweep_approve(dry, start=False)
    with pytest.raises(SweepRefused, match="only a dry run waiting for approval"):
        sweep_approve(dry, start=False)
    sweep_run(dry.pk)
    with pytest.raises(SweepRefused):
        sweep_run(dry.pk)
    assert AuditEvent.objects.filter(action=AuditAction.SWEEP_APPROVED).count() == 1


def test_a_map_changed_since_the_dry_run_fails_the_sweep_and_changes_nothing(demo):
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    before = rows(demo, "SELECT * FROM customer ORDER BY id")
    datamap_load(text=map_text(f"sqlite:///{demo}", customer_events={}), loaded_by="test")
    sweep = sweep_run(dry.pk)
    assert sweep.status == "failed"
    assert "plan again" in sweep.error
    assert rows(demo, "SELECT * FROM customer ORDER BY id") == before


# --- the schedule and the command ---------------------------------------------------------------


def test_the_schedule_runs_only_the_rules_turned_on(demo):
    assert sweeps.sweeps_scheduled(today=TODAY) == []
    sweeps.sweep_schedule_set("purpose:newsletter", enabled=True)
    (started,) = sweeps.sweeps_scheduled(today=TODAY)
    sweep = sweep_run(started)
    assert sweep.scheduled
    assert sweep.status == "done"
    assert counts_totals(sweep.counts)["deleted"] == 79
    assert SweepRuleSetting.objects.get(rule="purpose:newsletter").enabled
    with pytest.raises(SweepRefused):
        sweeps.sweep_schedule_set("purpose:nothing", enabled=True)


def test_the_command_makes_dry_runs_and_runs_a_rule(demo):
    out = StringIO()
    call_command("dsr_retention_sweep", "--rule", "purpose:newsletter", "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert RetentionSweep.objects.get().status == "planned"
    people = report_totals(RetentionSweep.objects.get().report)["people"]
    out = StringIO()
    call_command("dsr_retention_sweep", "--rule", "purpose:newsletter", stdout=out)
    assert f"{people} people" in out.getvalue()
    assert "done" in out.getvalue()
    with pytest.raises(CommandError, match="no retention rule"):
        call_command("dsr_retention_sweep", "--rule", "purpose:nothing")
    with pytest.raises(CommandError, match="No retention sweep 999"):
        call_command("dsr_retention_sweep", "--resume", "999")


def test_an_expired_customer_whose_cleared_fields_are_empty_is_still_swept(demo):
    first = rows(demo, EXPIRED)[0][0]
    with closing(sqlite3.connect(demo)) as conn:
        conn.execute("UPDATE customer SET phone = NULL, birth_date = NULL, gender = NULL WHERE id = ?", (first,))
        conn.commit()
    assert _target(sweep_plan("purpose:purchase", today=TODAY))["people"] == 21


def test_the_schema_is_read_once_per_sweep_whatever_the_number_of_batches(demo, monkeypatch, settings):
    from dsr.sources.sql import connector as sql_connector

    settings.DSR_SWEEP_BATCH_SIZE = 4
    real, reads = sql_connector.live_schema_current, []

    def counted(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sql_connector, "live_schema_current", counted)
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert len(reads) == 1
    sweep_approve(dry, start=False)
    sweep = sweep_run(dry.pk)
    assert sweep.status == "done", sweep.error
    assert sweep.batches.count() == 6
    assert len(reads) == 2  # one for the dry run, one for the six batches


def test_a_batch_writes_each_row_its_own_hash_the_same_as_a_request_erasure_would(demo, settings):
    from dsr.sources.sql.anonymise import anonymised_value
    from dsr.sources.sql.schema import LiveColumn

    settings.DSR_SWEEP_BATCH_SIZE = 8
    expired = [key for (key,) in rows(demo, EXPIRED)]
    assert _run("purpose:purchase").status == "done"
    emails = [row for row in rows(demo, "SELECT id, email FROM customer ORDER BY id") if row[0] in expired]
    assert len(emails) == len(expired) == 21
    assert len({email for _, email in emails}) == len(expired)  # one hash per row, never one for the batch
    column = LiveColumn(name="email", type="TEXT", nullable=True)
    for key, email in emails:
        assert email == anonymised_value(
            "hash", column=column, where="shop\x1fcustomer\x1femail", key=key, redaction="[erased]"
        )


def test_a_person_restricted_under_an_older_register_key_is_still_skipped(demo, settings):
    first = rows(demo, EXPIRED)[0][0]
    (email, name) = rows(demo, "SELECT email, first_name FROM customer WHERE id = ?", first)[0]
    request = request_submit(
        right="restriction", email=email, details={"ground": "accuracy_contested"}, actor=Actor.subject()
    ).request
    settings.DSR_RESTRICTION_KEYS = ["the-older-register-key"]
    older = identifier_digest("email", email, keys="DSR_RESTRICTION_KEYS")
    Restriction.objects.create(request=request, kind="email", digest=older, ground="x")
    settings.DSR_RESTRICTION_KEYS = ["the-newer-register-key", "the-older-register-key"]
    dry = sweep_plan("purpose:purchase", today=TODAY)
    assert _target(dry)["restricted_in_register"] == 1
    sweep_approve(dry, start=False)
    sweep_run(dry.pk)
    assert rows(demo, "SELECT first_name FROM customer WHERE id = ?", first) == [(name,)]


def test_a_schema_changed_during_the_sweep_fails_it_where_it_meets_it_and_a_new_run_reads_it_afresh(
    demo, monkeypatch, settings
):
    settings.DSR_SWEEP_BATCH_SIZE = 4
    dry = sweep_plan("purpose:purchase", today=TODAY)
    sweep_approve(dry, start=False)
    real, batches = sweeps._batch_execute, []

    def drop_a_column_after_the_first_batch(connector, target, batch, plan=None):
        real(connector, target, batch, plan)
        batches.append(batch.number)
        if len(batches) == 1:
            with closing(sqlite3.connect(demo)) as conn:
                conn.execute("ALTER TABLE customer DROP COLUMN gender")
                conn.commit()

    monkeypatch.setattr(sweeps, "_batch_execute", drop_a_column_after_the_first_batch)
    sweep = sweep_run(dry.pk)
    assert sweep.status == "failed"
    assert "gender" in sweep.error
    assert list(sweep.batches.values_list("number", "done")) == [(1, True)]
    # Only the first batch's four people were erased; nobody else was touched.
    assert rows(demo, "SELECT count(*) FROM customer WHERE first_name = '[erased]'") == [(4,)]
    # Run again, the sweep reads the schema afresh and names the column the map still has and the database lost.
    again = sweep_run(dry.pk)
    assert again.status == "failed"
    assert 'has no column "gender"' in again.error  # from the schema as it is now
    assert rows(demo, "SELECT count(*) FROM customer WHERE first_name = '[erased]'") == [(4,)]

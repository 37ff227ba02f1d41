"""Partitioned events and an inherited audit log on PostgreSQL (plain tables on SQLite), checked by SQL."""

import datetime as dt

import pytest

from dsr.sources.base import ANONYMISE, DELETE, KEEP, ErasurePlan, SourcePermanentError
from tests.sources.sql.hard.events import (
    KEYS,
    LOGGING_HOLD,
    MARKERS,
    METTES_USERS,
    PARTITIONS,
    events_tables,
    truth_sql,
)
from tests.sources.sql.hard.support import (
    METTE,
    connector_build,
    dialect_of,
    exported,
    fact_totals,
    fingerprints,
    holds_with,
    scalar,
    select,
    traces,
    truth,
    years_after,
)


def events_connector(url: str, tables: dict | None = None):
    return connector_build(
        "app", "The app", url, tables or events_tables(), legal_holds=holds_with(logging=LOGGING_HOLD)
    )


def mettes_rows(url: str) -> dict[str, dict]:
    return {table: truth(url, sql, KEYS[table]) for table, sql in truth_sql(dialect_of(url)).items()}


def rows_in_each_table(url: str, user_ids: list[int]) -> dict[str, int]:
    """Return how many rows of these users each partition and child holds by itself (the plain tables on SQLite)."""
    if dialect_of(url) == "sqlite":
        tables = ["event", "audit_log"]
    else:
        tables = [*PARTITIONS["event"], "ONLY audit_log", *PARTITIONS["audit_log"]]
    users = ", ".join(str(int(user_id)) for user_id in user_ids)
    return {table: scalar(url, f"SELECT count(*) FROM {table} WHERE user_id IN ({users})") for table in tables}  # noqa: S608


def mettes_user_ids(url: str) -> list[int]:
    return [row["user_id"] for row in select(url, METTES_USERS, email="mette@example.dk")]


# --- the map against the live database -------------------------------------------------


def test_the_events_map_passes_the_connection_test(events_url):
    events_connector(events_url).test_connection()


def test_a_partition_listed_beside_its_parent_is_refused_naming_the_parent(events_postgres_url):
    tables = events_tables()
    tables["event_2025"] = {
        "link": {"table": "app_user", "columns": {"user_id": "user_id"}},
        "erasure": {"strategy": "delete"},
    }
    with pytest.raises(SourcePermanentError, match=r"\bevent\b(?!_)"):
        events_connector(events_postgres_url, tables).test_connection()


def test_an_inheriting_table_listed_beside_its_parent_is_refused_naming_the_parent(events_postgres_url):
    tables = events_tables()
    tables["audit_log_recent"] = {
        "link": {"table": "app_user", "columns": {"user_id": "user_id"}},
        "erasure": {"strategy": "anonymise", "fields": {"ip_address": "clear"}},
    }
    with pytest.raises(SourcePermanentError, match=r"\baudit_log\b(?!_)"):
        events_connector(events_postgres_url, tables).test_connection()


# --- access ----------------------------------------------------------------------------


def test_access_exports_rows_of_partitions_and_children_once(events_url):
    mine = mettes_rows(events_url)
    assert {table: len(rows) for table, rows in mine.items()} == {"app_user": 2, "event": 5, "audit_log": 3}
    each = rows_in_each_table(events_url, mettes_user_ids(events_url))
    assert sum(count for name, count in each.items() if "event" in name) == 5
    assert sum(count for name, count in each.items() if "audit_log" in name) == 3

    records = list(events_connector(events_url).records(METTE))

    for table, rows in mine.items():
        assert exported(records, table, KEYS[table]) == rows, table
    # Read through the parents only: no record names a partition or a child table.
    assert sorted({record.table for record in records}) == ["app_user", "audit_log", "event"]
    assert len(records) == 2 + 5 + 3


def test_discovery_returns_the_emails_of_both_columns_of_both_users(events_url):
    rows = select(events_url, truth_sql(dialect_of(events_url))["app_user"], email="mette@example.dk")
    emails = {value.strip().lower() for row in rows for value in (row["email"], row["backup_email"]) if value}
    assert emails == {"mette@example.dk", "mette.h@gmail.example", "mh@firma.example"}

    assert events_connector(events_url).discover_identifiers(METTE) == {"email": emails}


# --- erasure ---------------------------------------------------------------------------


def test_erasure_deletes_events_from_every_partition_and_anonymises_the_audit_log(events_url):
    mine = mettes_rows(events_url)
    users = mettes_user_ids(events_url)
    changing = {table: set(rows) for table, rows in mine.items()}
    unchanged_before = fingerprints(events_url, KEYS, changing)
    connector = events_connector(events_url)

    connector.erasure_execute(ErasurePlan.from_dict(connector.erasure_plan(METTE).to_dict()))

    assert traces(events_url, MARKERS) == []
    assert fingerprints(events_url, KEYS, changing) == unchanged_before
    # Gone from each partition by itself; her audit rows stay, in the parent and in each child, without IPs.
    each = rows_in_each_table(events_url, users)
    assert {name: count for name, count in each.items() if "event" in name} == dict.fromkeys(
        (name for name in each if "event" in name), 0
    )
    assert sum(count for name, count in each.items() if "audit_log" in name) == 3
    logs = select(events_url, "SELECT log_id, ip_address FROM audit_log WHERE user_id IN (1, 4) ORDER BY log_id")
    assert logs == [
        {"log_id": 1, "ip_address": None},
        {"log_id": 4, "ip_address": None},
        {"log_id": 6, "ip_address": None},
    ]
    assert list(connector.records(METTE)) == []


def test_erasure_reports_per_table_the_rows_found_and_changed(events_url):
    connector = events_connector(events_url)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    assert fact_totals(result.facts) == {
        # (found, changed, kept, shared)
        ("app_user", ANONYMISE): (2, 2, 0, 0),
        ("event", DELETE): (5, 5, 0, 0),
        ("audit_log", ANONYMISE): (3, 3, 0, 0),
    }


def test_erasure_deletes_the_users_through_partitions_and_children_with_their_own_foreign_keys(events_url):
    tables = events_tables()
    for name in ("app_user", "event", "audit_log"):
        tables[name]["erasure"] = {"strategy": "delete"}
    mine = mettes_rows(events_url)
    users = mettes_user_ids(events_url)
    changing = {table: set(rows) for table, rows in mine.items()}
    unchanged_before = fingerprints(events_url, KEYS, changing)
    connector = events_connector(events_url, tables)
    # The partitions' and children's keys to app_user belong to rows deleted through their parents.
    connector.test_connection()

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    assert fact_totals(result.facts) == {
        ("app_user", DELETE): (2, 2, 0, 0),
        ("event", DELETE): (5, 5, 0, 0),
        ("audit_log", DELETE): (3, 3, 0, 0),
    }
    assert set(rows_in_each_table(events_url, users).values()) == {0}
    assert scalar(events_url, "SELECT count(*) FROM app_user") == 2
    assert traces(events_url, MARKERS) == []
    assert fingerprints(events_url, KEYS, changing) == unchanged_before


def test_audit_rows_past_their_hold_go_from_the_parent_and_its_children_and_the_recent_one_stays(events_url):
    today = dt.date.today()
    tables = events_tables()
    tables["audit_log"]["erasure"] = {
        "strategy": "keep",
        "hold": "logging",
        "date_column": "logged_at",
        "after_hold": "delete",
    }
    mine = mettes_rows(events_url)
    # Kept a year from the day logged: the rows of three and two years ago may go, the one of 40 days stays.
    logged = {key: dt.datetime.fromisoformat(row["logged_at"]).date() for key, row in mine["audit_log"].items()}
    past = {key for key, day in logged.items() if years_after(day, 1) < today}
    held = set(logged) - past
    assert (len(past), len(held)) == (2, 1)
    changing = {"app_user": set(mine["app_user"]), "event": set(mine["event"]), "audit_log": past}
    unchanged_before = fingerprints(events_url, KEYS, changing)
    connector = events_connector(events_url, tables)

    result = connector.erasure_execute(ErasurePlan.from_dict(connector.erasure_plan(METTE).to_dict()))

    assert fact_totals(result.facts) == {
        ("app_user", ANONYMISE): (2, 2, 0, 0),
        ("event", DELETE): (5, 5, 0, 0),
        ("audit_log", KEEP): (1, 0, 1, 0),
        ("audit_log", DELETE): (2, 2, 0, 0),
    }
    kept = next(fact for fact in result.facts if fact.action == KEEP)
    assert (kept.hold, kept.hold_until) == ("logging", years_after(logged[next(iter(held))], 1).isoformat())
    assert dt.date.fromisoformat(kept.hold_until) > today
    # Other people's rows and the held row: the same bytes; the rows past their hold: gone from every table.
    assert fingerprints(events_url, KEYS, changing) == unchanged_before
    gone = ", ".join(str(key[0]) for key in past)
    assert scalar(events_url, f"SELECT count(*) FROM audit_log WHERE log_id IN ({gone})") == 0  # noqa: S608
    assert traces(events_url, ["mette", "mh@firma", "192.0.2.10", "192.0.2.11"]) == []

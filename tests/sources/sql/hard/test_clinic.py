"""The clinics on SQLite and PostgreSQL: composite keys, a circle of foreign keys and hash sizing, checked by SQL."""

import datetime as dt

import pytest

from dsr.sources.base import ANONYMISE, DELETE, KEEP, ErasurePlan, SourcePermanentError
from tests.sources.sql.hard.clinic import (
    HOUSEHOLDS_OTHERS_USE,
    KEYS,
    MARKERS,
    PATIENT_RECORDS_HOLD,
    TRUTH,
    VISITS_PAST_HOLD,
    clinic_tables,
    clinic_tables_deleting,
)
from tests.sources.sql.hard.support import (
    METTE,
    categories_with,
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
    years_ago,
)


def clinic_connector(url: str, tables: dict | None = None):
    return connector_build(
        "clinic",
        "Patient records",
        url,
        tables or clinic_tables(),
        legal_holds=holds_with(patient_records=PATIENT_RECORDS_HOLD),
        categories=categories_with("health"),
    )


def mettes_rows(url: str) -> dict[str, dict]:
    return {table: truth(url, sql, KEYS[table]) for table, sql in TRUTH.items()}


def shared_households(url: str, mine: dict) -> set:
    return set(mine["household"]) & {(row["household_id"],) for row in select(url, HOUSEHOLDS_OTHERS_USE, **_email())}


def visits_past_hold(url: str, today: dt.date) -> set:
    rows = select(url, VISITS_PAST_HOLD, cutoff=years_ago(today, 10).isoformat(), **_email())
    return {(row["visit_id"],) for row in rows}


def _email() -> dict:
    return {"email": "mette@example.dk"}


def _foreign_keys_hold(url: str) -> None:
    if dialect_of(url) == "sqlite":
        assert select(url, "PRAGMA foreign_key_check") == []


def _refused(url: str, tables: dict, match: str) -> None:
    with pytest.raises(SourcePermanentError, match=match):
        clinic_connector(url, tables).test_connection()


# --- the map against the live database -------------------------------------------------


def test_the_clinic_map_passes_the_connection_test(clinic_url):
    clinic_connector(clinic_url).test_connection()


def test_deleting_visits_is_refused_while_anonymised_patients_point_at_their_primary_visit(clinic_url):
    tables = clinic_tables()
    tables["visit"]["erasure"] = {"strategy": "delete"}
    _refused(clinic_url, tables, "fk_patient_primary_visit")


def test_hashing_a_column_too_short_for_a_hash_is_refused_naming_it(clinic_url):
    tables = clinic_tables()
    tables["patient"]["erasure"]["fields"]["initials"] = "hash"
    _refused(clinic_url, tables, r"\bpatient\b.*\binitials\b|\binitials\b.*\bpatient\b")


def test_clearing_the_not_null_birth_date_is_refused_naming_it(clinic_url):
    tables = clinic_tables()
    tables["patient"]["erasure"]["fields"]["birth_date"] = "clear"
    _refused(clinic_url, tables, r"\bpatient\b.*\bbirth_date\b.*NOT NULL")


def test_truncating_a_column_that_is_not_a_date_is_refused_naming_it(clinic_url):
    tables = clinic_tables()
    tables["patient"]["erasure"]["fields"]["full_name"] = {"truncate": "year"}
    _refused(clinic_url, tables, r"\bpatient\b.*\bfull_name\b|\bfull_name\b.*\bpatient\b")


def test_truncating_a_text_that_holds_no_date_fails_without_naming_the_value_and_changes_nothing(clinic_url):
    tables = clinic_tables()
    tables["patient"]["erasure"]["fields"]["full_name"] = {"truncate": "year"}
    connector = clinic_connector(clinic_url, tables)
    before = fingerprints(clinic_url, KEYS, {})

    # Refused when planning or when executing; either way as the source's error, never with her name in it.
    with pytest.raises(SourcePermanentError) as caught:
        connector.erasure_execute(connector.erasure_plan(METTE))

    assert "mette" not in str(caught.value).lower()
    assert "hansen" not in str(caught.value).lower()
    assert fingerprints(clinic_url, KEYS, {}) == before


def test_unlinking_a_household_is_refused_while_patients_must_have_one(clinic_url):
    tables = clinic_tables()
    tables["household"]["shared"] = "unlink"
    _refused(clinic_url, tables, r"\bhousehold_id\b|fk_patient_household")


# --- access ----------------------------------------------------------------------------


def test_access_exports_each_of_mettes_rows_by_both_key_columns(clinic_url):
    mine = mettes_rows(clinic_url)
    assert {table: sorted(rows) for table, rows in mine.items()} == {
        "patient": [(1, 100), (2, 200)],
        "household": [(1,), (2,)],
        "visit": [(1,), (2,), (3,), (4,)],
        "prescription": [(1, 100, 1), (1, 100, 2), (1, 100, 3), (2, 200, 1)],
    }

    records = list(clinic_connector(clinic_url).records(METTE))

    for table, rows in mine.items():
        assert exported(records, table, KEYS[table]) == rows, table
    # Ole is patient 100 too, at clinic 2: none of his rows is exported.
    assert {record.table for record in records} == set(mine)


# --- erasure ---------------------------------------------------------------------------


def _changing(url: str, mine: dict, today: dt.date) -> dict[str, set]:
    """Return the rows the anonymising map may change or delete: all Mette's, less shared homes and held visits."""
    return {
        "patient": set(mine["patient"]),
        "household": set(mine["household"]) - shared_households(url, mine),
        "visit": visits_past_hold(url, today),
        "prescription": set(mine["prescription"]),
    }


def test_erasure_anonymises_patients_keeps_recent_visits_and_deletes_prescriptions(clinic_url):
    today = dt.date.today()
    mine = mettes_rows(clinic_url)
    assert sorted(shared_households(clinic_url, mine)) == [(1,)]  # her son lives there too
    assert sorted(visits_past_hold(clinic_url, today)) == [(1,), (4,)]
    changing = _changing(clinic_url, mine, today)
    unchanged_before = fingerprints(clinic_url, KEYS, changing)
    connector = clinic_connector(clinic_url)

    connector.erasure_execute(ErasurePlan.from_dict(connector.erasure_plan(METTE).to_dict()))

    assert traces(clinic_url, MARKERS) == []
    # Other patients, clinics, the shared home and the visits still held: the same bytes.
    assert fingerprints(clinic_url, KEYS, changing) == unchanged_before
    patients = select(clinic_url, "SELECT * FROM patient WHERE patient_ref NOT LIKE '___-0%' ORDER BY org_id")
    assert [(row["org_id"], row["patient_no"]) for row in patients] == [(1, 100), (2, 200)]
    references = [row["patient_ref"] for row in patients]
    # Hashed to fit VARCHAR(24) (SQLite would store longer text without complaint), and still unique.
    assert all(16 <= len(reference) <= 24 for reference in references)
    assert len(set(references)) == 2
    assert [str(row["birth_date"]) for row in patients] == ["1984-01-01", "1984-01-01"]
    assert [(row["full_name"], row["initials"], row["email"]) for row in patients] == [("[erased]", None, None)] * 2
    reasons = select(clinic_url, "SELECT reason FROM visit WHERE visit_id IN (1, 4)")
    assert [row["reason"] for row in reasons] == ["[erased]", "[erased]"]
    assert scalar(clinic_url, "SELECT count(*) FROM prescription WHERE org_id = 2 AND patient_no = 100") == 1
    _foreign_keys_hold(clinic_url)
    assert list(connector.records(METTE)) == []


def test_erasure_reports_per_table_the_rows_found_changed_kept_and_shared(clinic_url):
    today = dt.date.today()
    connector = clinic_connector(clinic_url)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    assert fact_totals(result.facts) == {
        # (found, changed, kept, shared)
        ("patient", ANONYMISE): (2, 2, 0, 0),
        ("household", ANONYMISE): (2, 1, 0, 1),
        ("visit", KEEP): (2, 0, 2, 0),
        ("visit", ANONYMISE): (2, 2, 0, 0),
        ("prescription", DELETE): (4, 4, 0, 0),
    }
    # The last visit kept is a year old: kept until ten years after it.
    kept = next(fact for fact in result.facts if fact.table == "visit" and fact.action == KEEP)
    assert kept.hold == "patient_records"
    assert kept.hold_until == years_after(years_ago(today, 1), 10).isoformat()
    assert dt.date.fromisoformat(kept.hold_until) > today


def test_erasure_deletes_patients_and_visits_through_the_circle_of_foreign_keys(clinic_url):
    tables = clinic_tables_deleting()
    mine = mettes_rows(clinic_url)
    shared = shared_households(clinic_url, mine)
    changing = {
        "patient": set(mine["patient"]),
        "household": set(mine["household"]) - shared,
        "visit": set(mine["visit"]),
        "prescription": set(mine["prescription"]),
    }
    unchanged_before = fingerprints(clinic_url, KEYS, changing)
    connector = clinic_connector(clinic_url, tables)
    connector.test_connection()

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    assert fact_totals(result.facts) == {
        ("patient", DELETE): (2, 2, 0, 0),
        ("household", ANONYMISE): (2, 1, 0, 1),
        ("visit", DELETE): (4, 4, 0, 0),  # no other patient's row points at her visits
        ("prescription", DELETE): (4, 4, 0, 0),
    }
    assert traces(clinic_url, MARKERS) == []
    assert fingerprints(clinic_url, KEYS, changing) == unchanged_before
    assert scalar(clinic_url, "SELECT count(*) FROM patient WHERE patient_no IN (100, 200)") == 1  # Ole's
    assert scalar(clinic_url, "SELECT count(*) FROM visit WHERE visit_id IN (1, 2, 3, 4)") == 0
    _foreign_keys_hold(clinic_url)


def test_a_second_erasure_run_changes_nothing_and_still_keeps_the_recent_visits(clinic_url):
    connector = clinic_connector(clinic_url)
    plan = connector.erasure_plan(METTE)
    connector.erasure_execute(plan)
    after_first = fingerprints(clinic_url, KEYS, {})

    second = connector.erasure_execute(plan)

    assert sum(fact.changed for fact in second.facts) == 0
    assert [(f.table, f.kept) for f in second.facts if f.action == KEEP] == [("visit", 2)]
    assert fingerprints(clinic_url, KEYS, {}) == after_first

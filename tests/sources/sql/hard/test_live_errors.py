"""`live_errors` on the three hard schemas: the maps that fit are accepted, each one that would break is refused.

Each refused map changes one thing of a map that fits, so every error it gets
must name that one constraint or column.
"""

import re
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from dsr.sources.sql.checks import live_errors
from dsr.sources.sql.config import tables_normalise
from dsr.sources.sql.schema import live_schema_read
from tests.sources.sql.hard.clinic import clinic_tables, clinic_tables_deleting
from tests.sources.sql.hard.events import events_tables
from tests.sources.sql.hard.rental import rental_tables


def problems(url: str, tables: dict) -> list[str]:
    """Return what live_errors says of ``tables`` against the database at ``url``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            live = live_schema_read(conn)
    finally:
        engine.dispose()
    return [str(error) for error in live_errors(tables_normalise(tables), live, path="sources.hard")]


def changed(tables: dict, change: Callable[[dict], None]) -> dict:
    change(tables)
    return tables


def _everything_deleted(*names: str) -> Callable[[dict], None]:
    def change(tables: dict) -> None:
        for name in names:
            tables[name]["erasure"] = {"strategy": "delete"}

    return change


def _field(table: str, column: str, method) -> Callable[[dict], None]:
    def change(tables: dict) -> None:
        tables[table]["erasure"]["fields"][column] = method

    return change


def _address_deleted(tables: dict) -> None:
    tables["address"]["erasure"] = {"strategy": "delete"}
    tables["address"]["shared"] = "skip"


def _household_unlinked(tables: dict) -> None:
    tables["household"]["shared"] = "unlink"


RENTAL_REFUSALS = {
    # Ole's row names Mette as his referrer.
    "self-reference": (_everything_deleted("customer", "rental_order", "payment"), r"fk_customer_referred_by"),
    "kept payments point at orders": (_everything_deleted("rental_order"), r"fk_payment_order"),
    "a store must have an address": (_address_deleted, r"fk_store_address"),
    "clear on NOT NULL": (_field("customer", "active", "clear"), r"\bactive\b.*NOT NULL|NOT NULL.*\bactive\b"),
    "a text for a boolean": (_field("customer", "active", {"set": "no longer"}), r"\bactive\b"),
}
CLINIC_REFUSALS = {
    "anonymised patients point at visits": (_everything_deleted("visit"), r"fk_patient_primary_visit"),
    "hash on VARCHAR(3)": (_field("patient", "initials", "hash"), r"\binitials\b"),
    "clear on NOT NULL": (_field("patient", "birth_date", "clear"), r"\bbirth_date\b"),
    "truncate on text": (_field("patient", "full_name", {"truncate": "year"}), r"\bfull_name\b"),
    "unlink from NOT NULL": (_household_unlinked, r"\bhousehold_id\b|fk_patient_household"),
}


def test_the_rental_map_fits_the_live_database(rental_url):
    assert problems(rental_url, rental_tables()) == []


def test_the_clinic_maps_fit_the_live_database_the_deleting_one_through_the_circle(clinic_url):
    assert problems(clinic_url, clinic_tables()) == []
    assert problems(clinic_url, clinic_tables_deleting()) == []


def test_the_events_maps_fit_the_live_database_partitions_and_children_included(events_url):
    assert problems(events_url, events_tables()) == []
    deleting = changed(events_tables(), _everything_deleted("app_user", "event", "audit_log"))
    assert problems(events_url, deleting) == []


@pytest.mark.parametrize("refusal", RENTAL_REFUSALS)
def test_a_rental_map_that_would_break_a_constraint_is_refused_naming_it(rental_url, refusal):
    change, named = RENTAL_REFUSALS[refusal]
    found = problems(rental_url, changed(rental_tables(), change))
    assert found
    assert [problem for problem in found if not re.search(named, problem)] == []


@pytest.mark.parametrize("refusal", CLINIC_REFUSALS)
def test_a_clinic_map_that_would_break_a_constraint_is_refused_naming_it(clinic_url, refusal):
    change, named = CLINIC_REFUSALS[refusal]
    found = problems(clinic_url, changed(clinic_tables(), change))
    assert found
    assert [problem for problem in found if not re.search(named, problem)] == []


@pytest.mark.parametrize(
    ("child", "parent"), [("event_2025", "event"), ("event_before_2025", "event"), ("audit_log_recent", "audit_log")]
)
def test_a_partition_or_child_listed_beside_its_parent_is_refused_naming_the_parent(events_postgres_url, child, parent):
    tables = events_tables()
    tables[child] = {
        "link": {"table": "app_user", "columns": {"user_id": "user_id"}},
        "erasure": {"strategy": "delete"},
    }
    found = problems(events_postgres_url, tables)
    assert len(found) == 1
    assert re.search(rf'"{parent}"', found[0])
    assert child in found[0]

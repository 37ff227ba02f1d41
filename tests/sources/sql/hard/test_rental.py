"""The film-rental chain on SQLite and PostgreSQL: access and erasure checked against the test's own SQL."""

import datetime as dt

import pytest

from dsr.sources.base import ANONYMISE, DELETE, KEEP, ErasurePlan, SourcePermanentError
from tests.sources.sql.hard.rental import (
    ADDRESSES_OTHERS_USE,
    KEYS,
    MARKERS,
    PAYMENTS_PAST_HOLD,
    TRUTH,
    rental_tables,
)
from tests.sources.sql.hard.support import (
    METTE,
    connector_build,
    dialect_of,
    exported,
    fact_totals,
    fingerprints,
    scalar,
    select,
    traces,
    truth,
)


def rental_connector(url: str, tables: dict | None = None):
    return connector_build("rental", "Film rental chain", url, tables or rental_tables())


def mettes_rows(url: str) -> dict[str, dict]:
    """Return Mette's rows of each mapped table, by primary key, as the ground-truth SQL selects them."""
    return {table: truth(url, sql, KEYS[table]) for table, sql in TRUTH.items()}


def shared_addresses(url: str, mine: dict) -> set:
    used = {(row["address_id"],) for row in select(url, ADDRESSES_OTHERS_USE, email="mette@example.dk")}
    return set(mine["address"]) & used


def payments_past_hold(url: str, today: dt.date) -> set:
    last_day = dt.date(today.year - 6, 12, 31).isoformat()
    rows = select(url, PAYMENTS_PAST_HOLD, email="mette@example.dk", last_day_past_hold=last_day)
    return {(row["payment_id"],) for row in rows}


def changed_by_erasure(url: str, mine: dict, today: dt.date) -> dict[str, set]:
    """Return the rows erasure may change or delete: Mette's, less the shared addresses and the payments still held."""
    return {
        "customer": set(mine["customer"]),
        "address": set(mine["address"]) - shared_addresses(url, mine),
        "rental_order": set(mine["rental_order"]),
        "payment": payments_past_hold(url, today),
    }


def _foreign_keys_hold(url: str) -> None:
    if dialect_of(url) == "sqlite":
        assert select(url, "PRAGMA foreign_key_check") == []


# --- the map against the live database -------------------------------------------------


def test_the_rental_map_passes_the_connection_test(rental_url):
    rental_connector(rental_url).test_connection()


def test_deleting_customers_is_refused_while_another_customer_names_one_as_referrer(rental_url):
    tables = rental_tables()
    for name in ("customer", "rental_order", "payment"):
        tables[name]["erasure"] = {"strategy": "delete"}
    # Ole's row says Mette referred him: deleting her row would break his.
    with pytest.raises(SourcePermanentError, match="fk_customer_referred_by"):
        rental_connector(rental_url, tables).test_connection()


def test_deleting_orders_is_refused_while_kept_payments_point_at_them(rental_url):
    tables = rental_tables()
    tables["rental_order"]["erasure"] = {"strategy": "delete"}
    with pytest.raises(SourcePermanentError, match="fk_payment_order"):
        rental_connector(rental_url, tables).test_connection()


def test_deleting_addresses_is_refused_while_a_store_must_point_at_one(rental_url):
    tables = rental_tables()
    tables["address"]["erasure"] = {"strategy": "delete"}
    tables["address"]["shared"] = "skip"
    # customer.address_id and rental_order.shipping_address_id may be emptied; store.address_id is NOT NULL.
    with pytest.raises(SourcePermanentError, match="fk_store_address"):
        rental_connector(rental_url, tables).test_connection()


def test_clearing_the_not_null_active_flag_is_refused_naming_the_column(rental_url):
    tables = rental_tables()
    tables["customer"]["erasure"]["fields"]["active"] = "clear"
    with pytest.raises(SourcePermanentError, match=r"\bcustomer\b.*\bactive\b.*NOT NULL"):
        rental_connector(rental_url, tables).test_connection()


def test_setting_the_active_flag_to_a_text_is_refused_naming_the_column(rental_url):
    tables = rental_tables()
    tables["customer"]["erasure"]["fields"]["active"] = {"set": "no longer"}
    with pytest.raises(SourcePermanentError, match=r"\bcustomer\b.*\bactive\b|\bactive\b.*\bcustomer\b"):
        rental_connector(rental_url, tables).test_connection()


# --- access ----------------------------------------------------------------------------


def test_access_exports_each_of_mettes_rows_once_as_the_database_holds_them(rental_url):
    mine = mettes_rows(rental_url)
    assert {table: len(rows) for table, rows in mine.items()} == {
        "customer": 2,
        "address": 4,
        "rental_order": 4,
        "payment": 3,
    }

    records = list(rental_connector(rental_url).records(METTE))

    for table, rows in mine.items():
        assert exported(records, table, KEYS[table]) == rows, table
    # The city is a label beside the address's city_id, never a record; the store is not Mette's.
    assert {record.table for record in records} == set(mine)
    assert all("password_hash" not in record.row for record in records)


def test_access_finds_the_old_account_by_its_second_email_column_written_in_capitals(rental_url):
    records = list(rental_connector(rental_url).records({"email": {"  mette@EXAMPLE.dk"}}))
    customers = sorted(record.row["customer_id"] for record in records if record.table == "customer")
    assert customers == sorted(key[0] for key in mettes_rows(rental_url)["customer"])
    assert scalar(rental_url, "SELECT alt_email FROM customer WHERE customer_id = 4") == " METTE@example.dk"


def test_discovery_returns_the_emails_of_both_columns_and_the_phone_of_both_accounts(rental_url):
    rows = select(rental_url, TRUTH["customer"], email="mette@example.dk")
    emails = {value.strip().lower() for row in rows for value in (row["email"], row["alt_email"]) if value}
    assert len(emails) == 3

    found = rental_connector(rental_url).discover_identifiers(METTE)

    assert found == {"email": emails, "phone": {"+4520304050"}}


# --- erasure ---------------------------------------------------------------------------


def test_erasure_plan_splits_payments_into_held_and_past_their_hold(rental_url):
    today = dt.date.today()
    mine = mettes_rows(rental_url)
    past = payments_past_hold(rental_url, today)
    held = set(mine["payment"]) - past
    assert len(past) == 2
    assert len(held) == 1

    plan = rental_connector(rental_url).erasure_plan(METTE)

    payments = {table.action: table for table in plan.tables if table.table == "payment"}
    assert set(payments) == {KEEP, DELETE}
    assert sorted(payments[KEEP].keys) == sorted(key[0] for key in held)
    assert sorted(payments[DELETE].keys) == sorted(key[0] for key in past)
    held_on = dt.date.fromisoformat(mine["payment"][next(iter(held))]["paid_on"])
    assert payments[KEEP].hold == "bookkeeping"
    assert payments[KEEP].hold_until == f"{held_on.year + 5}-12-31"
    assert dt.date.fromisoformat(payments[KEEP].hold_until) > today


def test_erasure_leaves_nothing_of_mette_but_the_held_payment_and_shared_addresses(rental_url):
    today = dt.date.today()
    mine = mettes_rows(rental_url)
    changing = changed_by_erasure(rental_url, mine, today)
    assert sorted(shared_addresses(rental_url, mine)) == [(1,), (2,)]  # her home (Ole's delivery), a store's
    assert traces(rental_url, MARKERS) != []
    unchanged_before = fingerprints(rental_url, KEYS, changing)
    connector = rental_connector(rental_url)

    connector.erasure_execute(ErasurePlan.from_dict(connector.erasure_plan(METTE).to_dict()))

    # Nothing that was Mette's is left anywhere: names, emails, phone, streets, notes, password hashes.
    assert traces(rental_url, MARKERS) == []
    # Other people's rows, the stores, cities, shared addresses and the held payment: the same bytes.
    assert fingerprints(rental_url, KEYS, changing) == unchanged_before
    # The payments past their hold are gone; the held one stays.
    assert scalar(rental_url, "SELECT count(*) FROM payment WHERE payment_id IN (1, 5)") == 0
    assert scalar(rental_url, "SELECT count(*) FROM payment WHERE payment_id = 2") == 1
    # shared: unlink: her rows no longer point at the addresses other people's rows use.
    assert scalar(rental_url, "SELECT count(*) FROM customer WHERE customer_id IN (1, 4) AND address_id IN (1, 2)") == 0
    linked = "SELECT count(*) FROM rental_order WHERE customer_id IN (1, 4) AND shipping_address_id IN (1, 2)"
    assert scalar(rental_url, linked) == 0
    customers = select(rental_url, "SELECT * FROM customer WHERE customer_id IN (1, 4) ORDER BY customer_id")
    assert [bool(row["active"]) for row in customers] == [False, False]
    assert [(row["first_name"], row["alt_email"], row["phone"]) for row in customers] == [("[erased]", None, None)] * 2
    assert customers[0]["email"] != customers[1]["email"]  # hashed, and still UNIQUE
    _foreign_keys_hold(rental_url)
    assert list(connector.records(METTE)) == []


def test_erasure_reports_per_table_the_rows_found_changed_kept_and_shared(rental_url):
    today = dt.date.today()
    mine = mettes_rows(rental_url)
    held = set(mine["payment"]) - payments_past_hold(rental_url, today)
    connector = rental_connector(rental_url)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    # A row counts once, however many of its columns changed (unlinking a shared address is one of them).
    assert fact_totals(result.facts) == {
        # (found, changed, kept, shared)
        ("customer", ANONYMISE): (2, 2, 0, 0),
        ("address", ANONYMISE): (4, 2, 0, 2),
        ("rental_order", ANONYMISE): (4, 4, 0, 0),
        ("payment", KEEP): (1, 0, 1, 0),
        ("payment", DELETE): (2, 2, 0, 0),
    }
    kept = next(fact for fact in result.facts if fact.table == "payment" and fact.action == KEEP)
    held_on = dt.date.fromisoformat(mine["payment"][next(iter(held))]["paid_on"])
    assert (kept.hold, kept.hold_until) == ("bookkeeping", f"{held_on.year + 5}-12-31")
    assert dt.date.fromisoformat(kept.hold_until) > today


def test_unlinking_a_shared_address_names_the_reference_column_among_those_changed(rental_url):
    connector = rental_connector(rental_url)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    # Her home and an order's delivery address are emptied: the facts (and so the letters) say so.
    columns = {fact.table: fact.columns for fact in result.facts if fact.action == ANONYMISE}
    address = next(fact for fact in result.facts if fact.table == "address")
    assert address.unlinked == address.shared > 0
    assert "address_id" in columns["customer"]
    assert "shipping_address_id" in columns["rental_order"]
    assert scalar(rental_url, "SELECT address_id FROM customer WHERE customer_id = 1") is None


def test_a_second_erasure_run_changes_nothing_and_still_reports_the_held_payment(rental_url):
    connector = rental_connector(rental_url)
    plan = connector.erasure_plan(METTE)
    connector.erasure_execute(plan)
    after_first = fingerprints(rental_url, KEYS, {})

    second = connector.erasure_execute(plan)

    assert sum(fact.changed for fact in second.facts) == 0
    assert [(f.table, f.kept) for f in second.facts if f.action == KEEP] == [("payment", 1)]
    assert fingerprints(rental_url, KEYS, {}) == after_first


def test_shared_skip_leaves_shared_addresses_and_her_references_to_them_and_reports_them(rental_url):
    today = dt.date.today()
    tables = rental_tables()
    tables["address"]["shared"] = "skip"
    mine = mettes_rows(rental_url)
    changing = changed_by_erasure(rental_url, mine, today)
    unchanged_before = fingerprints(rental_url, KEYS, changing)
    connector = rental_connector(rental_url, tables)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    address = [fact for fact in result.facts if fact.table == "address"]
    assert [(f.action, f.found, f.changed, f.shared) for f in address] == [(ANONYMISE, 4, 2, 2)]
    assert fingerprints(rental_url, KEYS, changing) == unchanged_before
    assert scalar(rental_url, "SELECT address_id FROM customer WHERE customer_id = 1") == 1
    assert scalar(rental_url, "SELECT shipping_address_id FROM rental_order WHERE order_id = 1") == 2
    streets = select(rental_url, "SELECT street FROM address WHERE address_id IN (3, 4)")
    assert [row["street"] for row in streets] == ["[erased]", "[erased]"]
    _foreign_keys_hold(rental_url)

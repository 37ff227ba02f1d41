"""Chinook, a real third-party database, registered as a `sql` source on SQLite and on PostgreSQL."""

import datetime as dt

import pytest
import sqlalchemy as sa

from dsr.sources.base import ANONYMISE, KEEP, UPDATE, ErasurePlan, Fact, SourcePermanentError
from dsr.sources.sql import SqlConnector
from tests.sources.maps import chinook_source, map_build

EMAIL = "luisg@embraer.com.br"  # Chinook customer 1


@pytest.fixture(params=["sqlite", "postgres"])
def chinook(request) -> tuple[SqlConnector, str, dict]:
    """Return the Chinook connector, its database URL and its table names."""
    if request.param == "sqlite":
        path = request.getfixturevalue("chinook_sqlite")
        url, naming = f"sqlite:///{path}", "pascal"
    else:
        url, naming = request.getfixturevalue("chinook_postgres"), "snake"
    names = (
        {
            "customer": "Customer",
            "invoice": "Invoice",
            "line": "InvoiceLine",
            "id": "CustomerId",
            "email": "Email",
            "invoice_id": "InvoiceId",
            "invoice_date": "InvoiceDate",
        }
        if naming == "pascal"
        else {
            "customer": "customer",
            "invoice": "invoice",
            "line": "invoice_line",
            "id": "customer_id",
            "email": "email",
            "invoice_id": "invoice_id",
            "invoice_date": "invoice_date",
        }
    )
    datamap = map_build({"chinook": chinook_source(url, naming)})
    return SqlConnector(datamap.sources["chinook"], datamap), url, names


def _rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY 1')]  # noqa: S608
    finally:
        engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        tables = sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            return {t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in tables}  # noqa: S608
    finally:
        engine.dispose()


def test_chinook_connection_test_passes_and_fails_once_a_mapped_table_is_gone(chinook):
    connector, url, names = chinook
    connector.test_connection()  # raises SourceError if the map and the database disagree

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'ALTER TABLE "{names["line"]}" RENAME TO "moved_lines"')
    finally:
        engine.dispose()
    with pytest.raises(SourcePermanentError, match=names["line"]):
        connector.test_connection()


def test_access_finds_the_customer_and_all_their_invoices_and_lines(chinook):
    connector, url, names = chinook
    records = list(connector.records({"email": {"  LuisG@Embraer.com.br "}}))
    by_table: dict[str, list] = {}
    for record in records:
        by_table.setdefault(record.table, []).append(record)
    assert len(by_table[names["customer"]]) == 1
    customer = by_table[names["customer"]][0]
    assert customer.row[names["email"]] == EMAIL
    assert customer.categories[names["email"]] == "contact"
    assert customer.provided is True
    invoices = [row for row in _rows(url, names["invoice"]) if row[1] == 1]
    assert len(by_table[names["invoice"]]) == len(invoices) == 7
    invoice_ids = {row[0] for row in invoices}
    lines = [row for row in _rows(url, names["line"]) if row[1] in invoice_ids]
    assert len(by_table[names["line"]]) == len(lines) == 38
    assert by_table[names["invoice"]][0].provided is False


def test_access_leaves_out_the_support_representative(chinook):
    connector, _, names = chinook
    customer = next(r for r in connector.records({"email": {EMAIL}}) if r.table == names["customer"])
    assert not any("support" in column.lower() for column in customer.row)


def test_access_for_an_unknown_person_finds_nothing(chinook):
    connector, _, _ = chinook
    assert list(connector.records({"email": {"nobody@example.com"}})) == []


def test_discovery_finds_the_customers_phone_from_the_email(chinook):
    connector, _, _ = chinook
    found = connector.discover_identifiers({"email": {EMAIL}})
    assert found["email"] == {EMAIL}
    assert found["phone"] == {"+551239235555"}  # stored as "+55 (12) 3923-5555"


def test_erasure_plan_anonymises_the_customer_and_keeps_invoices_under_bookkeeping_hold(chinook):
    connector, _, names = chinook
    plan = connector.erasure_plan({"email": {EMAIL}})
    tables = {table.table: table for table in plan.tables}
    assert tables[names["customer"]].action == ANONYMISE
    assert tables[names["customer"]].count == 1
    assert tables[names["invoice"]].action == KEEP
    assert tables[names["invoice"]].count == 7
    assert tables[names["invoice"]].hold == "bookkeeping"
    assert tables[names["customer"]].categories == ["identity", "contact"]
    assert tables[names["invoice"]].categories == tables[names["line"]].categories == []
    # The customer's last invoice is from 2025 in Chinook 1.4.5: kept until 5 years after that year ends.
    last_year = dt.date.fromisoformat(tables[names["invoice"]].hold_until).year - 5
    assert tables[names["invoice"]].hold_until == f"{last_year + 5}-12-31"
    assert tables[names["line"]].action == KEEP
    assert tables[names["line"]].count == 38
    assert plan.counts() == {ANONYMISE: 1, KEEP: 45}


def test_erasure_plan_survives_a_round_trip_through_json(chinook):
    connector, _, _ = chinook
    plan = connector.erasure_plan({"email": {EMAIL}})
    assert ErasurePlan.from_dict(plan.to_dict()) == plan


def test_erasure_execute_keeps_foreign_keys_and_changes_nothing_else(chinook):
    connector, url, names = chinook
    counts_before = _counts(url)
    others_before = [row for row in _rows(url, names["customer"]) if row[0] != 1]
    invoices_before = _rows(url, names["invoice"])
    plan = connector.erasure_plan({"email": {EMAIL}})

    result = connector.erasure_execute(plan)

    customer_columns = list(plan.tables[0].fields)
    invoice_until = plan.tables[1].hold_until
    assert result.facts == [
        Fact(
            table=names["customer"],
            action=ANONYMISE,
            found=1,
            changed=1,
            columns=customer_columns,
            categories=["identity", "contact"],
        ),
        Fact(
            table=names["invoice"],
            action=KEEP,
            found=7,
            kept=7,
            hold="bookkeeping",
            hold_until=plan.tables[1].hold_until,
        ),
        # Lines have no date: each is kept as long as its invoice.
        Fact(table=names["line"], action=KEEP, found=38, kept=38, hold="bookkeeping", hold_until=invoice_until),
    ]
    assert invoice_until is not None
    assert _counts(url) == counts_before
    assert [row for row in _rows(url, names["customer"]) if row[0] != 1] == others_before
    assert _rows(url, names["invoice"]) == invoices_before
    erased = next(row for row in _rows(url, names["customer"]) if row[0] == 1)
    assert EMAIL not in erased
    assert "Luís" not in erased
    assert list(connector.records({"email": {EMAIL}})) == []
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        engine.dispose()


def test_erasure_execute_twice_changes_nothing_the_second_time(chinook):
    connector, url, names = chinook
    plan = connector.erasure_plan({"email": {EMAIL}})
    connector.erasure_execute(plan)
    after_first = _rows(url, names["customer"])

    second = connector.erasure_execute(plan)

    assert [(f.found, f.changed, f.kept, f.categories) for f in second.facts] == [
        (1, 0, 0, []),
        (7, 0, 7, []),
        (38, 0, 38, []),
    ]
    assert _rows(url, names["customer"]) == after_first


def test_erasure_executes_the_plan_not_a_fresh_query(chinook):
    connector, url, names = chinook
    plan = connector.erasure_plan({"email": {EMAIL}})
    # A second customer takes the same address after the plan was shown: it is not in the plan.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f'UPDATE "{names["customer"]}" SET "{names["email"]}" = :email WHERE "{names["id"]}" = 2'),  # noqa: S608
            {"email": EMAIL},
        )
    engine.dispose()

    result = connector.erasure_execute(plan)

    assert (result.facts[0].table, result.facts[0].found, result.facts[0].changed) == (names["customer"], 1, 1)
    assert next(row for row in _rows(url, names["customer"]) if row[0] == 2)[-2] == EMAIL


def test_rectification_updates_the_mapped_field_and_reports_the_rest(chinook):
    connector, url, names = chinook
    corrections = [{"field": "address", "correct": "Ny Vej 1"}, {"field": "shoe_size", "correct": "44"}]
    address = "Address" if names["customer"] == "Customer" else "address"
    expected = Fact(
        table=names["customer"],
        action=UPDATE,
        found=1,
        changed=1,
        item="address",
        columns=[address],
        categories=["contact"],
    )

    preview = connector.rectification_preview({"email": {EMAIL}}, corrections)
    assert next(row for row in _rows(url, names["customer"]) if row[0] == 1)[4] != "Ny Vej 1"
    result = connector.rectify({"email": {EMAIL}}, corrections)

    assert preview == result.facts == [expected]
    assert result.not_applicable == ["shoe_size"]
    assert next(row for row in _rows(url, names["customer"]) if row[0] == 1)[4] == "Ny Vej 1"


def test_invoices_whose_hold_has_ended_are_deleted_with_their_lines_and_the_rest_kept(chinook, time_machine):
    # Bookkeeping Act § 10: five years from the end of the invoice's financial year, invoice by invoice.
    connector, url, names = chinook
    time_machine.move_to(dt.datetime(2029, 1, 15, 12, tzinfo=dt.UTC))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        invoices = conn.execute(
            sa.text(
                f'SELECT "{names["invoice_id"]}", "{names["invoice_date"]}" FROM "{names["invoice"]}" '  # noqa: S608
                f'WHERE "{names["id"]}" = 1'
            )
        ).all()
        lines_before = _counts(url)[names["line"]]
    engine.dispose()
    # The hold ends on 31 December five years after the invoice's year.
    ended = {row[0] for row in invoices if str(row[1])[:4] < "2024"}
    running = {row[0] for row in invoices} - ended
    assert ended
    assert running

    plan = connector.erasure_plan({"email": {EMAIL}})
    result = connector.erasure_execute(plan)

    facts = {(fact.table, fact.action): fact for fact in result.facts}
    kept = facts[(names["invoice"], KEEP)]
    assert (kept.kept, kept.hold_until) == (len(running), "2030-12-31")
    assert facts[(names["invoice"], "delete")].changed == len(ended)
    deleted_lines = facts[(names["line"], "delete")].changed
    assert deleted_lines > 0
    assert facts[(names["line"], KEEP)].hold_until == "2030-12-31"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        left = set(
            conn.execute(
                sa.text(
                    f'SELECT "{names["invoice_id"]}" FROM "{names["invoice"]}" '  # noqa: S608
                    f'WHERE "{names["id"]}" = 1'
                )
            ).scalars()
        )
    engine.dispose()
    assert left == running
    assert _counts(url)[names["line"]] == lines_before - deleted_lines

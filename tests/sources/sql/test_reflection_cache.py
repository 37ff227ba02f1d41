"""A sql connector reflects its tables once, and again only when the database's schema has changed."""

import pytest
import sqlalchemy as sa

from tests.sources.sql.test_chinook import EMAIL, chinook  # noqa: F401  (the fixture, reused)


@pytest.fixture
def reflected() -> list[tuple[str, str]]:
    """Record every (table, column) SQLAlchemy reflects while the test runs."""
    seen: list[tuple[str, str]] = []

    def on_reflect(inspector, table, column_info) -> None:
        seen.append((table.name, column_info["name"]))

    sa.event.listen(sa.Table, "column_reflect", on_reflect)
    yield seen
    sa.event.remove(sa.Table, "column_reflect", on_reflect)


def _schema_change(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def test_the_tables_are_reflected_once_while_the_schema_is_unchanged(chinook, reflected):
    connector, _, _ = chinook
    first = [(record.table, sorted(record.row.items())) for record in connector.records({"email": {EMAIL}})]
    after_first = len(reflected)

    again = [(record.table, sorted(record.row.items())) for record in connector.records({"email": {EMAIL}})]
    found = connector.discover_identifiers({"email": {EMAIL}})

    assert after_first > 0
    assert len(reflected) == after_first
    assert again == first
    assert EMAIL in found["email"]


def test_a_schema_changed_between_operations_is_reflected_again(chinook, reflected):
    connector, url, names = chinook
    list(connector.records({"email": {EMAIL}}))
    _schema_change(url, f'ALTER TABLE "{names["customer"]}" ADD COLUMN loyalty_note VARCHAR(20)')
    before = len(reflected)

    records = list(connector.records({"email": {EMAIL}}))

    assert (names["customer"], "loyalty_note") in reflected[before:]
    assert any(record.table == names["customer"] for record in records)


@pytest.fixture
def built(chinook, monkeypatch) -> list[tuple[str, tuple]]:
    """Record every condition the connector builds to find the person in a table: (table, identifiers)."""
    connector, _, _ = chinook
    seen: list[tuple[str, tuple]] = []
    build = connector._match_build

    def spy(conn, name, identifiers):
        seen.append((name, tuple(sorted((kind, tuple(sorted(values))) for kind, values in identifiers.items()))))
        return build(conn, name, identifiers)

    monkeypatch.setattr(connector, "_match_build", spy)
    return seen


def test_a_table_reached_through_several_links_is_matched_once_per_operation(chinook, built):
    connector, _, names = chinook

    erasure = connector.erasure_plan({"email": {EMAIL}})

    assert erasure.tables  # the plan names the person's rows in the linked tables
    assert [name for name, _ in built].count(names["customer"]) == 1  # the invoice and its lines link through it
    assert len(built) == len(set(built))


def test_each_operation_and_each_person_gets_conditions_of_its_own(chinook, built):
    connector, _, names = chinook
    other = "luisg@embraer.com.br"

    first = [(record.table, sorted(record.row.items())) for record in connector.records({"email": {EMAIL}})]
    again = [(record.table, sorted(record.row.items())) for record in connector.records({"email": {EMAIL}})]
    someone_else = [record for record in connector.records({"email": {other}})]

    assert again == first
    assert [name for name, _ in built].count(names["customer"]) == 3
    assert {record.row.get(names["email"]) for record in someone_else if record.table == names["customer"]} == {other}

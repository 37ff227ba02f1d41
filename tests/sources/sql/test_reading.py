"""The sql connector's rows in batches: the values of a row-by-row read, on SQLite and PostgreSQL."""

import base64
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dsr.sources.base import value_jsonable
from dsr.sources.batches import RecordBatch
from tests.sources.sql.loyalty import METTE, loyalty_connector, loyalty_tables

_METADATA = sa.MetaData()
CITY = sa.Table("city", _METADATA, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(40)))
VISIT = sa.Table(
    "visit",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(120), nullable=False),
    sa.Column("city_id", sa.Integer, sa.ForeignKey("city.id")),
    sa.Column("day", sa.Date, nullable=False),  # never NULL: a column of dates alone
    sa.Column("at", sa.DateTime),
    sa.Column("at_zone", sa.DateTime(timezone=True)),
    sa.Column("since", sa.Time),
    sa.Column("amount", sa.Numeric(10, 2)),
    sa.Column("photo", sa.LargeBinary),
    sa.Column("paid", sa.Boolean),
    sa.Column("score", sa.Float),
    sa.Column("note", sa.Text),
)
ROWS = 23
TABLES = {
    "city": {"context": {"label": "name"}},
    "visit": {
        "identifiers": {"email": "email"},
        "categories": {"amount": "transaction", "email": "contact"},
        "erasure": {"strategy": "delete"},
    },
}


def _visit(i: int) -> dict:
    return {
        "id": i + 1,
        "email": "mette@example.dk" if i != 5 else "other@example.dk",
        "city_id": None if i % 4 == 0 else 1 + i % 2,
        "day": dt.date(2024, 2, 29) + dt.timedelta(days=i),
        "at": None if i % 3 == 0 else dt.datetime(2024, 3, 1, 10, 11, 12, 5000 * i),
        "at_zone": dt.datetime(2024, 3, 1, 10, i, tzinfo=dt.UTC),
        "since": dt.time(8, i),
        "amount": None if i == 7 else Decimal(f"{i}.25"),
        "photo": bytes([i, 0, 255, 10]) if i % 2 else None,
        "paid": None if i == 2 else i % 2 == 0,
        "score": i / 3,
        "note": 'Åse, "Bo"\nline' if i == 4 else None,
    }


@pytest.fixture
def visits(loyalty_url) -> str:
    engine = sa.create_engine(loyalty_url)
    with engine.begin() as conn:
        _METADATA.create_all(conn)
        conn.execute(sa.insert(CITY), [{"id": 1, "name": "Aarhus"}, {"id": 2, "name": "Ærø"}])
        conn.execute(sa.insert(VISIT), [_visit(i) for i in range(ROWS)])
    engine.dispose()
    return loyalty_url


def _read_row_by_row(url: str) -> list[tuple]:
    """Return Mette's visits as a row-by-row read gives them: each value JSON cannot carry, converted."""
    engine = sa.create_engine(url)
    city = CITY.alias("label")
    query = (
        sa.select(*VISIT.c, city.c.name)
        .select_from(VISIT.outerjoin(city, VISIT.c.city_id == city.c.id))
        .where(VISIT.c.email == "mette@example.dk")
        .order_by(VISIT.c.id)
    )
    with engine.connect() as conn:
        rows = [tuple(value_jsonable(value) for value in row) for row in conn.execute(query)]
    engine.dispose()
    return rows


def test_batches_hold_the_values_a_row_by_row_read_converts(visits):
    connector = loyalty_connector(visits, TABLES, batch_size=4)

    batches = [batch for batch in connector.record_batches(METTE) if batch.table == "visit"]

    assert [len(batch) for batch in batches] == [4, 4, 4, 4, 4, 2]
    assert batches[0].columns == (*(column.name for column in VISIT.c), "city_id (label)")
    assert batches[0].categories == {"amount": "transaction", "email": "contact"}
    rows = [row for batch in batches for row in batch.rows]
    assert rows == _read_row_by_row(visits)
    first, second = rows[0], rows[1]
    assert first[3:5] == ("2024-02-29", None)
    assert first[5].startswith("2024-03-01T10:00:00")
    assert second[4] == "2024-03-01T10:11:12.005000"
    assert second[6:9] == ("08:01:00", "1.25", base64.b64encode(bytes([1, 0, 255, 10])).decode())
    assert second[9:] == (False, 1 / 3, None, "Ærø")
    assert rows[4][11] == 'Åse, "Bo"\nline'
    assert all(isinstance(row, tuple) for row in rows)


def test_records_are_the_batches_rows_one_by_one(visits):
    connector = loyalty_connector(visits, TABLES, batch_size=5)

    records = list(connector.records(METTE))
    batches = list(connector.record_batches(METTE))

    assert [record.row for record in records] == [
        dict(zip(batch.columns, row, strict=True)) for batch in batches for row in batch.rows
    ]
    assert {(record.table, record.provided) for record in records} == {("visit", False)}


def test_a_batch_shows_the_consents_its_rows_show(loyalty_url):
    connector = loyalty_connector(loyalty_url, loyalty_tables(), batch_size=1)

    batches = list(connector.record_batches(METTE))
    shown = set().union(*(connector.batch_consents(batch) for batch in batches))

    assert shown == {"newsletter"}
    assert shown == {given for record in connector.records(METTE) if (given := connector.consent_given(record))}
    assert {batch.table for batch in batches} == {"member", "card", "points", "consent"}
    foreign = RecordBatch("other", "consent", ("purpose", "granted"), [("sms", True)], {}, False)
    assert connector.batch_consents(foreign) == set()

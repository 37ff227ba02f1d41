"""What the hard-schema tests share: databases built from DDL, and ground truth read with the tests' own SQL.

Nothing here asks the connector anything. The rows a person has are selected
with plain SQL written for each schema, rows are compared after normalising
only what the database driver returns (the connector's side is compared as it
comes), and "unchanged" means the same bytes before and after.
"""

import calendar
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from dsr.sources.base import Fact, Record
from dsr.sources.sql import SqlConnector
from tests.sources.maps import BASE_MAP, map_build

METTE = {"email": {"mette@example.dk"}}
# The person as the ground-truth SQL matches her: trimmed and lower-cased, like any email.
METTE_EMAIL = "mette@example.dk"

Key = tuple
Statements = Callable[[str], list[str]]  # dialect name ("sqlite", "postgresql") -> SQL statements


def years_ago(today: dt.date, years: int) -> dt.date:
    """Return the same day ``years`` earlier (28 February for a 29th that year lacks)."""
    year = today.year - years
    return today.replace(year=year, day=min(today.day, calendar.monthrange(year, today.month)[1]))


def years_after(day: dt.date, years: int) -> dt.date:
    return years_ago(day, -years)


def database_create(request: pytest.FixtureRequest, tmp_path: Path, statements: Statements) -> str:
    """Return the URL of a fresh database (``request.param``: sqlite or postgres) filled by ``statements``."""
    if request.param == "sqlite":
        path = tmp_path / "hard.sqlite"
        path.touch()
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")[0]
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # The data is loaded with its foreign keys checked, as the connector's connections check them.
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            for statement in statements(conn.dialect.name):
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    return url


def sql_split(script: str) -> list[str]:
    """Return the statements of a script (no literal in these schemas holds a semicolon)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def select(url: str, sql: str, **params) -> list[dict]:
    """Return the rows ``sql`` selects as dicts, read over a connection of the test's own."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params):
    rows = select(url, sql, **params)
    return next(iter(rows[0].values())) if rows else None


_DRIVER_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d")


def expected_value(value):
    """Return a value as the driver gave it, in the form an export carries it (ISO dates, decimals as text).

    SQLite's driver gives dates as the text stored ("2024-03-01 10:00:00"); an export
    writes them in ISO form ("2024-03-01T10:00:00"). Booleans need nothing: 1 == True.
    """
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str) and _DRIVER_TIMESTAMP.match(value):
        return value.replace(" ", "T", 1)
    return value


def truth(url: str, sql: str, key: Iterable[str], **params) -> dict[Key, dict]:
    """Return the rows the ground-truth ``sql`` selects, by primary key, values as an export carries them."""
    key = tuple(key)
    found = {}
    for row in select(url, sql, email=METTE_EMAIL, **params):
        values = {column: expected_value(value) for column, value in row.items()}
        found[tuple(values[column] for column in key)] = values
    return found


def exported(records: list[Record], table: str, key: Iterable[str]) -> dict[Key, dict]:
    """Return the exported rows of ``table`` by primary key; a row exported twice fails the test here."""
    key = tuple(key)
    rows = [record.row for record in records if record.table == table]
    keyed = {tuple(row[column] for column in key): row for row in rows}
    assert len(keyed) == len(rows), f"{table}: {len(rows) - len(keyed)} rows exported more than once"
    return keyed


def fingerprint(url: str, table: str, key: Iterable[str], leave_out: Iterable[Key] = ()) -> str:
    """Return a SHA-256 of every column of every row of ``table`` but ``leave_out``, in key order.

    ``leave_out`` holds keys as ``truth`` gives them (dates in ISO form); the bytes hashed are the driver's.
    """
    key, leave_out = tuple(key), set(leave_out)
    order = ", ".join(f'"{column}"' for column in key)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY {order}')  # noqa: S608
            columns = list(result.keys())
            digest = hashlib.sha256(repr(columns).encode())
            for row in result:
                values = dict(zip(columns, row, strict=True))
                if tuple(expected_value(values[column]) for column in key) not in leave_out:
                    digest.update(repr(tuple(row)).encode())
    finally:
        engine.dispose()
    return digest.hexdigest()


def fingerprints(url: str, keys: dict[str, tuple], leave_out: dict[str, set]) -> dict[str, str]:
    """Return the fingerprint of each table of ``keys`` (table -> key columns), leaving out the given rows."""
    return {table: fingerprint(url, table, key, leave_out.get(table, ())) for table, key in keys.items()}


def traces(url: str, markers: Iterable[str]) -> list[str]:
    """Return "table.column" for every value anywhere in the database that holds one of ``markers``.

    A marker is matched case-insensitively, and digits-only markers (phone
    numbers) also against the value with every non-digit taken out.
    """
    markers = [marker.lower() for marker in markers]
    engine = sa.create_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                result = conn.exec_driver_sql(f'SELECT * FROM "{table}"')  # noqa: S608
                columns = list(result.keys())
                for row in result:
                    for column, value in zip(columns, row, strict=True):
                        if value is None:
                            continue
                        text = str(value).lower()
                        digits = re.sub(r"\D", "", text)
                        for marker in markers:
                            if marker in text or (marker.isdigit() and marker in digits):
                                found.append(f"{table}.{column}")
    finally:
        engine.dispose()
    return sorted(set(found))


def fact_totals(facts: list[Fact]) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """Return (found, changed, kept, shared) per table and action, summed over the facts."""
    totals: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    for fact in facts:
        before = totals.get((fact.table, fact.action), (0, 0, 0, 0))
        counts = (fact.found or 0, fact.changed, fact.kept, fact.shared)
        totals[(fact.table, fact.action)] = tuple(a + b for a, b in zip(before, counts, strict=True))
    return totals


def connector_build(key: str, name: str, url: str, tables: dict, **sections) -> SqlConnector:
    """Return a connector for one sql source with ``tables``, in a map with the test purposes and holds."""
    source = {
        "name": name,
        "kind": "sql",
        "purposes": ["account", "bookkeeping"],
        "origin": {"da": "Fra kunden", "en": "From the customer"},
        "url": url,
        "tables": tables,
    }
    datamap = map_build({key: source}, **sections)
    return SqlConnector(datamap.sources[key], datamap)


def holds_with(**extra: dict) -> dict:
    """Return the base map's legal holds and ``extra`` ones."""
    return {**BASE_MAP["legal_holds"], **extra}


def categories_with(*keys: str) -> dict:
    """Return the base map's data categories and ``keys`` as more."""
    return {**BASE_MAP["categories"], **{key: {"name": {"da": key, "en": key}} for key in keys}}

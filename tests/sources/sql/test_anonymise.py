"""What erasure writes into an anonymised column: sized to it, unique where it must be, refused where it cannot fit."""

import datetime as dt

import pytest
import sqlalchemy as sa
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dsr.sources.base import DEFAULT_REDACTION
from dsr.sources.sql import engines_dispose
from dsr.sources.sql.anonymise import (
    HASH_MIN_LENGTH,
    _hash_fitted,
    _hash_key,
    _hmac_pads,
    anonymised_value,
    hash_sql,
    hash_sql_fits,
    method_describe,
    method_problem,
)
from dsr.sources.sql.connection import engine_get
from dsr.sources.sql.schema import LiveColumn, live_schema_read

PERSON_SCHEMA = """
CREATE TABLE person (
    org_id INTEGER NOT NULL,
    person_no INTEGER NOT NULL,
    code VARCHAR(16) NOT NULL UNIQUE,
    email VARCHAR(40) UNIQUE,
    nick CHAR(20),
    handle VARCHAR(64) UNIQUE,
    note TEXT,
    label VARCHAR(12) NOT NULL,
    active BOOLEAN NOT NULL,
    born DATE,
    seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, person_no)
)
"""
FIELDS = {
    "code": "hash",
    "email": "hash",
    "nick": "hash",
    "handle": "hash",
    "note": "redact",
    "label": "redact",
    "active": {"set": False},
    "born": {"truncate": "year"},
    "seen_at": {"truncate": "month"},
}


def _text(length: int | None, *, nullable: bool = True, unique: bool = False) -> LiveColumn:
    kind = f"VARCHAR({length})" if length else "TEXT"
    return LiveColumn("name", kind, nullable, length=length, is_text=True, unique=unique)


INTEGER = LiveColumn("points", "INTEGER", False, is_number=True)
FLAG = LiveColumn("active", "BOOLEAN", False, is_bool=True)
BIRTH = LiveColumn("born", "DATE", True, is_date=True)


def _value(method, column: LiveColumn, key=1, current=None):
    where = "shop\x1fcustomer\x1f" + column.name
    return anonymised_value(method, column=column, where=where, key=key, current=current, redaction=DEFAULT_REDACTION)


@pytest.fixture(params=["sqlite", "postgres"])
def person_url(request, tmp_path) -> str:
    """Return the URL of a database with one table of awkward columns (SQLite file or throwaway PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'person.sqlite'}" if request.param == "sqlite" else None
    url = url or request.getfixturevalue("postgres_database")[0]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PERSON_SCHEMA)
    engine.dispose()
    yield url
    engines_dispose()


def test_anonymised_rows_fit_the_real_columns_and_stay_unique(person_url):
    engine = sa.create_engine(person_url)
    try:
        with engine.connect() as conn:
            columns = live_schema_read(conn).tables["person"].columns
        assert all(
            method_problem(method, columns[name], redaction=DEFAULT_REDACTION) is None
            for name, method in FIELDS.items()
        )
        seen_at = dt.datetime(2024, 5, 17, 13, 45, 12)
        rows = []
        for number in range(300):
            key = [number % 3, number]
            row = {"org_id": key[0], "person_no": key[1], "born": dt.date(1980, 7, 9), "seen_at": seen_at}
            for name, method in FIELDS.items():
                where = f"shop\x1fperson\x1f{name}"
                current = row.get(name)
                row[name] = anonymised_value(
                    method, column=columns[name], where=where, key=key, current=current, redaction=DEFAULT_REDACTION
                )
            rows.append(row)
        table = sa.Table("person", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:  # PostgreSQL refuses a value too long for its column, both refuse a duplicate
            conn.execute(sa.insert(table), rows)
        with engine.connect() as conn:
            stored = conn.execute(sa.select(table).order_by(table.c.person_no)).mappings().all()
    finally:
        engine.dispose()
    assert len({row["code"] for row in stored}) == 300
    assert all(len(row["code"]) == 16 and len(row["email"]) == 40 and len(row["handle"]) == 64 for row in stored)
    assert stored[0]["label"] == "[erased]"
    assert stored[0]["active"] is False
    assert stored[0]["born"] == dt.date(1980, 1, 1)
    assert stored[0]["seen_at"] == dt.datetime(2024, 5, 1)


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=3)), max_size=150),
    length=st.integers(min_value=16, max_value=90),
)
def test_a_hash_fits_any_column_of_16_characters_or_more_and_never_repeats(keys, length):
    column = _text(length, unique=True)
    distinct = {repr(key) for key in keys}
    values = {_value("hash", column, key=key) for key in keys}
    assert len(values) == len(distinct)
    assert all(len(value) <= length for value in values)


def test_a_hash_is_full_hex_where_it_fits_and_denser_where_the_column_is_short(settings):
    assert _value("hash", _text(None)).startswith("anon-")
    assert len(_value("hash", _text(None))) == 69
    assert len(_value("hash", _text(64))) == 64
    assert int(_value("hash", _text(64)), 16)
    short = _value("hash", _text(20))
    assert len(short) == 20
    assert short.isalnum()
    assert short != _value("hash", _text(64))[:20]
    assert _value("hash", _text(20)) == short  # a second run writes the same
    assert _value("hash", _text(20), key=2) != short
    settings.DSR_ANONYMISE_KEY = "another installation's key"
    assert _value("hash", _text(20)) != short
    with pytest.raises(ValueError, match="16"):
        _value("hash", _text(15))


def test_redact_clear_and_set_write_what_the_map_says():
    assert _value("redact", _text(100)) == DEFAULT_REDACTION
    assert _value("redact", _text(5)) == "[eras"
    assert _value("clear", _text(10)) is None
    assert _value(None, _text(10)) is None
    assert _value({"set": False}, FLAG) is False
    assert _value({"set": 0}, INTEGER) == 0
    with pytest.raises(ValueError, match="unknown method"):
        _value("scramble", _text(10))


@pytest.mark.parametrize(
    ("current", "unit", "expected"),
    [
        (dt.date(1980, 7, 9), "year", dt.date(1980, 1, 1)),
        (dt.date(1980, 7, 9), "month", dt.date(1980, 7, 1)),
        (dt.datetime(2024, 5, 17, 13, 45, 12, 5), "year", dt.datetime(2024, 1, 1)),
        (dt.datetime(2024, 5, 17, 13, 45, tzinfo=dt.UTC), "month", dt.datetime(2024, 5, 1, tzinfo=dt.UTC)),
        ("1980-07-09", "year", "1980-01-01"),  # SQLite hands dates back as text
        ("2024-05-17 13:45:12", "month", "2024-05-01 00:00:00"),
        (None, "year", None),
    ],
)
def test_truncate_keeps_only_the_year_or_month_of_a_date(current, unit, expected):
    assert _value({"truncate": unit}, BIRTH, current=current) == expected


@pytest.mark.parametrize(
    ("method", "column", "fragment"),
    [
        ("clear", _text(10, nullable=False), "NOT NULL"),
        (None, INTEGER, "NOT NULL"),
        ("hash", INTEGER, "not text"),
        ("hash", _text(15), "16"),
        ("redact", INTEGER, "not text"),
        ("redact", _text(5), "fewer than the redaction text"),
        ("redact", _text(40, unique=True), "UNIQUE"),
        ({"set": 1}, FLAG, "not a number"),
        ({"set": "no"}, FLAG, "not text"),
        ({"set": True}, INTEGER, "not boolean"),
        ({"set": None}, FLAG, "NOT NULL"),
        ({"set": "too long for it"}, _text(10), "takes 10 characters"),
        ({"set": "x"}, _text(10, unique=True), "UNIQUE"),
        ({"set": "sometime"}, BIRTH, "not one"),
        ({"set": [1]}, _text(10), "cannot be set"),
        ({"truncate": "year"}, INTEGER, "not a date"),
        ({"truncate": "week"}, BIRTH, "year or month"),
        ({"scramble": 1}, _text(10), "unknown method"),
    ],
)
def test_a_method_the_column_cannot_take_is_explained(method, column, fragment):
    problem = method_problem(method, column, redaction=DEFAULT_REDACTION)
    assert problem is not None
    assert fragment in problem
    assert f'"{column.name}"' in problem or "truncate" in problem or "unknown" in problem


@pytest.mark.parametrize(
    ("method", "column"),
    [
        ("clear", _text(10)),
        ("hash", _text(16, unique=True)),
        ("hash", _text(None)),
        ("redact", _text(8)),
        ({"set": False}, FLAG),
        ({"set": 0}, INTEGER),
        ({"set": "unknown"}, _text(10)),
        ({"set": None}, _text(10, unique=True)),
        ({"set": "1900-01-01"}, BIRTH),
        ({"truncate": "month"}, BIRTH),
        ("redact", LiveColumn("anything", "", False)),  # SQLite: a column declared without a type
    ],
)
def test_a_method_that_fits_the_column_passes(method, column):
    assert method_problem(method, column, redaction=DEFAULT_REDACTION) is None


def test_a_redaction_text_of_the_source_sets_how_long_a_redacted_column_must_be():
    assert method_problem("redact", _text(8), redaction="[slettet af dsr]") is not None
    assert method_problem("redact", _text(16), redaction="[slettet af dsr]") is None


@pytest.mark.parametrize(
    ("method", "label"),
    [
        ("clear", {"da": "tøm", "en": "clear"}),
        (None, {"da": "tøm", "en": "clear"}),
        ("redact", {"da": "maskér", "en": "redact"}),
        ("hash", {"da": "nøglehash", "en": "keyed hash"}),
        ({"set": False}, {"da": "sæt til false", "en": "set to false"}),
        ({"set": "ukendt"}, {"da": 'sæt til "ukendt"', "en": 'set to "ukendt"'}),
        ({"truncate": "year"}, {"da": "afkort til år", "en": "truncate to the year"}),
        ({"truncate": "month"}, {"da": "afkort til måned", "en": "truncate to the month"}),
    ],
)
def test_staff_pages_name_each_method_in_both_languages(method, label):
    assert method_describe(method) == label


# --- the keyed hash computed by PostgreSQL (dsr/sources/sql/anonymise.py: hash_sql) ---------------------


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    secret=st.text(min_size=1, max_size=80),
    where=st.text(max_size=40),
    keys=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1, max_size=20, unique=True),
    length=st.one_of(st.none(), st.integers(min_value=HASH_MIN_LENGTH, max_value=90)),
)
def test_postgresql_computes_the_same_keyed_hash_as_python(postgres_database, secret, where, keys, length):
    engine = sa.create_engine(postgres_database[0])
    table = sa.Table(
        "hashed", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True), sa.Column("value", sa.Text)
    )
    try:
        with override_settings(DSR_ANONYMISE_KEY=secret), engine.begin() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
            conn.execute(sa.insert(table), [{"id": key} for key in keys])
            statement = sa.update(table).values(value=hash_sql(where, table.c.id, length, name="h"))
            stored = dict(conn.execute(statement.returning(table.c.id, table.c.value)).all())
            expected = {key: _hash_fitted(where, key, length) for key in keys}
    finally:
        engine.dispose()
    assert stored == expected


def test_the_keyed_hash_is_computed_by_postgresql_only_for_whole_number_keys():
    table = sa.Table("t", sa.MetaData(), sa.Column("n", sa.Integer), sa.Column("code", sa.String(8)))
    assert hash_sql_fits(table.c.n)
    assert not hash_sql_fits(table.c.code)  # Python's repr of a text ('a') is not its text in PostgreSQL


def test_a_failing_statement_never_shows_the_anonymising_key(postgres_database, settings, caplog):
    settings.DSR_ANONYMISE_KEY = "the installation's own secret"
    engine = engine_get(postgres_database[0])
    table = sa.Table(
        "short", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String(16))
    )
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(sa.insert(table), [{"id": 1}])
    inner, outer = _hmac_pads()
    # Written as if the column had no length: PostgreSQL refuses the 69 characters, the statement fails.
    statement = sa.update(table).values(code=hash_sql("shop\x1fshort\x1fcode", table.c.id, None, name="h"))
    with pytest.raises(sa.exc.DBAPIError) as failed, engine.begin() as conn:
        conn.execute(statement)
    shown = str(failed.value) + caplog.text
    assert "too long" in shown
    assert "parameters hidden" in shown
    for secret in (inner, outer, _hash_key()):
        assert secret.hex() not in shown
        assert repr(secret)[2:30] not in shown
    assert "the installation's own secret" not in shown

"""A batch's keys sent to PostgreSQL as one array literal: every text and whole number reads back as itself."""

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from dsr.sources.sql.key_arrays import array_fits, array_text

# PostgreSQL's text holds any character but NUL.
TEXTS = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
AWKWARD = ["plain", "", " spaced ", "with,comma", "{braces}", 'quote"d', "back\\slash", '\\"', "NULL", "æøå ✓", "it's"]


@pytest.fixture
def postgres(postgres_database):
    engine = sa.create_engine(postgres_database[0])
    yield engine
    engine.dispose()


def _read_back(engine, keys: list, kind) -> list:
    array = sa.cast(sa.literal(array_text(keys), sa.Text()), postgresql.ARRAY(kind))
    with engine.connect() as conn:
        return conn.execute(sa.select(array)).scalar_one()


def test_awkward_texts_read_back_as_themselves(postgres):
    assert _read_back(postgres, AWKWARD, sa.Text()) == AWKWARD


def test_whole_numbers_read_back_as_themselves(postgres):
    keys = [1, -7, 0, 2**40, 42]
    assert _read_back(postgres, keys, sa.BigInteger()) == keys
    assert _read_back(postgres, [], sa.Integer()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(TEXTS, max_size=8))
def test_any_texts_read_back_as_themselves(postgres, keys):
    assert _read_back(postgres, keys, sa.Text()) == keys


def test_an_array_is_used_only_for_keys_all_of_the_column_type():
    number, text = sa.Column("id", sa.Integer()), sa.Column("code", sa.String(20))
    assert array_fits(number, [1, 2, 3])
    assert array_fits(number, [])
    assert not array_fits(number, [1, True])  # a boolean is no key number
    assert not array_fits(number, [1, "2"])
    assert array_fits(text, ["a", "b"])
    assert not array_fits(text, ["a", 1])
    assert not array_fits(sa.Column("day", sa.Date()), ["2020-01-01"])

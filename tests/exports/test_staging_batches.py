"""Staging rows in batches writes what staging the same rows one Record at a time writes, byte for byte."""

import base64
import datetime as dt
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsr.exports.cells import CellFormat, RowFormat
from dsr.exports.staging import records_stage, staged_chunks
from dsr.sources.batches import RecordBatch

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "name", "born", "seen_at", "total", "photo", "paid", "note", "score", "tags")
CATEGORIES = {"name": "identity", "total": "transaction"}


def _row(i: int) -> tuple:
    """A row as the sql connector hands it over: dates, decimals and bytes already as JSON carries them."""
    return (
        i,
        random.choice(["Åse", 'Ole "Bo"', "a,b", "line\nbreak", "", "ümlaut; 😀", "]\x1f[", "%s 100%", "\\"]) + f" {i}",
        None if i % 7 == 0 else f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
        f"2024-03-0{1 + i % 9}T10:11:{i % 60:02d}" + ("+00:00" if i % 5 == 0 else ""),
        f"{i}.{i % 100:02d}00000000",
        base64.b64encode(bytes([i % 256, 0, 255])).decode() if i % 3 else None,
        i % 2 == 0,
        None,
        i / 7,
        ["a", i] if i % 11 == 0 else None,
    )


def _batches(table: str, rows: list, sizes: list[int], *, columns=COLUMNS, provided=False) -> list[RecordBatch]:
    batches, at = [], 0
    for size in sizes:
        batches.append(RecordBatch("shop", table, columns, rows[at : at + size], CATEGORIES, provided))
        at += size
    assert at == len(rows)
    return batches


def _one_by_one(items):
    for item in items:
        yield from item.records() if isinstance(item, RecordBatch) else [item]


def _staged(result: dict) -> dict:
    """Return the collect result with each staged file's plaintext in place of its name in storage."""
    staged = {}
    for table, entry in result["staged"].items():
        staged[table] = {
            **entry,
            **{
                key: b"".join(staged_chunks(entry[key])) if entry[key] else ""
                for key in ("name", "csv_name", "readable_name")
            },
        }
    return {**result, "staged": staged}


def _both(items: list, **options) -> tuple[dict, dict]:
    batched = records_stage(iter(items), request_id=1, source_key="shop", **options)
    single = records_stage(_one_by_one(items), request_id=2, source_key="shop", **options)
    return _staged(batched), _staged(single)


@pytest.mark.parametrize("language", ["da", "en", None])
def test_a_table_staged_in_batches_is_staged_as_its_records_one_by_one(language):
    random.seed(4)
    rows = [_row(i) for i in range(2600)]
    # Batches of one, of the connector's size and odd sizes: across the JSON batch and the CSV sample.
    batches = _batches("customer", rows, [1, 99, 3, 1000, 497, 1000])

    batched, single = _both(batches, readable=language)

    assert batched == single
    entry = batched["staged"]["customer"]
    assert entry["records"] == 2600
    assert entry["csv_name"]
    assert bool(entry["readable_name"]) is (language is not None)
    assert entry["columns"] == list(COLUMNS)
    lines = entry["name"].split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == 2601
    assert lines[1].startswith(b'{"id":1,"name":')
    assert b'"note":null,"score":0.14285714285714285,"tags":null}' in lines[1]


def test_tables_of_several_sources_shapes_and_batches_stage_as_their_records():
    random.seed(5)
    shop = _batches("customer", [_row(i) for i in range(300)], [120, 180])
    # The same table's rows in another shape halfway (a column fewer): no CSV, as for records.
    changed = _batches("order", [_row(i) for i in range(50)], [50]) + _batches(
        "order", [_row(i)[:-1] for i in range(50, 80)], [30], columns=COLUMNS[:-1]
    )
    empty = [RecordBatch("shop", "empty", COLUMNS, [], {}, False)]
    items = [shop[0], changed[0], *empty, shop[1], changed[1]]

    batched, single = _both(items, readable="da")

    assert batched == single
    assert batched["staged"]["order"]["csv_name"] == ""
    assert batched["staged"]["order"]["records"] == 80
    assert "empty" not in batched["staged"]


def test_a_column_name_given_twice_is_staged_as_the_records_have_it():
    rows = [(1, "a", "b"), (2, "c", "d")]
    batches = [RecordBatch("shop", "odd", ("id", "name", "name"), rows, {}, False)]

    batched, single = _both(batches, readable="en")

    assert batched == single
    assert batched["staged"]["odd"]["name"] == b'{"id":1,"name":"b"}\n{"id":2,"name":"d"}\n'


def test_records_and_batches_of_one_table_stage_together_as_records():
    random.seed(6)
    batches = _batches("customer", [_row(i) for i in range(400)], [150, 250])
    first = next(batches[0].records())
    items = [first, RecordBatch("shop", "customer", COLUMNS, batches[0].rows[1:], CATEGORIES, False)]

    batched, single = _both([*items, batches[1]], readable="da")

    assert batched == single
    assert batched["staged"]["customer"]["records"] == 400


def test_portability_keeps_only_the_batches_of_provided_data():
    provided = _batches("customer", [_row(i) for i in range(10)], [10], provided=True)
    observed = _batches("visit", [_row(i) for i in range(20)], [20])

    batched, single = _both([*provided, *observed], provided_only=True)

    assert batched == single
    assert list(batched["staged"]) == ["customer"]
    assert (batched["records"], batched["provided"]) == (10, 10)


def test_without_provided_only_the_provided_rows_are_counted():
    items = _batches("customer", [_row(i) for i in range(10)], [4, 6], provided=True) + _batches(
        "visit", [_row(i) for i in range(20)], [20]
    )

    batched, single = _both(items)

    assert batched == single
    assert (batched["records"], batched["provided"]) == (30, 10)


_CELLS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(max_size=8),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.lists(st.integers(), max_size=2),
)


def _formatted(row_format: RowFormat, rows: list) -> list:
    """A batch's rows formatted for people as staging does it: its columns, a column at a time."""
    return list(zip(*row_format.columns(list(zip(*rows, strict=True))), strict=True))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda width: st.tuples(
            st.sampled_from(["da", "en"]),
            st.lists(st.tuples(*[_CELLS] * width), max_size=260),
            st.lists(st.integers(1, 120), min_size=1, max_size=6),
        )
    )
)
def test_rows_of_a_batch_are_formatted_for_people_as_each_row_is(case):
    language, rows, sizes = case
    width = len(rows[0]) if rows else 1
    one, batched = RowFormat(language, width), RowFormat(language, width)
    expected = [one(list(row)) for row in rows]

    got, at = [], 0
    while at < len(rows):
        size = sizes[len(got) % len(sizes)]
        got.extend(list(row) for row in _formatted(batched, rows[at : at + size]))
        at += size

    assert got == expected
    assert sorted(batched.formatted) == sorted(one.formatted)
    assert batched.sampled == one.sampled


def test_a_column_empty_in_every_row_does_not_stop_its_neighbour_being_formatted():
    rows = RowFormat("da", 2)
    out = list(_formatted(rows, [(None, f"2024-03-0{1 + n % 9}") for n in range(300)]))

    assert out[0] == (None, "01-03-2024")
    assert out[299] == (None, f"0{1 + 299 % 9}-03-2024")
    assert rows.sampled == {0: 0}
    assert rows.formatted == [1]


_SECOND_TIMES = st.tuples(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)), st.sampled_from("T ")
).map(lambda case: case[0].replace(microsecond=0).isoformat(sep=case[1]))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["da", "en"]),
    st.lists(
        st.one_of(
            _SECOND_TIMES,
            _SECOND_TIMES,
            st.sampled_from(["2024-02-30T10:11:12", "2024-03-01T25:00:00", "2024-03-01 10:11:12Z", None, 3]),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_a_column_of_times_is_formatted_as_each_of_its_cells(language, values):
    cell = CellFormat(language)

    assert list(cell.column(tuple(values))) == [cell(value) for value in values]


@pytest.mark.parametrize(("language", "expected"), [("da", "01-03-2024 10:11:12"), ("en", "2024-03-01 10:11:12")])
def test_a_column_of_local_times_to_the_second_is_rearranged_for_the_language(language, expected):
    cell = CellFormat(language)

    assert list(cell.column(("2024-03-01T10:11:12", "2024-03-01 10:11:12"))) == [expected, expected]
    assert list(cell.column(("2024-03-01T10:11:12", "2024-02-30T10:11:12"))) == [expected, "2024-02-30T10:11:12"]


def test_rows_of_plain_values_are_encoded_as_their_records_whatever_the_column_names():
    random.seed(7)
    columns = ("id", 'na"me', "100%", "%s", "at", "score", "ok")
    texts = ["]\x1f[", "a\x1fb", "%s", "%(x)s", '"', "\\", "😀", "", "null", "1,2"]
    rows = [
        (i, random.choice(texts), None, random.choice(texts), f"2024-03-01T10:11:{i % 60:02d}", i / 3, i % 2 == 0)
        for i in range(700)
    ]
    fewer = [row[:3] for row in rows[:50]]
    batches = [
        *_batches("plain", rows, [1, 2, 497, 200], columns=columns),
        *_batches("plain", fewer, [50], columns=columns[:3]),
    ]

    batched, single = _both(batches, readable="en")

    assert batched == single
    lines = batched["staged"]["plain"]["name"].decode().split("\n")
    assert len(lines) == 751
    for at, (row, names) in {0: (rows[0], columns), 699: (rows[699], columns), 700: (fewer[0], columns[:3])}.items():
        assert lines[at] == json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, separators=(",", ":"))
    assert lines[0].startswith('{"id":0,"na\\"me":')


_DECIMALS = st.decimals(min_value=-(10**9), max_value=10**9, places=10, allow_nan=False).map(str)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["da", "en"]),
    st.one_of(
        st.lists(st.dates().map(dt.date.isoformat), min_size=1, max_size=30),
        st.lists(_DECIMALS, min_size=1, max_size=30),
        st.lists(
            st.one_of(
                st.dates().map(dt.date.isoformat),
                _DECIMALS,
                st.decimals(places=2, allow_nan=False, allow_infinity=False).map(str),
                st.sampled_from(
                    [
                        "2024-02-30",
                        "0999-01-01",
                        "1.0",
                        "-0.50",
                        "12.",
                        "1.5\n",
                        "\u0663.\u0665\u0660\u0660",
                        None,
                        3,
                        1.5,
                    ]
                ),
            ),
            min_size=1,
            max_size=30,
        ),
    ),
)
def test_a_column_of_dates_or_decimals_is_formatted_as_each_of_its_cells(language, values):
    cell = CellFormat(language)

    assert list(cell.column(tuple(values))) == [cell(value) for value in values]

"""The CSV for people, row by row: only the columns whose values need the language's convention are formatted."""

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dsr.exports.cells import CellFormat, RowFormat, csv_text, number_text


def test_a_column_of_dates_is_formatted_in_every_row_even_after_empty_cells():
    rows = RowFormat("da", 3)
    out = [rows([n, None if n < 150 else "2024-03-01", f"name {n}"]) for n in range(300)]

    assert out[0] == [0, None, "name 0"]
    assert out[150] == [150, "01-03-2024", "name 150"]
    assert all(row[1] == "01-03-2024" for row in out[150:])


def test_a_text_column_keeps_what_is_written_in_it_once_its_first_values_are_plain_text():
    rows = RowFormat("da", 1)
    for n in range(RowFormat.SAMPLE):
        assert rows([f"note {n}"]) == [f"note {n}"]

    # Decided: text. A later note that looks like a date or a number is the person's text, kept as written.
    assert rows(["2024-03-01"]) == ["2024-03-01"]
    assert rows(["12.50"]) == ["12.50"]


def test_a_column_whose_first_values_need_the_convention_is_formatted_from_then_on():
    rows = RowFormat("da", 2)
    assert rows([True, "12.50"]) == ["ja", "12,50"]
    assert rows([False, "1.25"]) == ["nej", "1,25"]
    assert rows.formatted == [0, 1]


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(),
            st.booleans(),
            st.text(max_size=12),
            st.dates().map(str),
            st.datetimes().map(lambda moment: moment.isoformat()),
            st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
        ),
        max_size=40,
    )
)
def test_within_its_sample_every_cell_reads_as_the_cell_format_has_it(values):
    cell = CellFormat("en")
    rows = RowFormat("en", 1)
    for value in values[: RowFormat.SAMPLE]:
        (out,) = rows([value])
        # None and whole numbers are left to the csv module, which writes them as the cell format does.
        assert ("" if out is None else str(out)) == cell(value)


@given(
    st.integers(1, 12).flatmap(
        lambda places: st.decimals(min_value=-(10**9), max_value=10**9, places=places).map(lambda d: f"{d:f}")
    )
)
def test_a_decimal_written_as_text_reads_as_the_decimal_itself_does(text):
    if "." not in text:
        return
    assert CellFormat("da")(text) == number_text(Decimal(text), ",")


_CSV_VALUES = st.one_of(
    st.text(alphabet=st.sampled_from(["a", "Æ", "😀", ",", ";", '"', "\n", "\r", " ", "\x00", "1", "."]), max_size=8),
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
)


@given(
    st.sampled_from([",", ";"]),
    st.integers(1, 4).flatmap(
        lambda width: st.lists(
            st.tuples(*[st.one_of(_CSV_VALUES, _CSV_VALUES, st.sampled_from([True, Decimal("1.50"), b"x"]))] * width),
            min_size=1,
            max_size=20,
        )
    ),
)
def test_a_batch_written_a_column_at_a_time_is_the_csv_the_csv_module_writes(delimiter, rows):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)

    assert csv_text([list(column) for column in zip(*rows, strict=True)], delimiter) == text.getvalue()

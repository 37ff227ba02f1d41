"""One cell of the CSV for people: a staged value in a language's spreadsheet convention.

Danish Excel splits columns at ``;`` and reads ``1,5`` and ``01-03-2025``; English uses ``,``, ``1.5`` and
ISO dates. Staged values are JSON's (dsr.exports.staging): dates, times and decimals are text in ISO 8601 and
with a decimal point, recognised by their form. Used while staging (each row as it is read) and by the
bundle for tables staged without it (dsr.exports.readable).
"""

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat

from django.utils import timezone, translation
from django.utils.translation import gettext

# How a spreadsheet program set up for the language reads a CSV file.
CSV_CONVENTIONS = {
    "da": {"delimiter": ";", "decimal": ",", "date": "d-m-Y", "datetime": "d-m-Y H:i:s"},
    "en": {"delimiter": ",", "decimal": ".", "date": "Y-m-d", "datetime": "Y-m-d H:i:s"},
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$")
_DECIMAL = re.compile(r"^-?\d+\.\d+$")
# The same form, to be matched whole (fullmatch): _DECIMAL's $ also lets a last newline through.
_DECIMAL_TEXT = re.compile(r"-?\d+\.\d+")
# A local time to the second: _DATETIME's shortest full form.
_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")


def value_typed(value):
    """Return a staged JSON value as what it stands for: a date, a datetime or a Decimal where its text is one."""
    if not isinstance(value, str):
        return value
    try:
        if _DATE.match(value):
            return date.fromisoformat(value)
        if _DATETIME.match(value):
            moment = datetime.fromisoformat(value)
            # A person reads times in the controller's time zone (settings.TIME_ZONE), not UTC.
            return timezone.localtime(moment) if timezone.is_aware(moment) else moment
    except ValueError:
        return value
    if _DECIMAL.match(value):
        return Decimal(value)
    return value


def number_text(value, decimal_mark: str) -> str:
    """Return a Decimal or float with ``decimal_mark``; a fixed scale's trailing zeros dropped to two places."""
    if isinstance(value, Decimal):
        # A database's fixed scale (59.0000000000) reads as 59.00: trailing zeros go, two decimals stay.
        places = max(2, -value.normalize().as_tuple().exponent) if value.as_tuple().exponent < -2 else None
        text = format(value.quantize(Decimal(1).scaleb(-places)) if places else value, "f")
    else:
        text = repr(value)
    return text.replace(".", decimal_mark)


# The same conventions for Python's strftime: the readable CSV formats up to a million cells per table.
_CSV_STRFTIME = {
    "da": {"date": "%d-%m-%Y", "datetime": "%d-%m-%Y %H:%M:%S"},
    "en": {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"},
}


class CellFormat:
    """Turn staged values into readable-CSV cells in one language's spreadsheet convention.

    Everything that depends on the language (yes/no, the decimal mark, the date forms) is looked up once,
    not per cell.
    """

    def __init__(self, language: str) -> None:
        with translation.override(language):
            self.yes, self.no = gettext("yes"), gettext("no")
        self.decimal = CSV_CONVENTIONS[language]["decimal"]
        self.date = _CSV_STRFTIME[language]["date"]
        self.datetime = _CSV_STRFTIME[language]["datetime"]
        self.day_first = language == "da"
        # A person reads times in the controller's time zone (settings.TIME_ZONE), not UTC.
        self.zone = timezone.get_current_timezone()

    def __call__(self, value) -> str:
        # Most cells are text or whole numbers: they go out as they are, without trying the patterns.
        kind = type(value)
        if kind is int or (kind is str and not value[:1].isdigit() and not value.startswith("-")):
            return str(value)
        if value is None:
            return ""
        if kind is bool:
            return self.yes if value else self.no
        if kind is str and len(value) >= 16 and value[4] == "-" and value[10] in "T " and _DATETIME.match(value):
            # The common case of a timestamp column, without value_typed's detours (a million cells).
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is not None:
                moment = moment.astimezone(self.zone)
            elif len(value) == 19:
                # A valid local time to the second ("2024-03-01T10:11:12"): rearranged, not parsed and printed.
                return (
                    f"{value[8:10]}-{value[5:7]}-{value[:4]} {value[11:]}"
                    if self.day_first
                    else f"{value[:10]} {value[11:]}"
                )
            return moment.strftime(self.datetime + (".%f" if moment.microsecond else ""))
        if kind is str and _DECIMAL.match(value):
            # What number_text does with the Decimal, on the text: a fixed scale's trailing zeros go, two stay.
            whole, fraction = value.split(".")
            if len(fraction) > 2:
                fraction = fraction.rstrip("0").ljust(2, "0")
            return f"{whole}{self.decimal}{fraction}"
        value = value_typed(value)
        if isinstance(value, datetime):
            return value.strftime(self.datetime + (".%f" if value.microsecond else ""))
        if isinstance(value, date):
            return value.strftime(self.date)
        if isinstance(value, Decimal | float):
            return number_text(value, self.decimal)
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def column(self, values: tuple) -> Iterable:
        """Return a column's values as cells, as ``map(self, values)``: local times to the second in one go.

        A table's timestamp column is the one most often formatted, up to a million cells: when every value of
        the batch is such a time, they are checked together and rearranged without a call per cell.
        """
        if set(map(type, values)) != {str}:
            return map(self, values)
        lengths = set(map(len, values))
        if lengths == {19} and all(map(_SECONDS.fullmatch, values)):
            try:
                for _moment in map(datetime.fromisoformat, values):
                    pass
            except ValueError:
                return map(self, values)
            if self.day_first:
                return [f"{value[8:10]}-{value[5:7]}-{value[:4]} {value[11:]}" for value in values]
            return [f"{value[:10]} {value[11:]}" for value in values]
        if lengths == {10} and all(map(_DATE.fullmatch, values)) and not any(value[0] == "0" for value in values):
            # A column of dates (years from 1000: strftime writes earlier ones without their leading zeros).
            try:
                for _day in map(date.fromisoformat, values):
                    pass
            except ValueError:
                return map(self, values)
            if self.date == "%d-%m-%Y":
                return [f"{value[8:10]}-{value[5:7]}-{value[:4]}" for value in values]
            if self.date == "%Y-%m-%d":
                return values
        if all(map(_DECIMAL_TEXT.fullmatch, values)):
            # A column of decimals (a price at the database's scale): what __call__ does to each, without the call.
            return [
                whole + self.decimal + (fraction.rstrip("0").ljust(2, "0") if len(fraction) > 2 else fraction)
                for whole, _point, fraction in map(str.partition, values, repeat("."))
            ]
        return map(self, values)


class RowFormat:
    """Turn a table's rows into readable-CSV rows, formatting only the columns whose values need it.

    Whole numbers, empty cells and plain text go out as they are (the csv module writes them so), which is
    most of a table. Each column's first SAMPLE values that are not empty decide: while every one of them
    would go out unchanged, the column is written as it is from then on; once one needs the convention
    (a date, a decimal, a yes/no), every value of the column is formatted. So a free-text column keeps a
    later "2024-01-01" as written, as it keeps every other text.
    """

    SAMPLE = 100

    def __init__(self, language: str, columns: int) -> None:
        self.cell = CellFormat(language)
        self.formatted: list[int] = []
        self.sampled = dict.fromkeys(range(columns), 0)

    def __call__(self, values: list) -> list:
        """Return ``values`` (one row's, in column order) as readable-CSV cells; the list is changed in place."""
        cell = self.cell
        for index in self.formatted:
            values[index] = cell(values[index])
        if self.sampled:
            for index, seen in list(self.sampled.items()):
                value = values[index]
                if value is None:
                    continue
                text = cell(value)
                if type(value) is not int and text != value:
                    self.formatted.append(index)
                    del self.sampled[index]
                    values[index] = text
                elif seen + 1 >= self.SAMPLE:
                    del self.sampled[index]
                else:
                    self.sampled[index] = seen + 1
        return values

    def columns(self, columns: list) -> list:
        """Return a batch's ``columns`` (each a sequence of one column's values) as readable-CSV cells.

        A column at a time, each decided by its own values as ``__call__`` decides a row's; the list is changed
        in place.
        """
        for index in self.formatted:
            columns[index] = self.cell.column(columns[index])
        for index in list(self.sampled):
            columns[index] = self._column_sample(index, columns[index])
        return columns

    def _column_sample(self, index: int, values: tuple) -> Iterable:
        """Decide column ``index`` on its next ``values`` as ``__call__`` does; return them as cells."""
        seen = self.sampled[index]
        for at, value in enumerate(values):
            if value is None:
                continue
            text = self.cell(value)
            if type(value) is not int and text != value:
                self.formatted.append(index)
                del self.sampled[index]
                return (*values[:at], text, *map(self.cell, values[at + 1 :]))
            seen += 1
            if seen >= self.SAMPLE:
                del self.sampled[index]
                return values
        self.sampled[index] = seen
        return values


def value_cell(value, language: str) -> str:
    """Return a value as the readable CSV's cell in ``language``'s spreadsheet convention."""
    return CellFormat(language)(value)


def readable_csv_rows(text: io.StringIO, language: str):
    """Return a CSV writer into ``text`` that separates cells as ``language``'s spreadsheet program expects."""
    return csv.writer(text, delimiter=CSV_CONVENTIONS[language]["delimiter"], lineterminator="\r\n")


# What makes the csv module quote a cell (QUOTE_MINIMAL, lineterminator "\r\n"), besides the delimiter.
_CSV_CELL_TYPES = frozenset({str, int, float, type(None)})
_STR, _STR_OR_NONE = {str}, frozenset({str, type(None)})


def csv_text(columns: list, delimiter: str = ",") -> str:
    """Return rows given as their ``columns`` as the text csv.writer(delimiter=..., lineterminator="\r\n") writes.

    A column at a time: which cells need quotes is asked of a whole column's text first, so a batch of a
    million cells is written without the csv module's pass over every character of every cell.
    """
    columns = [values if isinstance(values, list | tuple) else list(values) for values in columns]
    kinds = [set(map(type, values)) for values in columns]
    if len(columns) < 2 or not all(map(_CSV_CELL_TYPES.issuperset, kinds)):
        # One column (an empty cell is written as "") or values the csv module turns into text its own way.
        text = io.StringIO()
        csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(zip(*columns, strict=True))
        return text.getvalue()
    cells = []
    for values, kind in zip(columns, kinds, strict=True):
        # As the csv module writes them: None empty, numbers as str() (a float's repr).
        if kind == _STR:
            pass
        elif _STR_OR_NONE.issuperset(kind):
            values = ["" if value is None else value for value in values]
        elif type(None) in kind:
            values = ["" if value is None else str(value) for value in values]
        else:
            values = list(map(str, values))
        joined = "".join(values)
        if '"' in joined:
            values = [
                '"' + value.replace('"', '""') + '"'
                if delimiter in value or '"' in value or "\n" in value or "\r" in value
                else value
                for value in values
            ]
        elif delimiter in joined or "\n" in joined or "\r" in joined:
            values = [
                '"' + value + '"' if delimiter in value or "\n" in value or "\r" in value else value for value in values
            ]
        cells.append(values)
    return "\r\n".join(map(delimiter.join, zip(*cells, strict=True))) + "\r\n"

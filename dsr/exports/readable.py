"""The bundle for people: the person's data as readable tables, and a CSV in their language's convention.

The machine-readable files (``data/<source>/<table>.json`` and ``.csv``) keep every value as the source
holds it. Beside them, for a person rather than a program:

- ``index.html`` shows each table under the kind of data it mostly holds (the data map's categories),
  with the map's column labels in the request's language (a humanised column name where the map gives
  none), booleans as yes/no, dates in words, empty cells as a dash, internal ids explained in a footnote,
  and at most PREVIEW_ROWS rows: the rest is in the files.
- ``data/<source>/<table>.<language>.csv`` has every row in the language's spreadsheet convention: Danish
  Excel splits columns at ``;`` and reads ``1,5`` and ``01-03-2025``; English uses ``,``, ``1.5`` and
  ISO dates. UTF-8 with a byte-order mark, so Excel reads æ, ø and å.

The staged tables (dsr.exports.staging) hold JSON lines, where dates, times and decimals are text in
ISO 8601 and with a decimal point; they are recognised by their form. Both outputs read the staged lines
one at a time: the preview stops after PREVIEW_ROWS, the CSV is written in batches.
"""

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Protocol

from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext

from dsr.datamap.schema import DataMap, localised
from dsr.exports.cells import CSV_CONVENTIONS, RowFormat, number_text, readable_csv_rows, value_typed
from dsr.exports.staging import staged_lines
from dsr.sources.registry import connector_class

PREVIEW_ROWS = 500
EMPTY = "—"
OTHER_CATEGORY = ""
_CSV_BATCH = 2000

# How a date reads in a sentence; seconds only where the source has them.
HTML_DATES = {
    "da": {"date": r"j. F Y", "datetime": r"j. F Y \k\l. H:i", "seconds": r"j. F Y \k\l. H:i:s"},
    "en": {"date": "j F Y", "datetime": "j F Y, H:i", "seconds": "j F Y, H:i:s"},
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ID_CAMEL = re.compile(r"[a-z]Id$")


class _Entry(Protocol):
    def write(self, data: bytes) -> None: ...


def value_html(value, language: str) -> str:
    """Return a value as index.html shows it in ``language`` (the template escapes it)."""
    value = value_typed(value)
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        with translation.override(language):
            return gettext("yes") if value else gettext("no")
    if isinstance(value, datetime):
        formats = HTML_DATES[language]
        if timezone.is_naive(value) and value.time() == datetime.min.time():
            # A date kept in a timestamp column (an invoice date): "kl. 00:00" would be noise.
            form = formats["date"]
        else:
            form = formats["seconds"] if value.second or value.microsecond else formats["datetime"]
        with translation.override(language):
            return dateformat.format(value, form)
    if isinstance(value, date):
        with translation.override(language):
            return dateformat.format(value, HTML_DATES[language]["date"])
    if isinstance(value, Decimal | float):
        return number_text(value, CSV_CONVENTIONS[language]["decimal"])
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def name_humanise(name: str) -> str:
    """Return a column or table name as words: ``customer_no`` -> "Customer no", ``InvoiceId`` -> "Invoice id"."""
    words = _CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:] if text else name


def is_internal_id(column: str) -> bool:
    """Return whether a column holds a row's internal number (``id``, ``order_id``, ``InvoiceId``)."""
    return column.lower() == "id" or column.lower().endswith("_id") or bool(_ID_CAMEL.search(column))


def is_own_id(column: str, table: str) -> bool:
    """Return whether an id column numbers the table's own rows (``id``, or ``InvoiceId`` in ``Invoice``)."""
    name = column.lower().replace("_", "")
    return name in ("id", f"{table.lower().replace('_', '')}id")


@dataclass
class TableLabels:
    """What a person reads for one table: its name and its columns' names, in one language."""

    table: str
    columns: dict[str, str]

    def column(self, name: str) -> str:
        return self.columns.get(name) or name_humanise(name)


def labels_for(source: dict, table: str, language: str) -> TableLabels:
    """Return the map's labels of a source's table in ``language``, humanised names where it gives none."""
    cls = connector_class(source.get("kind") or "")
    described = (cls.column_labels(source["config"]) if cls else {}).get(table) or {}
    return TableLabels(
        table=localised(described.get("label"), language) or name_humanise(table),
        columns={column: localised(label, language) for column, label in (described.get("columns") or {}).items()},
    )


def readable_csv_head(entry: _Entry, *, columns: list[str], labels: TableLabels, language: str) -> None:
    """Write the readable CSV's start: a byte-order mark (Excel then reads UTF-8) and the labels as header."""
    text = io.StringIO()
    readable_csv_rows(text, language).writerow([labels.column(column) for column in columns])
    entry.write("\ufeff".encode() + text.getvalue().encode())


def readable_csv_write(entry: _Entry, *, staged_name: str, columns: list[str], labels: TableLabels, language: str):
    """Write every staged row as the readable CSV, a batch at a time: labels as header, cells in the convention.

    For a table whose rows were not staged as readable CSV already (rows of different shapes, a portability
    bundle's tables); the others are copied as staged (dsr.exports.staging).
    """
    readable_csv_head(entry, columns=columns, labels=labels, language=language)
    text = io.StringIO()
    rows = readable_csv_rows(text, language)
    decode = json.JSONDecoder().decode
    row = RowFormat(language, len(columns))
    for count, line in enumerate(staged_lines(staged_name), start=1):
        record = decode(line.decode())
        rows.writerow(row([record.get(column) for column in columns]))
        if count % _CSV_BATCH == 0:
            entry.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
    entry.write(text.getvalue().encode())


@dataclass
class TablePreview:
    """One table as index.html shows it: labelled columns and the first rows, formatted."""

    source_name: str
    title: str
    records: int
    headings: list[dict]  # {"label": ..., "internal_id": bool, "own_id": bool}
    rows: list[list[str]]
    files: dict[str, str]  # "json" / "csv" / "readable" -> path in the bundle
    categories: list[str] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.records - len(self.rows)

    @property
    def ids(self) -> list[dict]:
        return [heading for heading in self.headings if heading["internal_id"]]


def _staged_head(name: str, limit: int) -> Iterator[dict]:
    decode = json.JSONDecoder().decode
    with closing(staged_lines(name)) as lines:
        for line in islice(lines, limit):
            yield decode(line.decode())


def table_preview(
    *,
    source: dict,
    table: str,
    staged: dict,
    files: dict[str, str],
    datamap: DataMap,
    language: str,
    limit: int | None = None,
) -> TablePreview:
    """Return the first ``limit`` (default PREVIEW_ROWS) rows of a staged table, labelled and formatted."""
    limit = PREVIEW_ROWS if limit is None else limit
    labels = labels_for(source, table, language)
    columns = staged["columns"]
    rows = [
        [value_html(record.get(column), language) for column in columns]
        for record in _staged_head(staged["name"], limit)
    ]
    categories = staged["categories"]
    return TablePreview(
        source_name=localised(source["name"], language),
        title=labels.table,
        records=staged["records"],
        headings=[
            {
                "label": labels.column(column),
                "internal_id": is_internal_id(column),
                "own_id": is_own_id(column, table),
            }
            for column in columns
        ],
        rows=rows,
        files=files,
        categories=sorted(
            {localised(datamap.categories[c]["name"], language) for c in categories.values() if c in datamap.categories}
        ),
    )


def table_category(categories: dict[str, str], datamap: DataMap) -> str:
    """Return the category most of a table's columns hold (the map's order breaks ties), or OTHER_CATEGORY."""
    counts = Counter(category for category in categories.values() if category in datamap.categories)
    if not counts:
        return OTHER_CATEGORY
    order = list(datamap.categories)
    return min(counts, key=lambda category: (-counts[category], order.index(category)))


def data_sections(previews: list[tuple[str, TablePreview]], datamap: DataMap, language: str) -> list[dict]:
    """Group the tables by the category they mostly hold, in the map's order; tables with none come last."""
    order = [*datamap.categories, OTHER_CATEGORY]
    sections = []
    for key in order:
        tables = [preview for category, preview in previews if category == key]
        if not tables:
            continue
        category = datamap.categories.get(key) or {}
        sections.append(
            {
                "key": key or "other",
                "name": localised(category.get("name"), language),
                "description": localised(category.get("description"), language),
                "tables": tables,
            }
        )
    return sections

"""A bundle's data files, byte for byte: against the rows read straight with sqlite3, and against the bundle's own
row-by-row path (made from the staged JSON lines with the csv module and one cell at a time)."""

import base64
import copy
import csv
import io
import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from dsr.datamap.loading import datamap_load
from dsr.datamap.selectors import datamap_active
from dsr.exports.bundle import bundle_build
from dsr.exports.staging import records_stage
from dsr.models import Operation, Status
from dsr.sources.registry import connector_for
from tests.exports.helpers import bundle_read
from tests.pdf import pdf_words
from tests.sources.maps import BASE_MAP

pytestmark = pytest.mark.django_db

EMAIL = "ase.golden@example.dk"
SCHEMA = """
CREATE TABLE member (
    id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, born DATE, note TEXT
);
CREATE TABLE purchase (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES member (id),
    at TIMESTAMP NOT NULL,
    delivered DATE,
    amount NUMERIC(10, 2),
    price NUMERIC,
    receipt BLOB,
    paid BOOLEAN,
    score REAL,
    product TEXT NOT NULL,
    comment TEXT
);
"""
# Text a CSV must quote (the delimiters of both conventions, quotes, line breaks), non-ASCII, and text that
# looks like a number or a date but is text.
TEXTS = [
    "Rugbrød",
    'Kaffe "Mørk", 500 g',
    "a;b",
    "line\nbreak",
    "carriage\rreturn",
    "Ærø 😀",
    "",
    "2024-01-01",
    "12.50",
    "-",
    " leading space",
]
NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
PURCHASES = 2300  # more than two of the connector's batches of 1,000


def _purchase(i: int, member: int) -> tuple:
    return (
        member,
        f"2024-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}" + (".250000" if i % 13 == 0 else ""),
        None if i % 5 == 0 else f"{1990 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        None if i % 7 == 0 else [349, 32.5, 28.95, 0.05, -12.1, 100000][i % 6],
        None if i % 11 == 0 else [59, 1.25, 0.1][i % 3],
        None if i % 3 == 0 else bytes([i % 256, 0, 255, 10, 13, 44]),
        None if i % 17 == 0 else i % 2,
        None if i % 19 == 0 else i / 7,
        TEXTS[i % len(TEXTS)],
        None if i % 4 else TEXTS[(i // 4) % len(TEXTS)],
    )


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    """Return a SQLite database holding EMAIL's member row and purchases, and another member's."""
    path = tmp_path / "golden.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO member VALUES (1, ?, ?, ?, ?)", (EMAIL, 'Åse "Bo" Ærø', "1980-02-29", "a,b\nc"))
        conn.execute("INSERT INTO member VALUES (2, 'other@example.dk', 'Other', NULL, NULL)")
        insert = "INSERT INTO purchase VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        for i in range(PURCHASES):
            conn.execute(insert, _purchase(i, 1))
            if i % 10 == 0:
                conn.execute(insert, _purchase(i, 2))
        conn.commit()
    document = copy.deepcopy(BASE_MAP)
    document["sources"] = {
        "club": {
            "name": "Klubben",
            "kind": "sql",
            "purposes": ["account", "bookkeeping"],
            "origin": {"da": "Fra medlemmet", "en": "From the member"},
            "provided_by_subject": ["member"],
            "url": f"sqlite:///{path}",
            "tables": {
                "member": {
                    "identifiers": {"email": "email"},
                    "categories": {"name": "identity", "email": "contact"},
                    "erasure": {"strategy": "delete"},
                },
                "purchase": {
                    "link": {"table": "member", "columns": {"member_id": "id"}},
                    "categories": {"amount": "transaction", "price": "transaction", "product": "transaction"},
                    "erasure": {"strategy": "keep", "hold": "bookkeeping"},
                },
            },
        }
    }
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True), loaded_by="test")
    return path


def _straight(path: Path, table: str) -> tuple[list[str], list[dict]]:
    """Return the columns and EMAIL's rows of ``table`` as sqlite3 reads them, in primary-key order."""
    where = "email = ?" if table == "member" else "member_id IN (SELECT id FROM member WHERE email = ?)"
    with closing(sqlite3.connect(path)) as conn:
        cursor = conn.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", (EMAIL,))  # noqa: S608 - constants
        columns = [column[0] for column in cursor.description]
        return columns, [dict(zip(columns, row, strict=True)) for row in cursor]


def _jsonable(column: str, value):
    """Return a stored value as the export promises to carry it: ISO dates, decimals at their scale, base64 bytes."""
    if value is None:
        return None
    if column == "at":
        return datetime.fromisoformat(value).isoformat()
    if column == "amount":
        return str(Decimal(f"{value:.2f}"))
    if column == "price":
        return str(Decimal(f"{value:.10f}"))  # NUMERIC without a scale: SQLAlchemy's default of ten places
    if column == "receipt":
        return base64.b64encode(value).decode()
    if column == "paid":
        return bool(value)
    return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_the_bundles_data_files_hold_the_rows_sqlite3_reads_byte_for_byte(golden, file):
    request = file("access", email=EMAIL, language="da")
    assert request.status == Status.COMPLETED, request.status
    opened = bundle_read(request.bundles.get())

    for table, rows_expected in (("member", 1), ("purchase", PURCHASES)):
        columns, rows = _straight(golden, table)
        assert len(rows) == rows_expected
        records = [{column: _jsonable(column, value) for column, value in row.items()} for row in rows]

        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows([_cell(record[column]) for column in columns] for record in records)
        assert opened.files[f"data/club/{table}.csv"] == "\ufeff".encode() + text.getvalue().encode()

        data = opened.files[f"data/club/{table}.json"]
        header = {key: value for key, value in json.loads(data).items() if key != "records"}
        lines = ",\n  ".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in records)
        opening = json.dumps(header, ensure_ascii=False, indent=1)[:-2]
        assert data == f'{opening},\n "records": [\n  {lines}\n ]\n}}\n'.encode()
        assert header["records_count"] == len(rows)


def test_the_bundle_is_the_one_made_row_by_row_from_the_staged_json_lines(golden, file):
    request = file("access", email=EMAIL, language="da")
    job = request.jobs.get(operation=Operation.ACCESS, source_key="club")
    connector = connector_for("club", datamap_active())

    def built(*, staged_csv: bool) -> dict[str, bytes]:
        result = records_stage(
            connector.record_batches({"email": {EMAIL}}), request_id=request.pk, source_key="club", readable="da"
        )
        for staged in result["staged"].values():
            assert staged["csv_name"]
            assert staged["readable_name"]
            if not staged_csv:
                # The bundle then makes the CSV files from the JSON lines: a row at a time with the csv module,
                # a cell at a time in the convention.
                staged["csv_name"] = staged["readable_name"] = ""
        job.result = {**job.result, **result}
        job.save(update_fields=["result"])
        return bundle_read(bundle_build(request=request, datamap=datamap_active(), now=NOW)).files

    staged, row_by_row = built(staged_csv=True), built(staged_csv=False)

    assert staged.keys() == row_by_row.keys()
    for path in ("purchase.json", "purchase.csv", "purchase.da.csv", "member.json", "member.csv", "member.da.csv"):
        assert staged[f"data/club/{path}"] == row_by_row[f"data/club/{path}"], path
    assert b"349,00" in staged["data/club/purchase.da.csv"]
    assert pdf_words(staged["report.pdf"]) == pdf_words(row_by_row["report.pdf"])

"""Staging by table: rows of one shape get their CSV written as they pass; rows of many shapes still make a CSV."""

import csv
import io
import json
import zipfile
from datetime import datetime

import pytest

from dsr.exports.bundle import BundleWriter, _table_write
from dsr.exports.staging import records_stage
from dsr.sources.base import Record

pytestmark = pytest.mark.django_db
SOURCE = {"key": "partner", "name": "Ad partner"}


def _record(table: str, row: dict, categories: dict | None = None) -> Record:
    return Record(source="partner", table=table, row=row, categories=categories or {}, provided=False)


def _write(staged: dict, table: str) -> dict[str, bytes]:
    out = io.BytesIO()
    writer = BundleWriter(out, root="R", when=datetime(2026, 1, 1), compresslevel=1)
    _table_write(writer, source=SOURCE, table=table, staged=staged[table], language="en")
    writer.close()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_rows_of_different_shapes_keep_every_column_in_json_and_csv():
    documents = [
        {"id": 1, "segment": "cooking"},
        {"segment": "garden", "id": 2},  # the same columns, in another order
        {"id": 3, "segment": None, "tags": ["a", "b"], "active": True},  # more columns, nested data
    ]
    result = records_stage(
        (_record("audience", row, {"segment": "marketing"}) for row in documents), request_id=1, source_key="partner"
    )
    staged = result["staged"]
    assert staged["audience"]["csv_name"] == ""  # made from the JSON lines instead
    assert staged["audience"]["columns"] == ["id", "segment", "tags", "active"]

    files = _write(staged, "audience")
    assert json.loads(files["data/partner/audience.json"])["records"] == documents
    rows = list(csv.DictReader(io.StringIO(files["data/partner/audience.csv"].decode("utf-8-sig"))))
    assert rows == [
        {"id": "1", "segment": "cooking", "tags": "", "active": ""},
        {"id": "2", "segment": "garden", "tags": "", "active": ""},
        {"id": "3", "segment": "", "tags": '["a", "b"]', "active": "true"},
    ]


def test_rows_of_one_shape_are_written_as_csv_while_staging():
    rows = [{"id": i, "name": f"Åse {i}", "note": None, "paid": i % 2 == 0} for i in range(5000)]
    result = records_stage((_record("customer", row) for row in rows), request_id=1, source_key="partner")
    staged = result["staged"]
    assert staged["customer"]["csv_name"]
    assert result["records"] == 5000

    files = _write(staged, "customer")
    assert json.loads(files["data/partner/customer.json"])["records"] == rows
    got = list(csv.DictReader(io.StringIO(files["data/partner/customer.csv"].decode("utf-8-sig"))))
    assert got[0] == {"id": "0", "name": "Åse 0", "note": "", "paid": "true"}
    assert got[4999] == {"id": "4999", "name": "Åse 4999", "note": "", "paid": "false"}
    assert len(got) == 5000


def test_an_empty_source_stages_nothing():
    result = records_stage(iter(()), request_id=1, source_key="partner")
    assert result["staged"] == {}
    assert result["holds_data"] is False

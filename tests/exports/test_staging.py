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


def _write_readable(staged: dict, table: str, language: str) -> bytes:
    out = io.BytesIO()
    writer = BundleWriter(out, root="R", when=datetime(2026, 1, 1), compresslevel=1)
    _table_write(writer, source=SOURCE, table=table, staged=staged[table], language=language, readable=True)
    writer.close()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        return archive.read(f"R/data/partner/{table}.{language}.csv")


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_csv_for_people_staged_with_the_rows_is_the_one_made_from_the_json_lines(language):
    rows = [
        {
            "id": i,
            "name": f"Åse {i}",
            "paid": i % 2 == 0,
            "total": f"{i}.50",
            "born": "1980-02-29",
            "seen_at": f"2024-03-0{1 + i % 9}T10:11:12+00:00",
            "note": None,
            "tags": ["a", i],
        }
        for i in range(3000)
    ]

    staged_now = records_stage((_record("customer", r) for r in rows), request_id=1, source_key="p", readable=language)
    staged_later = records_stage((_record("customer", r) for r in rows), request_id=2, source_key="p")

    assert staged_now["staged"]["customer"]["readable_name"]
    assert staged_now["staged"]["customer"]["readable_language"] == language
    assert staged_later["staged"]["customer"]["readable_name"] == ""
    copied = _write_readable(staged_now["staged"], "customer", language)
    assert copied == _write_readable(staged_later["staged"], "customer", language)
    first = copied.decode("utf-8-sig").splitlines()[1]
    assert first == (
        '0;Åse 0;ja;0,50;29-02-1980;01-03-2024 11:11:12;;"[""a"", 0]"'
        if language == "da"
        else '0,Åse 0,yes,0.50,1980-02-29,2024-03-01 11:11:12,,"[""a"", 0]"'
    )


def test_a_bundle_in_another_language_than_the_staged_one_makes_its_own_csv_for_people():
    rows = [{"id": 1, "paid": True, "total": "2.50"}]
    staged = records_stage((_record("customer", r) for r in rows), request_id=1, source_key="p", readable="da")[
        "staged"
    ]

    assert _write_readable(staged, "customer", "en").decode("utf-8-sig").splitlines()[1] == "1,yes,2.50"


def test_rows_of_different_shapes_stage_no_csv_for_people_and_the_bundle_makes_it():
    documents = [{"id": 1, "segment": "cooking"}, {"id": 2, "tags": ["a"]}]
    staged = records_stage(
        (_record("audience", row) for row in documents), request_id=1, source_key="p", readable="da"
    )["staged"]

    assert staged["audience"]["readable_name"] == ""
    lines = _write_readable(staged, "audience", "da").decode("utf-8-sig").splitlines()
    assert lines[1:] == ["1;cooking;", '2;;"[""a""]"']


def _stored_files(request_id: int) -> list[str]:
    from dsr.storage import STAGING_PREFIX, bundle_storage

    storage, found, folders = bundle_storage(), [], [f"{STAGING_PREFIX}/{request_id}"]
    while folders:
        folder = folders.pop()
        directories, files = storage.listdir(folder)
        found += [f"{folder}/{name}" for name in files]
        folders += [f"{folder}/{name}" for name in directories]
    return found


def test_a_sources_tables_are_stored_as_one_file_and_each_reads_back_as_staged():
    from dsr.exports.staging import staged_lines
    from dsr.storage import segment_file

    tables = {
        f"table_{n}": [{"id": i, "text": f"ø{n}-{i}" * (200 if n == 7 else 1)} for i in range(n * 40)] for n in range(8)
    }
    interleaved = [
        _record(table, row) for i in range(320) for table, rows in tables.items() if i < len(rows) for row in [rows[i]]
    ]
    result = records_stage(iter(interleaved), request_id=41, source_key="partner", readable="da")

    staged = result["staged"]
    names = {segment_file(entry[key]) for entry in staged.values() for key in ("name", "csv_name", "readable_name")}
    assert names == set(_stored_files(41))
    assert len(names) == 1
    for table, rows in tables.items():
        if rows:
            assert [json.loads(line) for line in staged_lines(staged[table]["name"])] == rows
    assert "table_0" not in staged  # no rows, no table


def test_a_changed_segment_fails_to_read_and_its_neighbours_still_read():
    from dsr.exports.staging import staged_chunks, staged_lines
    from dsr.storage import bundle_storage, segment_file
    from dsr.storage.sealing import SealError

    result = records_stage(
        (_record(table, {"id": i}) for table in ("first", "second") for i in range(3)),
        request_id=42,
        source_key="partner",
    )
    second = result["staged"]["second"]["name"]
    offset = int(second.rsplit("#", 1)[1].split(":")[0])
    path = bundle_storage().path(segment_file(second))
    with open(path, "r+b") as stored:
        stored.seek(offset + 60)
        byte = stored.read(1)
        stored.seek(offset + 60)
        stored.write(bytes([byte[0] ^ 1]))

    with pytest.raises(SealError):
        list(staged_chunks(second))
    assert [json.loads(line) for line in staged_lines(result["staged"]["first"]["name"])] == [
        {"id": i} for i in range(3)
    ]


def test_a_table_staged_as_a_file_of_its_own_still_reads():
    """Collect runs from before tables were stored together name one whole file per table."""
    import tempfile

    from dsr.exports.staging import staged_lines
    from dsr.storage import STAGING_PREFIX, storage_name_new, storage_save
    from dsr.storage.sealing import SealedWriter

    with tempfile.TemporaryFile() as sealed:
        writer = SealedWriter(sealed)
        writer.write(b'{"id":1}\n{"id":2}\n')
        writer.close()
        name = storage_save(storage_name_new(STAGING_PREFIX, 43, "partner", "t0"), sealed)

    assert [json.loads(line) for line in staged_lines(name)] == [{"id": 1}, {"id": 2}]

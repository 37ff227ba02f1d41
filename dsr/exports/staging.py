"""Collection writes each table of each source, sealed, to bundle storage; the bundle is built from these.

Reading a source once is enough: the collect job streams the person's records
into sealed files per table ("staged"): the records as JSON lines and, while
every row has the same columns, the same rows as CSV, counting as it goes. They
are stored together, one file per source, each table's files a segment of it.
The bundle job copies them into the ZIP without parsing a row again. Memory stays
flat: one chunk per open table. Staged files are deleted when the bundle is built, and
by the purge when a request closes without one (docs/exports.md).
"""

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from itertools import repeat
from json.encoder import c_make_encoder
from typing import BinaryIO

from django.core.files.storage import FileSystemStorage

from dsr.exports.cells import CSV_CONVENTIONS, RowFormat, csv_text, readable_csv_rows
from dsr.sources.base import Record
from dsr.sources.batches import RecordBatch
from dsr.storage import (
    SEGMENT,
    STAGING_PREFIX,
    bundle_storage,
    storage_delete,
    storage_name_new,
    storage_save,
)
from dsr.storage.sealing import SealedReader, SealedWriter, SeekableReader, sealed_open

# One encoder for every row: json.dumps with arguments builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_json_line = _ENCODER.encode
# What _json_line calls for each row, made once: a batch's rows are encoded without encode()'s set-up per row.
# Without the circular check: a row read from a database cannot contain itself.
_json_chunks = (
    c_make_encoder(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,
        False,
        True,
    )
    if c_make_encoder is not None
    else None
)
# The same encoder's work on a column of values, each apart from the next by a character JSON text cannot hold
# unescaped: a batch's values are encoded a column at a time and joined with the keys into each row's object.
_json_column = (
    c_make_encoder(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", "\x1f", False, False, True)
    if c_make_encoder is not None
    else None
)
# Values that encode without an array or object of their own, so a column splits into its values at "\x1f".
_JSON_SCALAR = frozenset({str, int, float, bool, type(None)})
# Values the csv module writes as the bundle's CSV wants them (None as an empty cell).
_CSV_PLAIN = frozenset({str, int, float, type(None)})
_CSV_BATCH = 64 * 1024
_JSON_BATCH = 500
# A staged file stays in memory up to this size, then moves to a temporary file: most tables of one person are a
# few kilobytes, and creating three temporary files per table cost more than the rest of staging. With every
# table of a source open at once, memory stays within this times three per table.
_SPOOL_BYTES = 64 * 1024


def csv_value(value) -> str:
    """Return a value as its CSV cell: empty for NULL, true/false, JSON for nested data."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Sealed:
    """A temporary file (in memory while small) written through the sealing writer."""

    def __init__(self):
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by records_stage
        self.writer = SealedWriter(self.file)


class _TableStage:
    """One table's records as JSON lines and, while every row has the same columns, as CSV rows.

    Given a ``readable`` language, also as the rows of the CSV for people in that language's spreadsheet
    convention (dsr.exports.readable), so the bundle copies that file too instead of decoding every line again.
    """

    def __init__(self, table: str, readable: str | None = None):
        self.table = table
        self.json = _Sealed()
        self.csv: _Sealed | None = _Sealed()
        self._csv_text = io.StringIO()
        self._csv_rows = csv.writer(self._csv_text, lineterminator="\r\n")
        self.readable: _Sealed | None = _Sealed() if readable else None
        self.readable_language = readable
        if readable:
            self._readable_row: RowFormat | None = None
            self._readable_text = io.StringIO()
            self._readable_rows = readable_csv_rows(self._readable_text, readable)
            self._readable_delimiter = CSV_CONVENTIONS[readable]["delimiter"]
        self._header: tuple | None = None
        self._categories_seen = None
        # The columns of the last batch whose rows were encoded a column at a time, and their keys as encoded.
        self._json_keys: tuple[tuple, list[str]] = ((), [])
        self._json_lines: list[str] = []
        self.records = 0
        self.provided = 0
        self.columns: dict[str, None] = {}
        self.categories: dict[str, str] = {}

    def add(self, record: Record) -> None:
        row = record.row
        if self._header is None:
            self._header = tuple(row)
            self.columns = dict.fromkeys(row)
        elif tuple(row) != self._header:
            # Rows of different shapes (a processor's documents): the CSV is made from the JSON lines instead.
            self.columns.update(dict.fromkeys(row))
            self._csv_drop()
        if record.categories is not self._categories_seen:
            # Connectors share one categories mapping per table; a new one is merged once.
            self._categories_seen = record.categories
            self.categories.update(record.categories)
        self._json_lines.append(_json_line(row))
        if len(self._json_lines) >= _JSON_BATCH:
            self._json_flush()
        if self.csv is not None:
            values = list(row.values())
            if not _CSV_PLAIN.issuperset(map(type, values)):
                values = [csv_value(value) for value in values]
            self._csv_rows.writerow(values)
            if self._csv_text.tell() > _CSV_BATCH:
                self._csv_flush()
        if self.readable is not None:
            if self._readable_row is None:
                self._readable_row = RowFormat(self.readable_language, len(row))
            self._readable_rows.writerow(self._readable_row(list(row.values())))
            if self._readable_text.tell() > _CSV_BATCH:
                self._readable_flush()
        self.records += 1
        self.provided += int(record.provided)

    def add_batch(self, batch: RecordBatch) -> None:
        """Add a batch's rows as ``add`` adds each of its records, with the work done for all rows at once."""
        columns, rows = tuple(batch.columns), batch.rows
        if not rows:
            return
        if len(set(columns)) != len(columns) or _json_chunks is None or _json_column is None:
            # A name twice keeps one value in a record's row: the records say what that row is.
            for record in batch.records():
                self.add(record)
            return
        if self._header is None:
            self._header = columns
            self.columns = dict.fromkeys(columns)
        elif columns != self._header:
            self.columns.update(dict.fromkeys(columns))
            self._csv_drop()
        if batch.categories is not self._categories_seen:
            self._categories_seen = batch.categories
            self.categories.update(batch.categories)
        # The batch a column at a time: each column's values are of one kind, most often.
        values = list(zip(*rows, strict=True))
        kinds = [set(map(type, column)) for column in values]
        if all(map(_JSON_SCALAR.issuperset, kinds)):
            if self._json_keys[0] != columns:
                # '{"id":', ',"name":': each key as the encoder writes it, with what comes before it.
                keys = [f",{json.encoder.encode_basestring(column)}:" for column in columns]
                self._json_keys = (columns, ["{" + keys[0][1:], *keys[1:]])
            # Each row's line is its keys and its values taken in turn, joined: '{"id":' 7 ',"name":' "Ida" '}'.
            parts: list[Iterable[str]] = []
            for key, column in zip(self._json_keys[1], values, strict=True):
                parts += (repeat(key), "".join(_json_column(column, 0))[1:-1].split("\x1f"))
            parts.append(repeat("}"))
            self._json_lines.extend(map("".join, zip(*parts, strict=False)))
        else:
            objects = map(dict, map(zip, repeat(columns), rows))
            self._json_lines.extend(map("".join, map(_json_chunks, objects, repeat(0))))
        if len(self._json_lines) >= _JSON_BATCH:
            self._json_flush()
        if self.csv is not None:
            cells = [
                column if _CSV_PLAIN.issuperset(kind) else list(map(csv_value, column))
                for column, kind in zip(values, kinds, strict=True)
            ]
            self._csv_text.write(csv_text(cells))
            if self._csv_text.tell() > _CSV_BATCH:
                self._csv_flush()
        if self.readable is not None:
            if self._readable_row is None:
                self._readable_row = RowFormat(self.readable_language, len(columns))
            self._readable_text.write(csv_text(self._readable_row.columns(list(values)), self._readable_delimiter))
            if self._readable_text.tell() > _CSV_BATCH:
                self._readable_flush()
        self.records += len(rows)
        self.provided += len(rows) * int(batch.provided)

    def _json_flush(self) -> None:
        if self._json_lines:
            self._json_lines.append("")
            self.json.writer.write("\n".join(self._json_lines).encode())
            self._json_lines.clear()

    def _csv_flush(self) -> None:
        self.csv.writer.write(self._csv_text.getvalue().encode())
        self._csv_text.seek(0)
        self._csv_text.truncate()

    def _readable_flush(self) -> None:
        self.readable.writer.write(self._readable_text.getvalue().encode())
        self._readable_text.seek(0)
        self._readable_text.truncate()

    def _csv_drop(self) -> None:
        if self.csv is not None:
            self.csv.file.close()
            self.csv = None
        if self.readable is not None:
            self.readable.file.close()
            self.readable = None

    def finish(self) -> None:
        self._json_flush()
        self.json.writer.close()
        if self.csv is not None:
            self._csv_flush()
            self.csv.writer.close()
        if self.readable is not None:
            self._readable_flush()
            self.readable.writer.close()

    def close(self) -> None:
        self.json.file.close()
        self._csv_drop()


def records_stage(
    records: Iterable[Record | RecordBatch],
    *,
    request_id: int,
    source_key: str,
    provided_only: bool = False,
    readable: str | None = None,
) -> dict:
    """Stage the records per table in bundle storage; return the collect job's result.

    ``records`` may come in batches (dsr.sources.batches), staged as their records would be. GDPR Art. 20(1):
    ``provided_only`` keeps only data the person provided (portability). ``readable``: the language whose
    spreadsheet CSV the bundle will hold (an access bundle's), staged beside the others.
    """
    stages: dict[str, _TableStage] = {}
    stored: list[str] = []
    try:
        for record in records:
            if (provided_only and not record.provided) or (type(record) is RecordBatch and not record.rows):
                continue
            stage = stages.get(record.table)
            if stage is None:
                stage = stages[record.table] = _TableStage(record.table, readable)
            if type(record) is RecordBatch:
                stage.add_batch(record)
            else:
                stage.add(record)
        staged = {}
        if stages:
            name, segments = _segments_store(stages.values(), request_id=request_id, source_key=source_key)
            stored.append(name)
        for stage in stages.values():
            json_at, csv_at, readable_at = segments[stage.table]
            staged[stage.table] = {
                "name": f"{name}{SEGMENT}{json_at}",
                # The CSV rows without their header, when every row had the same columns; else made from the JSON.
                "csv_name": f"{name}{SEGMENT}{csv_at}" if csv_at else "",
                # The same rows for people, in ``readable_language``'s convention, under the same condition.
                "readable_name": f"{name}{SEGMENT}{readable_at}" if readable_at else "",
                "readable_language": stage.readable_language if readable_at else "",
                "records": stage.records,
                "columns": list(stage.columns),
                "categories": stage.categories,
            }
    except BaseException:
        for name in stored:
            storage_delete(name)
        raise
    finally:
        for stage in stages.values():
            stage.close()
    tables = {table: entry["records"] for table, entry in staged.items()}
    total = sum(tables.values())
    provided = sum(stage.provided for stage in stages.values())
    return {"tables": tables, "records": total, "provided": provided, "holds_data": total > 0, "staged": staged}


def _segments_store(stages, *, request_id: int, source_key: str) -> tuple[str, dict]:
    """Store every table's sealed files of one source run as one file; return its name and each table's segments.

    One stored file per source instead of up to three per table: each file costs a create (a request, in an
    object store) however small it is. Each segment stays a sealed file of its own, read as one (``_Segment``).
    The files are read one after another into storage (``_Chained``), not copied together first.
    """
    segments, parts, offset = {}, [], 0

    def put(sealed: _Sealed | None) -> str:
        nonlocal offset
        if sealed is None:
            return ""
        size = sealed.file.seek(0, io.SEEK_END)
        parts.append((sealed.file, size))
        offset += size
        return f"{offset - size}:{size}"

    for stage in stages:
        stage.finish()
        segments[stage.table] = (put(stage.json), put(stage.csv), put(stage.readable))
    name = storage_save(storage_name_new(STAGING_PREFIX, request_id, source_key), _Chained(parts))
    return name, segments


class _Chained(SeekableReader):
    """Files read one after another as one file (each with its size), for storage to save."""

    def __init__(self, parts: list[tuple[BinaryIO, int]]):
        super().__init__()
        self._parts = parts
        self.size = sum(size for _, size in parts)

    def _length(self) -> int:
        return self.size

    def readinto(self, buffer) -> int:
        offset = self._position
        for part, size in self._parts:
            if offset < size:
                part.seek(offset)
                data = part.read(min(len(buffer), size - offset))
                buffer[: len(data)] = data
                self._position += len(data)
                return len(data)
            offset -= size
        return 0


class _Segment(SeekableReader):
    """A read-only window on part of a stored file, read as if it were the whole file."""

    def __init__(self, source, offset: int, size: int):
        super().__init__()
        self._source, self._offset, self._size = source, offset, size

    def _length(self) -> int:
        return self._size

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        self._source.seek(self._offset + self._position)
        data = self._source.read(wanted)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def _staged_open(name: str) -> tuple[BinaryIO, int]:
    """Open a staged file or segment for reading; return it (sealed) and its size."""
    storage = bundle_storage()
    stored, _, segment = name.partition(SEGMENT)
    if not segment:
        # Staged before tables were stored together: one file per table.
        return storage.open(stored, "rb"), storage.size(stored)
    offset, size = (int(part) for part in segment.split(":"))
    return _Segment(storage.open(stored, "rb"), offset, size), size


def staged_chunks(name: str) -> Iterator[bytes]:
    """Yield the plaintext of a staged file in chunks."""
    source, size = _staged_open(name)
    with SealedReader(source, size=size) as reader:
        yield from reader.chunks()


def staged_lines(name: str) -> Iterator[bytes]:
    """Yield the staged table's lines (one JSON object each, without the newline)."""
    source, size = _staged_open(name)
    with source, sealed_open(source, size=size) as plain:
        for line in plain:
            yield line.rstrip(b"\n")


def staging_sweep(request_id: int) -> int:
    """Delete everything staged for the request, including files of runs whose result was discarded."""
    storage = bundle_storage()
    root = f"{STAGING_PREFIX}/{request_id}"
    deleted = 0
    try:
        sources, _files = storage.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for source in sources:
        for run_dir in _walk(storage, f"{root}/{source}"):
            deleted += int(storage_delete(run_dir))
    _remove_empty_dirs(storage, root)
    return deleted


def _walk(storage, path: str) -> Iterator[str]:
    directories, files = storage.listdir(path)
    for name in files:
        yield f"{path}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{path}/{directory}")


def _remove_empty_dirs(storage, root: str) -> None:
    # Local storage leaves empty directories behind; object stores have none.
    if not isinstance(storage, FileSystemStorage):
        return
    top = storage.path(root)
    for current, _dirs, _files in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):
            os.rmdir(current)

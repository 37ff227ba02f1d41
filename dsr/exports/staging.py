"""Collection writes each table of each source, sealed, to bundle storage; the bundle is built from these.

Reading a source once is enough: the collect job streams the person's records
into one sealed JSON-lines file per table ("staged"), counting as it goes, and
the bundle job turns the staged tables into the ZIP. Memory stays flat: one
chunk per open table. Staged files are deleted when the bundle is built, and
by the purge when a request closes without one (docs/exports.md).
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator

from django.core.files.storage import FileSystemStorage

from dsr.exports.sealing import SealedWriter, sealed_open
from dsr.exports.storage import STAGING_PREFIX, bundle_storage, storage_delete, storage_name_new, storage_save
from dsr.sources.base import Record


class _TableStage:
    def __init__(self, table: str):
        self.table = table
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by records_stage
        self.writer = SealedWriter(self.file)
        self.records = 0
        self.provided = 0
        self.columns: dict[str, None] = {}
        self.categories: dict[str, str] = {}

    def add(self, record: Record) -> None:
        for column in record.row:
            if column not in self.columns:
                self.columns[column] = None
        self.categories.update(record.categories)
        line = json.dumps(record.row, ensure_ascii=False, separators=(",", ":"), default=str)
        self.writer.write(line.encode() + b"\n")
        self.records += 1
        self.provided += int(record.provided)


def records_stage(records: Iterator[Record], *, request_id: int, source_key: str, provided_only: bool = False) -> dict:
    """Stage the records per table in bundle storage; return the collect job's result.

    GDPR Art. 20(1): ``provided_only`` keeps only data the person provided (portability).
    """
    stages: dict[str, _TableStage] = {}
    stored: list[str] = []
    try:
        for record in records:
            if provided_only and not record.provided:
                continue
            stage = stages.get(record.table)
            if stage is None:
                stage = stages[record.table] = _TableStage(record.table)
            stage.add(record)
        staged = {}
        for position, stage in enumerate(stages.values()):
            stage.writer.close()
            name = storage_save(storage_name_new(STAGING_PREFIX, request_id, source_key, f"t{position}"), stage.file)
            stored.append(name)
            staged[stage.table] = {
                "name": name,
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
            stage.file.close()
    tables = {table: entry["records"] for table, entry in staged.items()}
    total = sum(tables.values())
    provided = sum(stage.provided for stage in stages.values())
    return {"tables": tables, "records": total, "provided": provided, "holds_data": total > 0, "staged": staged}


def staged_lines(name: str) -> Iterator[bytes]:
    """Yield the staged table's lines (one JSON object each, without the newline)."""
    storage = bundle_storage()
    size = storage.size(name)
    with storage.open(name, "rb") as stored, sealed_open(stored, size=size) as plain:
        for line in plain:
            yield line.rstrip(b"\n")


def staged_delete(result: dict) -> int:
    """Delete the staged files a collect job's result names; return how many were there."""
    return sum(storage_delete(entry["name"]) for entry in result.get("staged", {}).values())


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

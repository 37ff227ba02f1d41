"""Build the person's export bundle: a ZIP streamed into authenticated encryption, then into storage.

Contents (access, GDPR Art. 15(3)):

    <reference>/data/<source>/<table>.json   every record, with the category of each field
    <reference>/data/<source>/<table>.csv    the same records, UTF-8 with a header row
    <reference>/data/<source>/<table>.da.csv the same records for a spreadsheet, in the request's language
    <reference>/files/<source>/<name>        files uploaded to manual tasks
    <reference>/index.html                   the person's data as readable tables, every file, the Art. 15 information
    <reference>/report.pdf                   the same information as a letter, in the person's language
    <reference>/manifest.json                size and SHA-256 of every other file

Portability (GDPR Art. 20(1)) has the JSON and CSV of the data the person
provided, and the manifest: no HTML, no PDF. Nothing is held in memory but
one chunk of one file at a time: rows come from the staged tables
(dsr.exports.staging) line by line.
"""

import csv
import hashlib
import io
import json
import re
import tempfile
import zipfile
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from dsr.datamap.schema import DataMap, localised
from dsr.emails import absolute_url
from dsr.exports.art15 import FoundFile, FoundTable, art15_information
from dsr.exports.history import history_document, request_history
from dsr.exports.readable import (
    data_sections,
    labels_for,
    readable_csv_head,
    readable_csv_write,
    table_category,
    table_preview,
)
from dsr.exports.staging import csv_value, staged_chunks, staged_lines
from dsr.jurisdictions import authority_for
from dsr.models import (
    Bundle,
    BundleKind,
    JobStatus,
    ManualTaskStatus,
    Operation,
    Request,
    Right,
)
from dsr.pdf import letter_pdf_render
from dsr.storage import BUNDLE_PREFIX, storage_name_new, storage_save
from dsr.storage.sealing import SealedWriter

_WRITE_BATCH = 256 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class _HashingEntry:
    """One file being written into the ZIP: counts and hashes what goes in, for the manifest."""

    def __init__(self, archive: zipfile.ZipFile, path: str, when: datetime):
        info = zipfile.ZipInfo(path, date_time=when.timetuple()[:6])
        info.compress_type = archive.compression
        # zipfile takes the archive's level only for entries opened by name; a ZipInfo carries its own.
        if hasattr(info, "compress_level"):  # Python 3.13+
            info.compress_level = archive.compresslevel
        else:
            info._compresslevel = archive.compresslevel
        info.external_attr = 0o644 << 16
        self._handle = archive.open(info, "w", force_zip64=True)
        self._sha = hashlib.sha256()
        self._buffer = bytearray()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= _WRITE_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            data = bytes(self._buffer)
            self._sha.update(data)
            self._handle.write(data)
            self.size += len(data)
            self._buffer.clear()

    def close(self) -> str:
        self._flush()
        self._handle.close()
        return self._sha.hexdigest()


class BundleWriter:
    """A ZIP under one root folder, each file's size and SHA-256 kept for the manifest."""

    def __init__(self, out: BinaryIO, *, root: str, when: datetime, compresslevel: int):
        self.archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self.root = root
        self.when = when
        self.manifest: list[dict] = []
        self._paths: set[str] = set()

    def path_free(self, path: str) -> str:
        """Return ``path``, or a numbered variant if the bundle already has a file there."""
        candidate, number = path, 1
        while candidate in self._paths:
            stem, dot, extension = path.rpartition(".")
            candidate = f"{stem}-{number}.{extension}" if dot else f"{path}-{number}"
            number += 1
        self._paths.add(candidate)
        return candidate

    def entry(self, path: str) -> _HashingEntry:
        return _HashingEntry(self.archive, f"{self.root}/{path}", self.when)

    def add(self, path: str, entry: _HashingEntry, **extra) -> None:
        digest = entry.close()
        self.manifest.append({"path": path, "size": entry.size, "sha256": digest, **extra})

    def write_bytes(self, path: str, data: bytes, **extra) -> None:
        entry = self.entry(path)
        entry.write(data)
        self.add(path, entry, **extra)

    def close(self) -> None:
        self.archive.close()


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "data"


def _csv_from_json(entry: "_HashingEntry", name: str, columns: list[str]) -> None:
    """Write CSV rows made from staged JSON lines (tables whose rows did not all have the same columns)."""
    text = io.StringIO()
    rows = csv.writer(text, lineterminator="\r\n")
    decode = json.JSONDecoder().decode
    for count, line in enumerate(staged_lines(name), start=1):
        record = decode(line.decode())
        rows.writerow([csv_value(record.get(column)) for column in columns])
        if count % 2000 == 0:
            entry.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
    entry.write(text.getvalue().encode())


def _table_write(
    writer: BundleWriter, *, source: dict, table: str, staged: dict, language: str, readable: bool = False
) -> FoundTable:
    """Write one staged table as JSON and as CSV (and, ``readable``, as a CSV for people); return what it holds."""
    base = writer.path_free(f"data/{_safe(source['key'])}/{_safe(table)}")
    header = {
        "source": source["key"],
        "source_name": localised(source["name"], language),
        "table": table,
        "records_count": staged["records"],
        "categories": staged["categories"],
    }
    json_path, csv_path = f"{base}.json", f"{base}.csv"

    entry = writer.entry(json_path)
    opening = json.dumps(header, ensure_ascii=False, indent=1)[:-2]
    entry.write(f'{opening},\n "records": ['.encode())
    # The staged lines are the records already: copied in chunks, a comma and indent put between them.
    started = pending = False
    for chunk in staged_chunks(staged["name"]):
        if not chunk:
            continue
        entry.write(b",\n  " if pending else (b"" if started else b"\n  "))
        pending = chunk.endswith(b"\n")
        entry.write((chunk[:-1] if pending else chunk).replace(b"\n", b",\n  "))
        started = True
    entry.write(b"\n ]\n}\n" if started else b"]\n}\n")
    writer.add(json_path, entry, records=staged["records"])

    columns = staged["columns"]
    entry = writer.entry(csv_path)
    text = io.StringIO()
    rows = csv.writer(text, lineterminator="\r\n")
    rows.writerow(columns)
    # A byte-order mark, so spreadsheet programs read the UTF-8 (æ, ø, å) correctly.
    entry.write("\ufeff".encode() + text.getvalue().encode())
    if staged.get("csv_name"):
        for chunk in staged_chunks(staged["csv_name"]):
            entry.write(chunk)
    else:
        _csv_from_json(entry, staged["name"], columns)
    writer.add(csv_path, entry, records=staged["records"])
    files = [json_path, csv_path]
    if readable:
        readable_path = writer.path_free(f"{base}.{language}.csv")
        entry = writer.entry(readable_path)
        labels = labels_for(source, table, language)
        if staged.get("readable_name") and staged.get("readable_language") == language:
            readable_csv_head(entry, columns=columns, labels=labels, language=language)
            for chunk in staged_chunks(staged["readable_name"]):
                entry.write(chunk)
        else:
            readable_csv_write(entry, staged_name=staged["name"], columns=columns, labels=labels, language=language)
        # No "records" here: a program counting the manifest's records counts each table's JSON and CSV.
        writer.add(readable_path, entry, language=language)
        files.append(readable_path)
    return FoundTable(
        source=source["key"],
        table=table,
        records=staged["records"],
        categories=staged["categories"],
        files=files,
    )


def _uploads_write(writer: BundleWriter, request: Request) -> list[FoundFile]:
    """Add the files uploaded to the request's manual access tasks (e.g. exported chats), for access and portability."""
    found = []
    tasks = request.manual_tasks.filter(operation=Operation.ACCESS, status=ManualTaskStatus.DONE).exclude(
        uploaded_file=""
    )
    for task in tasks.order_by("source_key", "id"):
        name = task.uploaded_file.name.rsplit("/", 1)[-1]
        path = writer.path_free(f"files/{_safe(task.source_key)}/{_safe(name)}")
        entry = writer.entry(path)
        with task.uploaded_file.open("rb") as upload:
            while chunk := upload.read(_WRITE_BATCH):
                entry.write(chunk)
        writer.add(path, entry)
        found.append(FoundFile(source=task.source_key, path=path, size=entry.size))
    return found


def report_context(request: Request, information: dict, *, manifest: list[dict], when: datetime) -> dict:
    """Return what index.html and report.pdf show."""
    return {
        "request": request,
        "reference": request.reference,
        "generated_at": when,
        "info": information,
        "controller": information["controller"],
        "files": manifest,
        "portal_url": absolute_url(reverse("dsr:start")),
        "right_label": Right(request.right).label,
    }


def report_pdf(context: dict, language: str) -> bytes:
    """Render report.pdf: the Art. 15 information as a letter to the person (dsr.pdf.letter_pdf_render)."""
    with translation.override(language):
        html = render_to_string(f"dsr/exports/report.{language}.html", context)
    # A letter to the person: the letters' own layout and stylesheet.
    return letter_pdf_render(html)


def index_html(context: dict, language: str) -> bytes:
    """Render index.html: the person's data as readable tables, and every file of the bundle."""
    with translation.override(language):
        return render_to_string(f"dsr/exports/index.{language}.html", context).encode()


def bundle_write(
    out: BinaryIO, *, request: Request, datamap: DataMap, kind: str, when: datetime
) -> tuple[list[dict], int]:
    """Write the bundle's ZIP into ``out``; return the manifest and the number of records."""
    language = request.language
    writer = BundleWriter(out, root=request.reference, when=when, compresslevel=settings.DSR_BUNDLE_COMPRESSLEVEL)
    jobs = request.jobs.filter(operation=Operation.ACCESS, status=JobStatus.DONE).order_by("source_key")
    tables: list[FoundTable] = []
    written: list[tuple[dict, str, dict, FoundTable]] = []
    searched = []
    # GDPR Art. 15(1)(a): consent-based purposes are named where the person's records show the consent given.
    consents: set[str] = set()
    for job in jobs:
        searched.append(job.source_key)
        source = datamap.sources.get(job.source_key)
        if source is None:
            continue
        for table, staged in job.result.get("staged", {}).items():
            found = _table_write(
                writer, source=source, table=table, staged=staged, language=language, readable=kind == BundleKind.ACCESS
            )
            tables.append(found)
            written.append((source, table, staged, found))
        consents.update(job.result.get("consents", []))
    # A portability request's manual tasks are only for portable sources, so their files are the person's too.
    files = _uploads_write(writer, request)
    if kind == BundleKind.ACCESS:
        information = art15_information(
            datamap, tables=tables, files=files, searched=searched, language=language, consents=consents
        )
        # The authority of the law the request is answered under (dsr/jurisdictions/).
        information["authority"] = authority_for(request.jurisdiction, configured=information["authority"])
        with translation.override(language):
            information["history"] = request_history(request)
        history = json.dumps(history_document(information["history"]), ensure_ascii=False, indent=1)
        writer.write_bytes(writer.path_free("requests.json"), history.encode() + b"\n")
        context = report_context(request, information, manifest=list(writer.manifest), when=when)
        writer.write_bytes(writer.path_free("report.pdf"), report_pdf(context, language))
        context["files"] = list(writer.manifest)
        context["data_sections"] = _data_sections(written, datamap=datamap, language=language)
        writer.write_bytes(writer.path_free("index.html"), index_html(context, language))
    manifest = list(writer.manifest)
    document = {
        "reference": request.reference,
        "kind": kind,
        "generated_at": when.isoformat(),
        "controller": datamap.controller["name"],
        "files": manifest,
    }
    writer.write_bytes("manifest.json", json.dumps(document, ensure_ascii=False, indent=1).encode() + b"\n")
    writer.close()
    return manifest, sum(t.records for t in tables)


def _data_sections(written: list[tuple[dict, str, dict, FoundTable]], *, datamap: DataMap, language: str) -> list:
    """Return the tables that hold rows, previewed and grouped by the category they mostly hold, for index.html."""
    previews = []
    for source, table, staged, found in written:
        if not staged["records"]:
            continue
        json_path, csv_path, readable_path = found.files
        preview = table_preview(
            source=source,
            table=table,
            staged=staged,
            files={"json": json_path, "csv": csv_path, "readable": readable_path},
            datamap=datamap,
            language=language,
        )
        previews.append((table_category(staged["categories"], datamap), preview))
    return data_sections(previews, datamap, language)


def bundle_build(*, request: Request, datamap: DataMap, now: datetime | None = None) -> Bundle:
    """Build, seal and store the request's bundle; return it (status building; delivery decides the rest)."""
    when = timezone.localtime(now or timezone.now())
    kind = BundleKind.PORTABILITY if request.right == Right.PORTABILITY else BundleKind.ACCESS
    bundle = Bundle.objects.create(request=request, kind=kind, language=request.language)
    with tempfile.TemporaryFile() as sealed_file:
        sealed = _HashingFile(sealed_file)
        writer = SealedWriter(sealed)
        manifest, records = bundle_write(writer, request=request, datamap=datamap, kind=kind, when=when)
        plain_size = writer.tell()
        writer.close()
        name = storage_save(storage_name_new(BUNDLE_PREFIX, request.pk), sealed_file)
    Bundle.objects.filter(pk=bundle.pk).update(
        storage_name=name,
        size=sealed.size,
        sha256=sealed.sha.hexdigest(),
        plain_size=plain_size,
        manifest=manifest,
        records=records,
        built_at=timezone.now(),
    )
    bundle.refresh_from_db()
    return bundle


class _HashingFile:
    """Pass writes to a file while hashing and counting them."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()

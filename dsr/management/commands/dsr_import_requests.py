"""Import requests answered before dsr, from a CSV file, so the statistics and the record cover them."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dsr import workflow
from dsr.audit import Actor

_BYTES_LIMIT = 50 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Import requests handled before dsr from a CSV file with the columns "
        + ", ".join(workflow.IMPORT_COLUMNS)
        + " (the first five required). One bad row stores nothing. See docs/importing-past-requests.md."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="The CSV file (UTF-8, with a heading row).")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and say what would be imported.")
        parser.add_argument("--delimiter", default="", help="The column separator; found from the file if not given.")

    def handle(self, *args, path: str, dry_run: bool = False, delimiter: str = "", **options) -> None:
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        if file.stat().st_size > _BYTES_LIMIT:
            raise CommandError(f"{path}: larger than {_BYTES_LIMIT // (1024 * 1024)} MB; split it into several files")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from exc
        lines = text.splitlines()
        if not lines:
            raise CommandError(f"{path}: the file is empty")
        if not delimiter:
            # Danish spreadsheets save CSV with semicolons.
            delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
        reader = csv.DictReader(lines, delimiter=delimiter)
        heading = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = heading
        missing = [name for name in workflow.IMPORT_COLUMNS[:5] if name not in heading]
        unknown = [name for name in heading if name not in workflow.IMPORT_COLUMNS]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("missing column(s): " + ", ".join(missing))
            if unknown:
                parts.append("unknown column(s): " + ", ".join(unknown))
            raise CommandError(f"{path}: {'; '.join(parts)}. The columns are: {', '.join(workflow.IMPORT_COLUMNS)}")
        try:
            result = workflow.requests_import(reader, actor=Actor.system(), dry_run=dry_run)
        except workflow.ImportInvalid as exc:
            for row, column, message in exc.problems[:50]:
                self.stderr.write(f"row {row}, {column}: {message}")
            more = len(exc.problems) - 50
            if more > 0:
                self.stderr.write(f"... and {more} more")
            raise CommandError(f"{path}: {len(exc.problems)} problem(s); nothing was imported") from exc
        except csv.Error as exc:
            raise CommandError(f"{path}: not a readable CSV file ({exc}); nothing was imported") from exc
        verb = "Would import" if dry_run else "Imported"
        rights = ", ".join(f"{right} {count}" for right, count in sorted(result.by_right.items()))
        outcomes = ", ".join(f"{status} {count}" for status, count in sorted(result.by_outcome.items()))
        self.stdout.write(
            f"{verb} {result.created} request(s) received {result.first_received} to {result.last_received}: "
            f"{rights}; {outcomes}"
        )

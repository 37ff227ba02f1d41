"""Validate a data map file and make it the active map (the previous versions are kept)."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from dsr.datamap.loading import datamap_load
from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid
from dsr.datamap.selectors import datamap_version_active
from dsr.datamap.yamlread import MAX_BYTES
from dsr.sources.registry import datamap_live_errors


class Command(BaseCommand):
    help = "Validate a data map YAML file and load it as the active data map. An invalid file changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The data map YAML file (see docs/datamap.md).")
        parser.add_argument("--check", action="store_true", help="Only validate the file; load nothing.")
        parser.add_argument("--loaded-by", default="", help="Who loads it, for the history (default: the OS user).")

    def handle(self, *args, file: Path, check: bool, loaded_by: str, **options) -> None:
        try:
            # Refused before it is read: the reader's budgets start with the file's size.
            if file.stat().st_size > MAX_BYTES:
                raise CommandError(f"{file}: larger than {MAX_BYTES // 1024} KiB; a data map is far smaller.")
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        try:
            datamap = datamap_parse(text)
            # The databases' own constraints decide what erasure may do: a map that would break one is refused.
            with translation.override("en"):  # the command speaks English, as its other output does
                errors, unchecked = datamap_live_errors(datamap)
            for note in unchecked:
                self.stderr.write(self.style.WARNING(f"{file}: {note}"))
            if errors:
                raise DataMapInvalid(errors)
            if not check:
                previous = datamap_version_active()
                version = datamap_load(text=text, loaded_by=loaded_by or getpass.getuser(), source_path=str(file))
        except DataMapInvalid as exc:
            for error in exc.errors:
                self.stderr.write(f"{file}: {error}")
            raise CommandError(f"{len(exc.errors)} error(s); nothing was loaded.") from None
        if check:
            self.stdout.write(f"{file} is valid: {len(datamap.sources)} source(s), {len(datamap.purposes)} purpose(s).")
            return
        if previous is not None and previous.pk == version.pk:
            self.stdout.write(f"{file} is already the active data map (sha256 {version.sha256[:12]}); nothing changed.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {file} (sha256 {version.sha256[:12]}): {version.sources.count()} source(s), "
                f"{version.purposes.count()} purpose(s), {version.recipients.count()} recipient(s)."
            )
        )

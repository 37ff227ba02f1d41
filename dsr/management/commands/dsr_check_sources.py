"""Test the connection to every source of the active data map, one line each."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dsr.sources.base import SourceError
from dsr.sources.registry import connectors_all


class Command(BaseCommand):
    help = "Test every source's connection and configuration; exit non-zero if any failed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help="Only these source keys (default: all).")

    def handle(self, *args, sources: list[str], **options) -> None:
        connectors = connectors_all()
        if not connectors:
            raise CommandError("No data map with sources is loaded; run dsr_load_datamap first.")
        unknown = set(sources) - {connector.key for connector in connectors}
        if unknown:
            raise CommandError(f"Unknown source(s): {', '.join(sorted(unknown))}")
        failed = 0
        for connector in connectors:
            if sources and connector.key not in sources:
                continue
            try:
                connector.test_connection()
            except SourceError as exc:
                failed += 1
                retry = "permanent" if exc.permanent else "transient"
                self.stdout.write(
                    f"{connector.key} ({connector.kind}): " + self.style.ERROR(f"FAILED ({retry}): {exc.problem}")
                )
            else:
                self.stdout.write(f"{connector.key} ({connector.kind}): " + self.style.SUCCESS("OK"))
        if failed:
            raise CommandError(f"{failed} source(s) failed.")

"""Test the connection to every source of the active data map, one line each; or dry-run a person through them."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dsr.sources.base import ACCESS, DISCOVER, ERASURE, Connector, SourceError
from dsr.sources.registry import connectors_all

ACTIONS = {"delete": "delete", "anonymise": "anonymise", "keep": "keep", "request": "ask", "task": "by hand"}


class Command(BaseCommand):
    help = (
        "Test every source's connection and configuration; exit non-zero if any failed. "
        "With --person EMAIL, print per table what access would return and what erasure would do, touching nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help="Only these source keys (default: all).")
        parser.add_argument("--person", metavar="EMAIL", help="Dry-run access and erasure for this email address.")

    def handle(self, *args, sources: list[str], person: str | None, **options) -> None:
        connectors = connectors_all()
        if not connectors:
            raise CommandError("No data map with sources is loaded; run dsr_load_datamap first.")
        unknown = set(sources) - {connector.key for connector in connectors}
        if unknown:
            raise CommandError(f"Unknown source(s): {', '.join(sorted(unknown))}")
        chosen = [connector for connector in connectors if not sources or connector.key in sources]
        if person is not None:
            self.dry_run(chosen, person.strip())
            return
        failed = 0
        for connector in chosen:
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

    def dry_run(self, connectors: list[Connector], email: str) -> None:
        if "@" not in email:
            raise CommandError(f"--person takes an email address (got {email!r}).")
        local = [connector for connector in connectors if connector.reads_in_place]
        identifiers = {"email": {email.lower()}}
        failed = 0
        # The other identifiers the sources hold for the person find them in the rest, as a request would.
        for connector in local:
            if connector.supports(DISCOVER):
                try:
                    for kind, values in connector.discover_identifiers(identifiers).items():
                        identifiers.setdefault(kind, set()).update(values)
                except SourceError as exc:
                    failed += 1
                    self.stdout.write(self.style.ERROR(f"{connector.key}: identity discovery failed: {exc.problem}"))
        kinds = ", ".join(f"{kind} ({len(values)})" for kind, values in sorted(identifiers.items()))
        self.stdout.write(f"Dry run for {email}: nothing is changed. Identifiers found: {kinds}.")
        for connector in connectors:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(f"{connector.key} ({connector.kind})"))
            if not connector.reads_in_place:
                self.stdout.write("  not dry-run: a request here asks a processor or makes a task for a person")
                continue
            try:
                self.source_dry_run(connector, identifiers)
            except SourceError as exc:
                failed += 1
                self.stdout.write("  " + self.style.ERROR(f"FAILED: {exc.problem}"))
        if failed:
            raise CommandError(f"{failed} source(s) failed.")

    def source_dry_run(self, connector: Connector, identifiers: dict) -> None:
        found: Counter = Counter()
        if connector.supports(ACCESS):
            for record in connector.records(identifiers):
                found[record.table] += 1
        plans = connector.erasure_plan(identifiers).tables if connector.supports(ERASURE) else []
        erasure: dict[str, list[str]] = {}
        for plan in plans:
            parts = erasure.setdefault(plan.table, [])
            if plan.keys:
                text = f"{ACTIONS.get(plan.action, plan.action)} {len(plan.keys)}"
                if plan.fields:
                    text += " (" + ", ".join(_method(column, method) for column, method in plan.fields.items()) + ")"
                if plan.action == "keep":
                    until = f"until {plan.hold_until}" if plan.hold_until else "end date stated in words"
                    text += f" under {plan.hold}, {until}"
                elif plan.hold:
                    text += f" (the {plan.hold} hold has ended)"
                parts.append(text)
            if plan.shared_keys:
                parts.append(f"{len(plan.shared_keys)} left alone: other rows still use them")
        tables = list(dict.fromkeys([*found, *(table for table, parts in erasure.items() if parts)]))
        if not tables:
            self.stdout.write("  nothing found")
            return
        width = max(len(table) for table in tables)
        for table in tables:
            rows = found.get(table, 0)
            access = f"access {rows} row" + ("" if rows == 1 else "s")
            what = "; ".join(erasure.get(table) or ["nothing"])
            self.stdout.write(f"  {table.ljust(width)}  {access.ljust(16)}  erasure: {what}")


def _method(column: str, method) -> str:
    if isinstance(method, dict):
        key, value = next(iter(method.items()))
        return f"{column}: {key} {str(value).lower() if isinstance(value, bool) else value}"
    return f"{column}: {method}"

"""Run the data map's retention sweeps by hand (docs/retention.md)."""

from django.core.management.base import BaseCommand, CommandError

from dsr.datamap.selectors import datamap_active
from dsr.models import RetentionSweep
from dsr.sweeps import (
    SweepRefused,
    counts_totals,
    report_totals,
    sweep_approve,
    sweep_plan,
    sweep_rules,
    sweep_run,
)


class Command(BaseCommand):
    help = (
        "Sweep the data map's retention rules: find the people and rows past their period and erase them with "
        "the map's strategies. Every rule without --rule; only the dry run with --dry-run."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rule", help="one rule, e.g. purpose:newsletter or hold:bookkeeping")
        parser.add_argument("--dry-run", action="store_true", help="make the dry run only; approve it in the dashboard")
        parser.add_argument("--resume", type=int, metavar="ID", help="run an approved, interrupted or failed sweep")

    def handle(self, *args, **options) -> None:
        if options["resume"] is not None:
            sweep = RetentionSweep.objects.filter(pk=options["resume"]).first()
            if sweep is None:
                raise CommandError(f"No retention sweep {options['resume']}.")
            self._run(sweep)
            return
        datamap = datamap_active()
        if datamap is None:
            raise CommandError("No data map has been loaded: run dsr_load_datamap first.")
        rules = sweep_rules(datamap)
        keys = [options["rule"]] if options["rule"] else list(rules)
        for key in keys:
            try:
                sweep = sweep_plan(key)
            except SweepRefused as exc:
                raise CommandError(str(exc)) from None
            totals = report_totals(sweep.report)
            self.stdout.write(
                f"{key}: dry run {sweep.pk}: {totals['people']} people, {totals['change']} rows to delete or "
                f"anonymise, {totals['running']} kept under a running hold, {totals['restricted']} skipped under "
                f"restriction, {totals['not_swept']} sources not swept automatically."
            )
            if options["dry_run"]:
                continue
            sweep_approve(sweep, start=False)
            self._run(sweep)

    def _run(self, sweep: RetentionSweep) -> None:
        try:
            sweep = sweep_run(sweep.pk)
        except SweepRefused as exc:
            raise CommandError(str(exc)) from None
        totals = counts_totals(sweep.counts)
        line = (
            f"{sweep.rule}: sweep {sweep.pk} {sweep.status}: {totals['people']} people, {totals['deleted']} rows "
            f"deleted, {totals['anonymised']} anonymised, {totals['kept']} kept under a running hold, "
            f"{totals['skipped_restricted']} skipped under restriction."
        )
        if sweep.error:
            raise CommandError(f"{line} {sweep.error}")
        self.stdout.write(self.style.SUCCESS(line))

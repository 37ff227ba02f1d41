"""Check every stored export bundle: checksum, authenticated chunks, ZIP and manifest; exit non-zero on a problem."""

from django.core.management.base import BaseCommand, CommandError

from dsr.exports.verify import bundles_verify


class Command(BaseCommand):
    help = "Verify that every stored export bundle is intact and matches its manifest."

    def handle(self, *args, **options) -> None:
        checks = bundles_verify()
        failed = [check for check in checks if not check.ok]
        for check in failed:
            for problem in check.problems:
                self.stderr.write(f"bundle {check.bundle}: {problem}")
        if failed:
            raise CommandError(f"{len(failed)} of {len(checks)} bundles failed verification.")
        self.stdout.write(self.style.SUCCESS(f"Bundles intact: {len(checks)} verified."))

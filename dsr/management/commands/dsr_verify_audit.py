"""Check the audit trail's hash chain; exit non-zero naming the first broken event."""

from django.core.management.base import BaseCommand, CommandError

from dsr.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify that no audit event was edited, deleted or reordered."

    def handle(self, *args, **options) -> None:
        checked, problem = audit_chain_verify()
        if problem is not None:
            raise CommandError(f"Audit chain broken at event #{problem.seq}: {problem.message}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified."))

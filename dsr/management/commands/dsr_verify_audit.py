"""Check the audit trail's hash chain and its signed checkpoints; exit non-zero naming the first broken event."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from dsr.audit import audit_chain_verify
from dsr.audit_checkpoints import audit_checkpoints_verify


class Command(BaseCommand):
    help = "Verify that no audit event was edited, deleted or reordered, against the chain and its signed checkpoints."

    def handle(self, *args, **options) -> None:
        checked, problem = audit_chain_verify()
        if problem is not None:
            raise CommandError(f"Audit chain broken at event #{problem.seq}: {problem.message}.")
        try:
            checkpoints, problem = audit_checkpoints_verify()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        if problem is not None:
            raise CommandError(f"Audit chain broken at event #{problem.seq}: {problem.message}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {checked} events verified."))
        if checkpoints:
            self.stdout.write(
                f"{len(checkpoints)} signed checkpoint(s) hold, the last at event #{checkpoints[-1].seq}; "
                f"events after it are covered by the chain alone."
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    "No signed checkpoints: the chain proves order, not that its operator did not rewrite it."
                )
            )

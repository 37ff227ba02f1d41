"""Sign the audit chain's head now and write it as a checkpoint file (beat does so every hour)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dsr.audit_checkpoints import audit_checkpoint_write, public_key_text, signing_key
from dsr.emails import email_audit_checkpoint


class Command(BaseCommand):
    help = "Write a signed checkpoint of the audit chain's head, or print the public key that verifies them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--public-key", action="store_true", help="Print the signing key's public half (for DSR_AUDIT_VERIFY_KEYS)."
        )

    def handle(self, *args, public_key: bool, **options) -> None:
        try:
            if public_key:
                key = signing_key()
                if key is None:
                    raise CommandError("No DSR_AUDIT_SIGNING_KEY is set.")
                self.stdout.write(public_key_text(key))
                return
            checkpoint = audit_checkpoint_write()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        if checkpoint is None:
            self.stdout.write("The chain has not moved since the last checkpoint; nothing written.")
            return
        self.stdout.write(self.style.SUCCESS(f"Checkpoint at event #{checkpoint.seq} written to {checkpoint.path}."))
        if email_audit_checkpoint(checkpoint) is not None:
            addresses = ", ".join(settings.DSR_AUDIT_CHECKPOINT_EMAILS)
            self.stdout.write(f"Sent by email to {addresses}.")

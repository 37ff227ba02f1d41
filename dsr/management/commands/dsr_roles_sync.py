"""Create or update the staff role groups (privacy admin, privacy agent, auditor)."""

from django.core.management.base import BaseCommand, CommandError

from dsr.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the groups Privacy admin, Privacy agent and Auditor with their permissions."

    def handle(self, *args, **options) -> None:
        try:
            counts = roles_sync()
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        for role, count in counts.items():
            self.stdout.write(f"{role}: {count} permissions")

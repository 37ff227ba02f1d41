"""Create an API key for an integration and print its token once."""

from django.core.management.base import BaseCommand, CommandError

from dsr.apikeys import apikey_create
from dsr.audit import Actor
from dsr.models import ApiScope
from dsr.requests import RequestInvalid


class Command(BaseCommand):
    help = "Create an API key; the token is printed once and only its hash is stored."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Which system uses the key, e.g. 'shop account pages'.")
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=ApiScope.values,
            help="A scope the key holds; repeat for more.",
        )

    def handle(self, *args, **options) -> None:
        try:
            created = apikey_create(name=options["name"], scopes=options["scope"], actor=Actor.system())
        except RequestInvalid as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stderr.write(
            f"Created key dsr_{created.key.prefix}_… ({', '.join(created.key.scopes)}). "
            "The token below is shown only now:"
        )
        self.stdout.write(created.token)

"""Seed the local demo: the demo company and its data map, a staff login, and requests in several states."""

import secrets
import sqlite3
from contextlib import closing
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Channel, RefusalGround, Request, Right, SuspensionReason, VerificationMethod
from dsr.roles import AUDITOR, PRIVACY_ADMIN, PRIVACY_AGENT, roles_sync, user_role_set

DEMO_USERNAME = "privacy"
# Colleagues to try the other roles with; each login is kept in var/demo-login-<name>.txt.
DEMO_COLLEAGUES = (("agent", PRIVACY_AGENT), ("auditor", AUDITOR))


class Command(BaseCommand):
    help = "Create the demo company, a staff login and a handful of requests. Safe to run again."
    # It loads the data map itself; the checks ran at migrate and would only say that none is loaded yet.
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Seed even though DEBUG is off.")
        parser.add_argument("--customers", type=int, default=300, help="Customers in a newly built demo shop database.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Build the demo shop and the partners' audiences anew (the requests in dsr stay).",
        )

    def handle(self, *args, force: bool = False, customers: int = 300, reset: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to seed demo data with DEBUG off; pass --force if this really is a demo.")
        # Imported only when seeding: the demo's fake-data generator is not needed to run dsr.
        from dsr.demo.seed import demo_company_seed

        summary = demo_company_seed(customers=customers, reset=reset)
        kept = "built" if summary["built"] else "kept as it was (dsr_seed_demo --reset builds it anew)"
        self.stdout.write(
            f"Demo company: {summary['customers']} customers in {summary['shop_path']}, {kept}; data map version "
            f"{summary['datamap_version']} with sources {', '.join(summary['sources'])}"
        )
        roles_sync()
        user, password = self._staff_user()
        user_role_set(user=user, role=PRIVACY_ADMIN)
        others = [(*self._staff_user(name, f"demo-login-{name}.txt"), role) for name, role in DEMO_COLLEAGUES]
        for colleague, _password, role in others:
            user_role_set(user=colleague, role=role)
        created = self._requests(user, self._shop_emails(summary["shop_path"]), self._abroad(summary["shop_path"]))
        self.stdout.write(f"Demo requests: {created} created" if created else "Demo requests: already there")
        from dsr.demo.history import demo_history_import

        imported = demo_history_import()
        if imported:
            self.stdout.write(f"Demo history: {imported} past requests imported, as from a spreadsheet (a year)")
        self.stdout.write(self.style.SUCCESS(f"Staff login: {user.username} / {password}"))
        for colleague, colleague_password, role in others:
            self.stdout.write(self.style.SUCCESS(f"{role} login: {colleague.username} / {colleague_password}"))

    def _staff_user(self, username: str = DEMO_USERNAME, filename: str = "demo-login.txt"):
        credentials = settings.VAR_DIR / filename
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None and credentials.is_file():
            return user, credentials.read_text().strip()
        password = secrets.token_urlsafe(12)
        if user is None:
            user = user_model(
                username=username,
                email=f"{username}@demo.invalid",
                is_staff=True,
                is_superuser=username == DEMO_USERNAME,
            )
        user.set_password(password)
        user.save()
        credentials.write_text(password + "\n")
        credentials.chmod(0o600)
        return user, password

    def _shop_emails(self, shop_path: str) -> list[str]:
        """Return a few customers' addresses from the demo shop, so the demo requests find their data."""
        with closing(sqlite3.connect(shop_path)) as conn:
            return [row[0] for row in conn.execute("SELECT email FROM customer ORDER BY id LIMIT 8")]

    def _abroad(self, shop_path: str) -> dict[str, str]:
        """Return the first customer's address living in Sweden and in the USA (California), where there is one."""
        with closing(sqlite3.connect(shop_path)) as conn:
            rows = conn.execute(
                "SELECT a.country, min(c.email) FROM customer c JOIN address a ON a.customer_id = c.id "
                "WHERE a.country IN ('SE', 'US') GROUP BY a.country"
            ).fetchall()
        return dict(rows)

    def _requests(self, user, emails: list[str], abroad: dict[str, str]) -> int:
        if Request.objects.exists():
            return 0
        staff = Actor.staff(user)
        now = timezone.now()

        def entered(right, email, days_ago, channel=Channel.EMAIL, language="da", jurisdiction="", **details):
            result = workflow.request_submit(
                right=right,
                email=email,
                actor=staff,
                channel=channel,
                language=language,
                jurisdiction=jurisdiction,
                details=details or None,
                received_at=now - timedelta(days=days_ago),
                identity_checked=VerificationMethod.STAFF_CHECK,
            )
            return result.request

        workflow.request_submit(right=Right.ACCESS, email=emails[0], actor=Actor.subject())
        entered(Right.ERASURE, emails[1], 3)
        entered(Right.ACCESS, emails[2], 22, channel=Channel.LETTER)
        entered(
            Right.RECTIFICATION,
            emails[3],
            27,
            language="en",
            corrections=[{"field": "address", "current": "Vesterbrogade 1", "correct": "Vesterbrogade 10"}],
        )
        # Each filing and the staff's next step in one transaction: the worker starts on a request only once it
        # commits, so it never finishes one before it is extended, suspended or refused here.
        with transaction.atomic():
            extended = entered(Right.PORTABILITY, emails[4], 40, channel=Channel.PHONE)
            workflow.request_extend(
                request=extended,
                actor=staff,
                today=(now - timedelta(days=30)).date(),
                reasons="The request covers eleven years of orders across three systems.",
            )
        with transaction.atomic():
            waiting = entered(Right.RESTRICTION, emails[5], 8, ground="accuracy_contested")
            workflow.request_suspend(
                request=waiting,
                reason=SuspensionReason.CLARIFICATION,
                actor=staff,
                note="Which address do you contest: delivery or billing?",
            )
        # Direct marketing stops without a decision (Art. 21(3)): the worker carries it out in the demo shop and
        # completes it, and the letter says what the shop did.
        entered(Right.OBJECTION, emails[6], 12, language="en", scope="direct_marketing")
        with transaction.atomic():
            refused = entered(Right.ACCESS, emails[7], 15)
            workflow.request_refuse(
                request=refused,
                ground=RefusalGround.EXCESSIVE,
                actor=staff,
                reasons="This is the fourth identical request this month; the previous answer of 2 days ago is "
                "unchanged.",
            )
        created = 8
        # Customers abroad, answered under their own law (docs/jurisdictions.md).
        if "SE" in abroad:
            entered(Right.ACCESS, abroad["SE"], 5, language="en", jurisdiction="se")
            created += 1
        if "US" in abroad:
            # A Californian opt-out of sale or sharing: acted on within 15 business days (CCPA regs § 7026(f)).
            entered(Right.OBJECTION, abroad["US"], 2, language="en", jurisdiction="us-ca", scope="direct_marketing")
            created += 1
        return created

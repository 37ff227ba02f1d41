"""Requests handled before dsr: imported from a spreadsheet so that the statistics and the record cover them.

A privacy team that starts using dsr has answered requests before, by email and
by hand, and must still account for them (GDPR Art. 5(2), Art. 30 records, the
yearly numbers). Each imported request is stored closed, as it ended, with the
dates it was received and answered; it is marked as imported, so no page, letter
or statistic says dsr did work it never did: it has no jobs, no letters, no
files and no webhooks. One audit event per request records the import, with
no personal data in it.

The rows are checked first, all of them; one bad row stores nothing and the
error names the row and the column.
"""

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.jurisdictions import PROFILES, profile_default_code, profile_get
from dsr.models import AuditAction, Channel, IdentityLevel, Language, RefusalGround, Request, Right, Status
from dsr.workflow.base import _now
from dsr.workflow.filing import reference_new

# How a request handled outside dsr can have ended. Expired (never confirmed) is dsr's own notion.
IMPORT_OUTCOMES = (Status.COMPLETED, Status.PARTIALLY_COMPLETED, Status.REFUSED, Status.CANCELLED)
IMPORT_COLUMNS = (
    "right",
    "email",
    "received",
    "closed",
    "outcome",
    "channel",
    "language",
    "refusal_ground",
    "extended_until",
    "their_reference",
    "reasons",
    "jurisdiction",
)
IMPORT_REQUIRED = ("right", "email", "received", "closed", "outcome")
IMPORT_ROWS_LIMIT = 100_000
_TEXT_LIMIT = 5000


class ImportInvalid(Exception):
    """One or more rows cannot be imported; ``problems`` names each (row number, column, message)."""

    def __init__(self, problems: list[tuple[int, str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"row {row}, {column}: {message}" for row, column, message in problems[:5]))


@dataclass
class ImportResult:
    created: int = 0
    by_right: Counter = field(default_factory=Counter)
    by_outcome: Counter = field(default_factory=Counter)
    first_received: date | None = None
    last_received: date | None = None


def requests_import(rows: Iterable[Mapping[str, str]], *, actor: Actor, dry_run: bool = False) -> ImportResult:
    """Check every row, then store each as a closed, imported request in one transaction.

    ``rows`` are mappings of IMPORT_COLUMNS to text (a CSV's DictReader); rows are numbered from 2, as a
    spreadsheet shows them under their heading row. Raises ImportInvalid naming every problem; then nothing
    is stored. With ``dry_run`` nothing is stored either, and the result says what would be.
    """
    now = _now()
    today = timezone.localdate(now)
    cleaned: list[dict] = []
    problems: list[tuple[int, str, str]] = []
    for number, row in enumerate(rows, start=2):
        if len(cleaned) + len(problems) >= IMPORT_ROWS_LIMIT:
            problems.append((number, "-", _("At most %(limit)s rows in one import.") % {"limit": IMPORT_ROWS_LIMIT}))
            break
        row_problems: list[tuple[str, str]] = []
        values = _row_clean(row, today=today, problems=row_problems)
        problems.extend((number, column, message) for column, message in row_problems)
        if not row_problems:
            cleaned.append(values)
    if not cleaned and not problems:
        problems.append((1, "-", _("There are no rows to import.")))
    if problems:
        raise ImportInvalid(problems)

    result = ImportResult()
    for values in cleaned:
        result.created += 1
        result.by_right[values["right"]] += 1
        result.by_outcome[values["status"]] += 1
        received = values["received"]
        result.first_received = min(filter(None, (result.first_received, received)))
        result.last_received = max(filter(None, (result.last_received, received)))
    if dry_run:
        return result
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        for values in cleaned:
            received_at = timezone.make_aware(datetime.combine(values["received"], time(9)), tz)
            # Closed at the end of the working day it was answered: the spreadsheet knows the day, not the hour.
            closed_at = timezone.make_aware(datetime.combine(values["closed"], time(16)), tz)
            request = Request.objects.create(
                reference=reference_new(),
                right=values["right"],
                status=values["status"],
                email=values["email"],
                language=values["language"],
                channel=values["channel"],
                details={"their_reference": values["their_reference"]} if values["their_reference"] else {},
                received_at=received_at,
                identity_level=IdentityLevel.NONE,
                jurisdiction=values["jurisdiction"],
                due_date=profile_get(values["jurisdiction"]).due_date(values["received"], right=values["right"]),
                extended_due_date=values["extended_until"],
                closed_at=closed_at,
                refusal_ground=values["refusal_ground"],
                outcome_reasons=values["reasons"],
                status_salt=secrets.token_hex(16),
                imported_at=now,
            )
            audit_record(
                actor=actor,
                action=AuditAction.REQUEST_IMPORTED,
                request=request,
                data={
                    "right": request.right,
                    "status": request.status,
                    "received": values["received"].isoformat(),
                    "closed": values["closed"].isoformat(),
                },
            )
    return result


def _row_clean(row: Mapping[str, str], *, today: date, problems: list[tuple[str, str]]) -> dict:
    def text(column: str) -> str:
        return (row.get(column) or "").strip()

    for column in IMPORT_REQUIRED:
        if not text(column):
            problems.append((column, _("This column is required.")))
    values: dict = {}
    values["right"] = _choice(text("right"), Right, column="right", problems=problems)
    values["status"] = _choice(text("outcome"), IMPORT_OUTCOMES, column="outcome", problems=problems)
    email = text("email")
    if email:
        try:
            EmailValidator()(email)
        except ValidationError:
            problems.append(("email", _("Not a valid email address.")))
    values["email"] = email
    values["channel"] = _choice(text("channel") or Channel.EMAIL, Channel, column="channel", problems=problems)
    values["language"] = _choice(
        text("language") or settings.LANGUAGE_CODE[:2], Language, column="language", problems=problems
    )
    values["jurisdiction"] = (
        _choice(text("jurisdiction") or profile_default_code(), PROFILES, column="jurisdiction", problems=problems)
        or profile_default_code()
    )
    values["received"] = _day(text("received"), column="received", problems=problems)
    values["closed"] = _day(text("closed"), column="closed", problems=problems)
    values["extended_until"] = _day(text("extended_until"), column="extended_until", problems=problems)
    received, closed = values["received"], values["closed"]
    if received and received > today:
        problems.append(("received", _("The day of receipt cannot be in the future.")))
    if closed and closed > today:
        problems.append(("closed", _("The day it was answered cannot be in the future.")))
    if received and closed and closed < received:
        problems.append(("closed", _("The day it was answered is before the day it was received.")))
    if received and values["extended_until"] and values["extended_until"] <= received:
        problems.append(("extended_until", _("The extended deadline must come after the day of receipt.")))
    ground = text("refusal_ground")
    values["refusal_ground"] = ""
    if values["status"] == Status.REFUSED:
        if not ground:
            problems.append(("refusal_ground", _("A refused request needs its ground.")))
        else:
            values["refusal_ground"] = _choice(ground, RefusalGround, column="refusal_ground", problems=problems)
    elif ground:
        problems.append(("refusal_ground", _("Only a refused request has a refusal ground.")))
    values["their_reference"] = text("their_reference")
    if len(values["their_reference"]) > 64:
        problems.append(("their_reference", _("At most %(limit)s characters.") % {"limit": 64}))
    values["reasons"] = text("reasons")
    if len(values["reasons"]) > _TEXT_LIMIT:
        problems.append(("reasons", _("At most %(limit)s characters.") % {"limit": _TEXT_LIMIT}))
    if len(email) > 254:
        problems.append(("email", _("At most %(limit)s characters.") % {"limit": 254}))
    return values


def _choice(value: str, choices, *, column: str, problems: list[tuple[str, str]]) -> str:
    if isinstance(choices, dict):
        allowed = list(choices)
    else:
        allowed = [str(choice) for choice in (choices.values if hasattr(choices, "values") else choices)]
    if value and value not in allowed:
        # The value is not echoed: a column that shifted may hold someone's personal data.
        problems.append((column, _("Use one of: %(allowed)s.") % {"allowed": ", ".join(allowed)}))
        return ""
    return value


def _day(value: str, *, column: str, problems: list[tuple[str, str]]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append((column, _("Write the day as YYYY-MM-DD.")))
        return None

"""Reads for screens and answers: joins, filters and derived values, no state changes."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone

from dsr import deadlines
from dsr.models import OPEN_STATUSES, Request, Status


@dataclass(frozen=True)
class Deadline:
    received: date
    due: date
    extended_due: date | None
    effective_due: date
    days_left: int
    clock_stopped: bool
    stopped_reason: str
    stopped_since: date | None
    suspended_days: int
    extension_allowed: bool
    overdue: bool

    @property
    def days_overdue(self) -> int:
        return max(-self.days_left, 0) if self.overdue else 0


def request_deadline(request: Request, *, today: date | None = None) -> Deadline:
    """Return the request's deadline as of `today`, counting a running suspension up to today."""
    tz = settings.TIME_ZONE
    today = today or deadlines.local_date(timezone.now(), tz)
    received = deadlines.local_date(request.received_at, tz)
    periods = []
    open_suspension = None
    for suspension in request.suspensions.all():
        started = deadlines.local_date(suspension.started_at, tz)
        ended = deadlines.local_date(suspension.ended_at, tz) if suspension.ended_at else None
        if ended is None:
            open_suspension = suspension
        periods.append((started, ended))
    suspended = deadlines.days_suspended(periods, today=today)
    country = settings.DSR_COUNTRY
    due = deadlines.due_date(received, country=country, suspended_days=suspended)
    extended = (
        deadlines.extended_due_date(received, country=country, suspended_days=suspended)
        if request.extended_due_date
        else None
    )
    effective = extended or due
    is_open = request.status in OPEN_STATUSES
    return Deadline(
        received=received,
        due=due,
        extended_due=extended,
        effective_due=effective,
        days_left=deadlines.days_left(effective, today=today),
        clock_stopped=open_suspension is not None,
        stopped_reason=open_suspension.reason if open_suspension else "",
        stopped_since=deadlines.local_date(open_suspension.started_at, tz) if open_suspension else None,
        suspended_days=suspended,
        extension_allowed=(
            is_open
            and request.status != Status.PENDING_VERIFICATION
            and not request.extended_due_date
            and deadlines.extension_allowed(received, today=today, country=country, suspended_days=suspended)
        ),
        overdue=is_open and open_suspension is None and today > effective,
    )

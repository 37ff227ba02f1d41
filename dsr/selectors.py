"""Reads for screens and answers: joins, filters and derived values, no state changes."""

import functools
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection
from django.utils import timezone

from dsr import deadlines, rows
from dsr.jurisdictions import Profile, profile_get
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
    jurisdiction: Profile
    # Whether the law allows extending this request's deadline at all (LGPD and a CCPA opt-out: no).
    extendable: bool
    # The day the figures are computed for, and whether the request is open.
    today: date
    is_open: bool
    # The last day to confirm receipt, where the law sets one for this right (CCPA regs § 7021(a)).
    acknowledge_by: date | None = None
    # The day the email confirming receipt went out (Request.receipt_confirmed_at), where the law asks for one.
    receipt_confirmed: date | None = None

    @property
    def days_overdue(self) -> int:
        return max(-self.days_left, 0) if self.overdue else 0

    @property
    def receipt_due(self) -> bool:
        """Return whether receipt still has to be confirmed: the law asks, nothing went out, the request is open."""
        return self.acknowledge_by is not None and self.receipt_confirmed is None and self.is_open

    @property
    def receipt_overdue(self) -> bool:
        """Return whether the day to confirm receipt has passed with no confirmation sent."""
        return self.receipt_due and self.today > self.acknowledge_by

    @property
    def receipt_late(self) -> bool:
        """Return whether receipt was confirmed after the law's day."""
        return (
            self.acknowledge_by is not None
            and self.receipt_confirmed is not None
            and self.receipt_confirmed > self.acknowledge_by
        )


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
    profile = profile_get(request.jurisdiction)
    due = profile.due_date(received, right=request.right, suspended_days=suspended)
    extended = (
        profile.extended_due_date(received, right=request.right, suspended_days=suspended)
        if request.extended_due_date
        else None
    )
    effective = extended or due
    is_open = request.status in OPEN_STATUSES
    # Under a law whose clock never stops (CCPA, LGPD) waiting for the requester stops nothing.
    stopped = open_suspension if profile.clock_stops else None
    return Deadline(
        received=received,
        due=due,
        extended_due=extended,
        effective_due=effective,
        days_left=deadlines.days_left(effective, today=today),
        clock_stopped=stopped is not None,
        # What we wait for, and since when, whether or not the law stops the clock meanwhile.
        stopped_reason=open_suspension.reason if open_suspension else "",
        stopped_since=deadlines.local_date(open_suspension.started_at, tz) if open_suspension else None,
        suspended_days=suspended if profile.clock_stops else 0,
        extension_allowed=(
            is_open
            and request.status != Status.PENDING_VERIFICATION
            and not request.extended_due_date
            and profile.extension_allowed(received, today=today, right=request.right, suspended_days=suspended)
        ),
        overdue=is_open and stopped is None and today > effective,
        jurisdiction=profile,
        extendable=profile.extendable(request.right),
        acknowledge_by=profile.acknowledge_by(received, right=request.right),
        receipt_confirmed=(
            deadlines.local_date(request.receipt_confirmed_at, tz) if request.receipt_confirmed_at else None
        ),
        today=today,
        is_open=is_open,
    )


def request_right_label(request: Request) -> str:
    """Return the right's name as the request's law calls it ("Right to know"), else dsr's own label."""
    return profile_get(request.jurisdiction).right_name(request.right, request.details) or request.get_right_display()


def request_for_update(request_id: int) -> Request | None:
    """Read the request and take its row for update, or return None; one statement written once (dsr/rows.py).

    Every change to a request takes its row first; a plan's every step and a workflow's every transition do.
    """
    row = rows.fetch_one(_request_for_update_statement(), [request_id])
    return rows.instance(Request, row) if row is not None else None


@functools.cache
def _request_for_update_statement() -> str:
    requests = connection.ops.quote_name(Request._meta.db_table)
    return f"SELECT {rows.columns(Request, 'r')} FROM {requests} r WHERE r.id = %s{rows.for_update()}"  # noqa: S608

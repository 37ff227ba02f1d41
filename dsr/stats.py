"""Statistics of the privacy team's work: reads only, computed from requests as stored.

Months and days are in the controller's time zone (settings.TIME_ZONE), like deadlines.
"""

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from dsr import deadlines
from dsr.jurisdictions import PROFILES, Profile
from dsr.models import OPEN_STATUSES, Fee, FeeGround, FeeStatus, Request, Right, Status

# Outcomes that answer the request; cancelled and expired ones answer nothing.
ANSWERED = (Status.COMPLETED, Status.PARTIALLY_COMPLETED, Status.REFUSED)


@dataclass(frozen=True)
class Summary:
    received: int
    closed: int
    median_days_to_close: float | None
    p90_days_to_close: float | None
    closed_late: int
    extended: int
    verified: int
    verification_rate: float | None
    refused: int
    refusal_rate: float | None
    # Requests whose law asks for a confirmation of receipt (CCPA regs § 7021(a)), and those confirmed after its
    # day or not by it (a request answered by that day needed none); None where no request's law asks for one.
    receipts_owed: int | None = None
    receipts_late: int | None = None


def month_start(day: date, *, months_back: int = 0) -> date:
    """Return the first day of the month `months_back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> list[date]:
    """Return the first days of every month from `start`'s month to `end`'s month, inclusive."""
    months = []
    current = month_start(start)
    while current <= end:
        months.append(current)
        current = month_start(date(current.year + (current.month == 12), current.month % 12 + 1, 1))
    return months


def _received_between(start: date, end: date) -> QuerySet:
    tz = ZoneInfo(settings.TIME_ZONE)
    begin = datetime.combine(start, time.min, tzinfo=tz)
    stop = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return Request.objects.filter(received_at__gte=begin, received_at__lt=stop)


def requests_per_month(*, start: date, end: date) -> dict[date, dict[str, int]]:
    """Return {first day of month: {right: requests received}} for every month in [start, end]."""
    table = {month: dict.fromkeys(Right.values, 0) for month in months_between(start, end)}
    rows = (
        _received_between(start, end)
        .annotate(month=TruncMonth("received_at", tzinfo=timezone.get_default_timezone()))
        .values("month", "right")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        month = row["month"]
        month = month.date() if hasattr(month, "date") else month
        table[month_start(month)][row["right"]] += row["n"]
    return table


def _percentile(values: list[int], fraction: float) -> float:
    """Return the `fraction` percentile by linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(*, start: date, end: date, jurisdiction: str | None = None) -> Summary:
    """Return the headline figures of requests received in [start, end], optionally under one profile only."""
    tz = settings.TIME_ZONE
    received = _received_between(start, end)
    if jurisdiction is not None:
        received = received.filter(jurisdiction=jurisdiction)
    received = received.annotate(effective_due=Coalesce("extended_due_date", "due_date"))
    counts = received.aggregate(
        received=Count("id"),
        closed=Count("id", filter=Q(status__in=ANSWERED)),
        extended=Count("id", filter=Q(extended_due_date__isnull=False)),
        verified=Count("id", filter=Q(verified_at__isnull=False)),
        # The denominator of the verification rate: requests whose confirmation is settled one way or the other.
        # Imported requests are left out: the spreadsheet they came from does not say how identity was checked.
        verifiable=Count(
            "id",
            filter=~Q(status=Status.PENDING_VERIFICATION) & ~Q(status=Status.CANCELLED) & Q(imported_at__isnull=True),
        ),
        refused=Count("id", filter=Q(status=Status.REFUSED)),
    )
    days = []
    closed_late = 0
    for received_at, closed_at, due in received.filter(status__in=ANSWERED).values_list(
        "received_at", "closed_at", "effective_due"
    ):
        closed_on = deadlines.local_date(closed_at, tz)
        days.append((closed_on - deadlines.local_date(received_at, tz)).days)
        if closed_on > due:
            closed_late += 1
    owed, late = _receipts(received)
    return Summary(
        received=counts["received"],
        closed=counts["closed"],
        median_days_to_close=float(statistics.median(days)) if days else None,
        p90_days_to_close=_percentile(days, 0.9) if days else None,
        closed_late=closed_late,
        extended=counts["extended"],
        verified=counts["verified"],
        verification_rate=counts["verified"] / counts["verifiable"] if counts["verifiable"] else None,
        refused=counts["refused"],
        refusal_rate=counts["refused"] / counts["closed"] if counts["closed"] else None,
        receipts_owed=owed or None,
        receipts_late=late if owed else None,
    )


def _receipts(received: QuerySet, *, today: date | None = None) -> tuple[int, int]:
    """Return how many of ``received`` needed a confirmation of receipt, and how many did not get it in time."""
    tz = settings.TIME_ZONE
    today = today or deadlines.local_date(timezone.now(), tz)
    codes = [profile.code for profile in PROFILES.values() if profile.acknowledge_working_days is not None]
    owed = late = 0
    rows = received.filter(jurisdiction__in=codes, imported_at__isnull=True).values_list(
        "jurisdiction", "right", "received_at", "receipt_confirmed_at", "closed_at", "status"
    )
    for code, right, received_at, confirmed_at, closed_at, status in rows:
        by = PROFILES[code].acknowledge_by(deadlines.local_date(received_at, tz), right=right)
        if by is None:
            continue
        owed += 1
        if confirmed_at is not None:
            if deadlines.local_date(confirmed_at, tz) > by:
                late += 1
        elif status in ANSWERED and closed_at is not None and deadlines.local_date(closed_at, tz) <= by:
            continue  # § 7021(a): granted or denied before the day; no separate confirmation needed
        elif today > by:
            late += 1
    return owed, late


def summary_by_jurisdiction(*, start: date, end: date) -> list[tuple[Profile, Summary]]:
    """Return the headline figures per jurisdiction profile with requests received in [start, end]."""
    codes = set(_received_between(start, end).values_list("jurisdiction", flat=True).distinct())
    return [
        (profile, summary(start=start, end=end, jurisdiction=profile.code))
        for profile in PROFILES.values()
        if profile.code in codes
    ]


def open_overdue_count(*, today: date | None = None) -> int:
    """Return how many open requests are past their deadline today with the clock running."""
    today = today or deadlines.local_date(timezone.now(), settings.TIME_ZONE)
    # A stopped clock (waiting for the requester) is never overdue (PRODUCT.md, Deadlines), except under a law
    # whose clock does not stop (CCPA, LGPD: dsr/jurisdictions/).
    running = [s for s in OPEN_STATUSES if s not in (Status.PENDING_VERIFICATION, Status.AWAITING_SUBJECT)]
    never_stops = [p.code for p in PROFILES.values() if not p.clock_stops]
    return (
        Request.objects.filter(Q(status__in=running) | Q(status__in=OPEN_STATUSES, jurisdiction__in=never_stops))
        .annotate(effective_due=Coalesce("extended_due_date", "due_date"))
        .filter(effective_due__lt=today)
        .count()
    )


@dataclass(frozen=True)
class FeeCounts:
    """Fees asked of requests received in a period (GDPR Art. 12(5)(a), 15(3)), and how they ended."""

    asked: int
    by_ground: dict[str, int]
    by_status: dict[str, int]
    # What was recorded as received, per currency (a change of DSR_FEE_CURRENCY keeps old fees in theirs).
    received: dict[str, Decimal]


def fee_counts(*, start: date, end: date) -> FeeCounts:
    """Return how many fees were asked for requests received in [start, end], by ground and by how they ended."""
    fees = Fee.objects.filter(request__in=_received_between(start, end))
    by_ground = dict.fromkeys(FeeGround.values, 0)
    for row in fees.values("ground").annotate(n=Count("id")).order_by():
        by_ground[row["ground"]] = row["n"]
    by_status = dict.fromkeys(FeeStatus.values, 0)
    for row in fees.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]
    received = {
        row["currency"]: row["total"]
        for row in fees.filter(status=FeeStatus.PAID)
        .values("currency")
        .annotate(total=Sum("paid_amount"))
        .order_by("currency")
    }
    return FeeCounts(asked=sum(by_ground.values()), by_ground=by_ground, by_status=by_status, received=received)

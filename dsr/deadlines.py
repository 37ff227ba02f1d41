"""Legal deadlines for answering a request: pure date arithmetic, no ORM, no clock.

GDPR Art. 12(3): the controller answers "without undue delay and in any event
within one month of receipt", extendable "by two further months where
necessary", with the reasons sent to the subject within the first month.
How periods are counted comes from Regulation (EEC, Euratom) No 1182/71,
Art. 3, as read by the EDPB (Guidelines 01/2022 on the right of access,
¶157-164). See docs/decisions/0002-deadlines.md.

The rules live here alone so that a jurisdiction profile can replace them.
"""

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# GDPR Art. 12(3): one month, extendable by two further months (three in all).
FIRST_PERIOD_MONTHS = 1
EXTENDED_PERIOD_MONTHS = 3


def months_add(start: date, months: int) -> date:
    """Return the day in the month `months` after `start` with the same date, or that month's last day.

    Reg. 1182/71 Art. 3(2)(c): a period in months ends with the expiry of the
    last hour of the day in the last month which is the same date as the day
    the period began; if there is no such day, the last day of that month.
    """
    if months < 0:
        raise ValueError("months must not be negative")
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    month = month_index + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last_day))


@lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """Return the public holidays of ``country`` in ``year``, read once per process (a worker reads them at start).

    ``country`` is a country, or a country and one of its subdivisions as the holidays package names them
    ("US-CA", "GB-ENG").
    """
    code, _, subdivision = country.upper().partition("-")
    return frozenset(holidays.country_holidays(code, subdiv=subdivision or None, years=year).keys())


def is_working_day(day: date, *, country: str = "DK") -> bool:
    """Return whether `day` is neither a Saturday, a Sunday nor a public holiday of `country`."""
    return day.weekday() < 5 and day not in public_holidays(country, day.year)


def next_working_day(day: date, *, country: str = "DK") -> date:
    """Return `day` if it is a working day, else the first working day after it.

    Reg. 1182/71 Art. 3(4): a period whose last day is a public holiday, a
    Saturday or a Sunday ends with the expiry of the last hour of the
    following working day.
    """
    while not is_working_day(day, country=country):
        day += timedelta(days=1)
    return day


def due_date(
    received: date, *, months: int = FIRST_PERIOD_MONTHS, country: str = "DK", suspended_days: int = 0
) -> date:
    """Return the last day on which the controller may answer a request received on `received`.

    The day of receipt is not counted (Reg. 1182/71 Art. 3(1)); days on which
    the clock was stopped are added before the weekend/holiday rule.
    """
    if suspended_days < 0:
        raise ValueError("suspended_days must not be negative")
    end = months_add(received, months) + timedelta(days=suspended_days)
    return next_working_day(end, country=country)


def extended_due_date(received: date, *, country: str = "DK", suspended_days: int = 0) -> date:
    """Return the due date after the Art. 12(3) extension: three months from receipt."""
    return due_date(received, months=EXTENDED_PERIOD_MONTHS, country=country, suspended_days=suspended_days)


def extension_allowed(received: date, *, today: date, country: str = "DK", suspended_days: int = 0) -> bool:
    """Return whether an extension may still be recorded: only within the first period (Art. 12(3))."""
    return today <= due_date(received, country=country, suspended_days=suspended_days)


def days_add(start: date, days: int, *, first_day_counts: bool = False) -> date:
    """Return the last day of a period of `days` calendar days that starts on `start`.

    With `first_day_counts` the day of receipt is day one of the period (11 CCR § 7021(b)); else it
    is not counted and the period runs from the next day (Reg. 1182/71 Art. 3(1); Brazilian Civil Code Art. 132).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    return start + timedelta(days=days - 1 if first_day_counts else days)


def working_days_add(start: date, days: int, *, country: str = "DK") -> date:
    """Return the `days`-th working day after `start` (the day of receipt itself is not counted)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    day = start
    for _ in range(days):
        day = next_working_day(day + timedelta(days=1), country=country)
    return day


def days_suspended(periods: Iterable[tuple[date, date | None]], *, today: date) -> int:
    """Return the whole days the clock was stopped; an open period counts up to `today`.

    A period stopped and restarted on the same day costs no day; stopped on
    the 3rd and restarted on the 5th, two.
    """
    total = 0
    for started, ended in periods:
        end = ended if ended is not None else today
        total += max((end - started).days, 0)
    return total


def days_left(due: date, *, today: date) -> int:
    """Return the calendar days from `today` to `due`; negative once overdue."""
    return (due - today).days


def local_date(moment: datetime, time_zone: str) -> date:
    """Return the calendar date of an aware datetime in the controller's time zone."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(ZoneInfo(time_zone)).date()

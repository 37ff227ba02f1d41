"""Deadline rules: GDPR Art. 12(3) counted by Reg. 1182/71 Art. 3."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsr.deadlines import (
    days_left,
    days_suspended,
    due_date,
    extended_due_date,
    extension_allowed,
    is_working_day,
    local_date,
    months_add,
    next_working_day,
)

# (received, expected due date, why) — all in Denmark.
DANISH_CASES = [
    # EDPB 01/2022 ¶160: 5 March -> 5 April (2024: a Friday).
    (date(2024, 3, 5), date(2024, 4, 5), "EDPB example: same date next month"),
    # EDPB: 31 August -> 30 September when September has no 31st (2023: a Saturday -> Monday 2 Oct).
    (date(2023, 8, 31), date(2023, 10, 2), "no 31 September; 30th is a Saturday"),
    (date(2022, 8, 31), date(2022, 9, 30), "no 31 September; 30th is a Friday"),
    (date(2023, 1, 31), date(2023, 2, 28), "January 31 -> last day of February"),
    (date(2024, 1, 31), date(2024, 2, 29), "leap year: 29 February, a Thursday"),
    (date(2024, 1, 29), date(2024, 2, 29), "29th exists in a leap February"),
    (date(2023, 1, 29), date(2023, 2, 28), "no 29 February in 2023"),
    (date(2024, 4, 30), date(2024, 5, 30), "30 May 2024 is a Thursday"),
    (date(2024, 11, 30), date(2024, 12, 30), "30 December 2024 is a Monday"),
    (date(2024, 12, 15), date(2025, 1, 15), "over the year end"),
    # Weekends: 2024-06-08 is a Saturday -> Monday 10 June.
    (date(2024, 5, 8), date(2024, 6, 10), "ends on a Saturday -> Monday"),
    (date(2024, 5, 9), date(2024, 6, 10), "ends on a Sunday -> Monday"),
    # Danish public holidays (the holidays package's official calendar).
    (date(2024, 2, 29), date(2024, 4, 2), "29 March 2024 is Good Friday; Easter Monday 1 April -> Tuesday"),
    (date(2024, 3, 1), date(2024, 4, 2), "1 April 2024 is Easter Monday -> Tuesday 2 April"),
    (date(2025, 3, 17), date(2025, 4, 22), "17 April 2025 Maundy Thursday, Good Friday, weekend, Easter Monday"),
    (date(2024, 4, 9), date(2024, 5, 10), "9 May 2024 is Ascension Day -> Friday 10 May"),
    (date(2024, 4, 20), date(2024, 5, 21), "20 May 2024 is Whit Monday -> Tuesday"),
    (date(2024, 11, 25), date(2024, 12, 27), "25 and 26 December are holidays -> Friday 27th"),
    (date(2023, 12, 1), date(2024, 1, 2), "1 January is a holiday -> 2 January"),
    # Great Prayer Day was a holiday until 2023 and abolished from 2024.
    (date(2023, 4, 5), date(2023, 5, 8), "5 May 2023 Great Prayer Day (Friday) -> Monday 8 May"),
    (date(2024, 3, 26), date(2024, 4, 26), "26 April 2024: Great Prayer Day no longer a holiday"),
]


@pytest.mark.parametrize(("received", "expected", "why"), DANISH_CASES, ids=[c[2] for c in DANISH_CASES])
def test_due_date_in_denmark(received, expected, why):
    assert due_date(received, country="DK") == expected


def test_suspended_days_are_added_before_the_weekend_rule():
    # 5 March 2024 + 1 month = Friday 5 April; +1 stopped day = Saturday 6 April -> Monday 8 April.
    assert due_date(date(2024, 3, 5), suspended_days=1) == date(2024, 4, 8)
    # +3 days = Monday 8 April itself.
    assert due_date(date(2024, 3, 5), suspended_days=3) == date(2024, 4, 8)


def test_extension_is_three_months_from_receipt():
    assert extended_due_date(date(2024, 3, 5)) == date(2024, 6, 5)
    # 30 November 2024 + 3 months: no 30 February -> 28 February 2025 (a Friday).
    assert extended_due_date(date(2024, 11, 30)) == date(2025, 2, 28)
    # 31 March 2024 + 3 = 30 June 2024, a Sunday -> Monday 1 July.
    assert extended_due_date(date(2024, 3, 31)) == date(2024, 7, 1)


def test_extension_allowed_only_within_the_first_month():
    received = date(2024, 3, 5)
    assert extension_allowed(received, today=date(2024, 4, 5))
    assert not extension_allowed(received, today=date(2024, 4, 6))
    # Stopped days push the first month's end, and with it the last day to extend.
    assert extension_allowed(received, today=date(2024, 4, 8), suspended_days=3)


def test_other_countries_use_their_own_holidays():
    # 2024-05-01 (Labour Day) is a public holiday in Sweden but not in Denmark.
    assert due_date(date(2024, 4, 1), country="SE") == date(2024, 5, 2)
    assert due_date(date(2024, 4, 1), country="DK") == date(2024, 5, 1)


def test_days_suspended_counts_whole_days_and_open_periods_to_today():
    periods = [(date(2024, 3, 3), date(2024, 3, 5)), (date(2024, 3, 10), date(2024, 3, 10))]
    assert days_suspended(periods, today=date(2024, 4, 1)) == 2
    assert days_suspended([(date(2024, 3, 3), None)], today=date(2024, 3, 7)) == 4


def test_days_left_goes_negative_when_overdue():
    assert days_left(date(2024, 4, 5), today=date(2024, 4, 1)) == 4
    assert days_left(date(2024, 4, 5), today=date(2024, 4, 7)) == -2


def test_local_date_uses_the_controllers_time_zone():
    from datetime import UTC, datetime

    late_evening_utc = datetime(2024, 3, 4, 23, 30, tzinfo=UTC)  # 00:30 on 5 March in Copenhagen
    assert local_date(late_evening_utc, "Europe/Copenhagen") == date(2024, 3, 5)
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2024, 3, 4, 23, 30), "Europe/Copenhagen")


def test_negative_inputs_are_refused():
    with pytest.raises(ValueError, match="suspended_days"):
        due_date(date(2024, 3, 5), suspended_days=-1)
    with pytest.raises(ValueError, match="months"):
        months_add(date(2024, 3, 5), -1)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(received=days)
def test_due_date_is_a_working_day_after_receipt(received):
    due = due_date(received)
    assert due > received
    assert is_working_day(due, country="DK")


@given(received=days)
def test_due_date_is_at_most_a_week_after_the_month_mark(received):
    # The longest Danish run of non-working days is Easter: Thursday to Monday (5 days).
    mark = months_add(received, 1)
    assert mark <= due_date(received) <= mark + timedelta(days=6)


@given(received=days, extra=st.integers(min_value=0, max_value=60))
def test_more_suspended_days_never_make_the_deadline_earlier(received, extra):
    assert due_date(received, suspended_days=extra) >= due_date(received)
    assert due_date(received, suspended_days=extra + 1) >= due_date(received, suspended_days=extra)


@given(a=days, b=days)
def test_due_date_is_monotonic_in_the_day_of_receipt(a, b):
    if a <= b:
        assert due_date(a) <= due_date(b)


@given(received=days)
def test_month_mark_keeps_the_day_or_takes_the_months_last_day(received):
    mark = months_add(received, 1)
    assert (mark.year * 12 + mark.month) - (received.year * 12 + received.month) == 1
    assert mark.day == received.day or (mark.day < received.day and (mark + timedelta(days=1)).day == 1)


@given(received=days)
def test_extended_due_date_is_never_before_the_first(received):
    assert extended_due_date(received) > due_date(received)


@given(day=days)
def test_next_working_day_is_idempotent(day):
    first = next_working_day(day)
    assert next_working_day(first) == first

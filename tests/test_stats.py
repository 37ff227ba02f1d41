"""Statistics: figures checked against the database, months in the controller's time zone, the CSV and the chart."""

import statistics as pystats
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from dsr import stats, workflow
from dsr.audit import Actor
from dsr.models import Request
from dsr.views.staff.stats import month_chart

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
ACTOR = Actor.system()
# Completed by the privacy team, who say what they did (no data map here, so no source reported anything).
DONE = "Answered by letter from the privacy team."


def _filed(right: str, received: datetime, *, verified: bool = True) -> Request:
    details = {"scope": "direct_marketing"} if right == "objection" else None
    request = workflow.request_submit(
        details=details, right=right, email="p@example.dk", actor=ACTOR, channel="letter", received_at=received
    ).request
    if verified:
        request = workflow.request_identity_check(request=request, method="staff_check", actor=ACTOR)
    return request


@pytest.fixture
def year(db):
    """A year of requests: closed after known numbers of days, one refused, one late, one extended."""
    made = {}
    with time_machine.travel(datetime(2026, 1, 10, 9, 0, tzinfo=TZ), tick=False):
        made["jan_access"] = _filed("access", timezone.now())
        made["jan_erasure"] = _filed("erasure", timezone.now())
        made["jan_refused"] = _filed("access", timezone.now())
    with time_machine.travel(datetime(2026, 1, 15, 9, 0, tzinfo=TZ), tick=False):
        workflow.request_complete(request=made["jan_access"], actor=ACTOR, reasons=DONE)  # 5 days
        workflow.request_extend(request=made["jan_erasure"], reasons="Many systems.", actor=ACTOR)
    with time_machine.travel(datetime(2026, 1, 30, 9, 0, tzinfo=TZ), tick=False):
        workflow.request_refuse(request=made["jan_refused"], ground="excessive", reasons="Again.", actor=ACTOR)  # 20
    with time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=TZ), tick=False):
        workflow.request_complete(request=made["jan_erasure"], actor=ACTOR, reasons=DONE)  # 69 days, extended
    with time_machine.travel(datetime(2026, 2, 3, 9, 0, tzinfo=TZ), tick=False):
        made["feb_objection"] = _filed("objection", timezone.now(), verified=False)
        made["feb_access"] = _filed("access", timezone.now())
    with time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=TZ), tick=False):
        workflow.request_complete(request=made["feb_access"], actor=ACTOR, reasons=DONE)  # 45 days: late
    return made


def test_requests_per_month_by_right_match_the_database(year):
    table = stats.requests_per_month(start=date(2025, 12, 1), end=date(2026, 3, 31))
    assert list(table) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert table[date(2026, 1, 1)]["access"] == 2
    assert table[date(2026, 1, 1)]["erasure"] == 1
    assert table[date(2026, 2, 1)]["objection"] == 1
    assert sum(sum(row.values()) for row in table.values()) == Request.objects.count()


def test_a_request_late_in_the_evening_counts_in_the_controllers_month(db):
    # 23:30 on 31 January in Copenhagen is 22:30 UTC: still January for the controller.
    received = datetime(2026, 1, 31, 23, 30, tzinfo=TZ)
    with time_machine.travel(received + timedelta(minutes=5), tick=False):
        _filed("access", received)
    table = stats.requests_per_month(start=date(2026, 1, 1), end=date(2026, 2, 28))
    assert table[date(2026, 1, 1)]["access"] == 1
    assert table[date(2026, 2, 1)]["access"] == 0


def test_summary_figures_match_a_recount_from_the_rows(year):
    summary = stats.summary(start=date(2026, 1, 1), end=date(2026, 2, 28))
    answered = Request.objects.filter(status__in=stats.ANSWERED)
    days = [(timezone.localdate(r.closed_at) - timezone.localdate(r.received_at)).days for r in answered]
    assert sorted(days) == [5, 20, 45, 69]
    assert summary.received == 5
    assert summary.closed == 4
    assert summary.median_days_to_close == pystats.median(days) == 32.5
    assert summary.p90_days_to_close == pytest.approx(45 + (69 - 45) * 0.7)
    assert summary.extended == 1
    assert summary.closed_late == 1  # February's access, answered after 45 days
    assert summary.refused == 1
    assert summary.refusal_rate == pytest.approx(1 / 4)
    assert summary.verified == 4
    assert summary.verification_rate == pytest.approx(4 / 4)  # the pending one is not settled yet


def test_an_empty_period_has_no_rates_rather_than_zero_division(db):
    summary = stats.summary(start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert summary.received == 0
    assert summary.median_days_to_close is None
    assert summary.refusal_rate is None
    assert summary.verification_rate is None


def test_overdue_counts_only_running_clocks(db):
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=TZ), tick=False):
        late = _filed("access", timezone.now())
        waiting = _filed("access", timezone.now())
        workflow.request_suspend(request=waiting, reason="clarification", note="Which?", actor=ACTOR)
    assert stats.open_overdue_count(today=date(2026, 3, 1)) == 1
    workflow.request_complete(request=late, actor=ACTOR, reasons=DONE)
    assert stats.open_overdue_count(today=date(2026, 3, 1)) == 0


def test_month_helpers_cross_the_year():
    assert stats.month_start(date(2026, 2, 14), months_back=3) == date(2025, 11, 1)
    assert stats.months_between(date(2025, 11, 20), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_the_chart_stacks_one_bar_per_right_and_scales_to_the_busiest_month():
    table = {date(2026, 1, 1): {"access": 2, "erasure": 2}, date(2026, 2, 1): {"access": 1, "erasure": 0}}
    for row in table.values():
        for right in ("portability", "rectification", "restriction", "objection", "consent_withdrawal"):
            row[right] = 0
    chart = month_chart(table, width=440, height=230)
    assert len(chart.bars) == 3
    january = [bar for bar in chart.bars if bar.title.startswith("2026-01")]
    assert sum(bar.height for bar in january) == pytest.approx(230 - 30 - 10)
    february = [bar for bar in chart.bars if bar.title.startswith("2026-02")]
    assert february[0].height == pytest.approx((230 - 40) / 4)

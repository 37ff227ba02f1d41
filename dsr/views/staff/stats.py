"""Statistics with server-side SVG charts, their CSV, and the audit trail as CSV for auditors."""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dsr import deadlines, stats
from dsr.audit import Actor, audit_record
from dsr.models import AuditAction, AuditEvent, FeeGround, FeeStatus, Right
from dsr.roles import EXPORT_AUDIT
from dsr.views.staff.access import staff_view

PERIODS = (3, 6, 12, 24)
# One colour per right, in Right's order; readable on white and distinct for common colour blindness.
RIGHT_COLOURS = ("#1f5fbf", "#e69f00", "#b42318", "#009e73", "#6a3d9a", "#56b4e9", "#8c6d31")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class MonthChart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    ticks: list[tuple[float, int]]
    legend: list[tuple[str, str]]


def _period(request: HttpRequest) -> tuple[int, date, date]:
    try:
        months = int(request.GET.get("months", 12))
    except ValueError:
        months = 12
    if months not in PERIODS:
        months = 12
    today = deadlines.local_date(timezone.now(), settings.TIME_ZONE)
    return months, stats.month_start(today, months_back=months - 1), today


def month_chart(table: dict[date, dict[str, int]], *, width: int = 760, height: int = 260) -> MonthChart:
    """Lay out a stacked bar per month (one colour per right) in an SVG coordinate space."""
    left, bottom, top = 40, 30, 10
    plot_height = height - bottom - top
    months = list(table)
    peak = max((sum(row.values()) for row in table.values()), default=0) or 1
    step = (width - left) / max(len(months), 1)
    bar_width = step * 0.7
    colours = dict(zip(Right.values, RIGHT_COLOURS, strict=True))
    bars, labels = [], []
    for index, month in enumerate(months):
        x = left + index * step + (step - bar_width) / 2
        y = top + plot_height
        for right, label in Right.choices:
            count = table[month][right]
            if not count:
                continue
            bar_height = plot_height * count / peak
            y -= bar_height
            bars.append(Bar(x, y, bar_width, bar_height, colours[right], f"{month:%Y-%m} · {label}: {count}"))
        labels.append((x + bar_width / 2, f"{month:%m/%y}"))
    tick_values = list(range(peak + 1)) if peak <= 5 else sorted({0, peak // 2, peak})
    ticks = [(top + plot_height - plot_height * value / peak, value) for value in tick_values]
    return MonthChart(width, height, bars, labels, ticks, [(colours[v], label) for v, label in Right.choices])


@require_GET
@staff_view()
def statistics(request: HttpRequest) -> HttpResponse:
    """Show requests per month by right and the headline figures, with a chart drawn on the server."""
    months, start, end = _period(request)
    table = stats.requests_per_month(start=start, end=end)
    return render(
        request,
        "dsr/staff/statistics.html",
        {
            "months": months,
            "periods": PERIODS,
            "start": start,
            "end": end,
            "table": [
                (month, [row[right] for right in Right.values], sum(row.values())) for month, row in table.items()
            ],
            "rights": Right.choices,
            "chart": month_chart(table),
            "summary": stats.summary(start=start, end=end),
            "by_jurisdiction": stats.summary_by_jurisdiction(start=start, end=end),
            "overdue_now": stats.open_overdue_count(today=end),
            **_fee_context(stats.fee_counts(start=start, end=end)),
            "can_export_audit": request.user.has_perm(EXPORT_AUDIT),
        },
    )


def _fee_context(fees: stats.FeeCounts) -> dict:
    """Return the fee figures with their labels, for the statistics page (GDPR Art. 12(5)(a), 15(3))."""
    return {
        "fees": fees,
        "fee_grounds": [(label, fees.by_ground[value]) for value, label in FeeGround.choices],
        "fee_statuses": [(label, fees.by_status[value]) for value, label in FeeStatus.choices],
    }


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


@require_GET
@staff_view()
def statistics_csv(request: HttpRequest) -> HttpResponse:
    """Download the statistics of the chosen period as CSV."""
    _months, start, end = _period(request)
    table = stats.requests_per_month(start=start, end=end)
    summary = stats.summary(start=start, end=end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dsr-statistics-{start:%Y-%m}-{end:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(["month", *Right.values, "total"])
    for month, row in table.items():
        writer.writerow([f"{month:%Y-%m}", *(row[right] for right in Right.values), sum(row.values())])
    writer.writerow([])
    writer.writerow(["figure", "value"])
    for name, value in (
        ("period_start", start.isoformat()),
        ("period_end", end.isoformat()),
        ("received", summary.received),
        ("answered", summary.closed),
        ("median_days_to_close", "" if summary.median_days_to_close is None else summary.median_days_to_close),
        ("p90_days_to_close", "" if summary.p90_days_to_close is None else f"{summary.p90_days_to_close:.1f}"),
        ("closed_late", summary.closed_late),
        ("overdue_open_today", stats.open_overdue_count(today=end)),
        ("extended", summary.extended),
        ("verification_rate_percent", _percent(summary.verification_rate)),
        ("refused", summary.refused),
        ("refusal_rate_percent", _percent(summary.refusal_rate)),
        *_fee_rows(stats.fee_counts(start=start, end=end)),
        *_jurisdiction_rows(stats.summary_by_jurisdiction(start=start, end=end)),
    ):
        writer.writerow([name, value])
    return response


def _jurisdiction_rows(rows: list) -> list[tuple[str, object]]:
    figures: list[tuple[str, object]] = []
    for profile, summary in rows:
        figures += [
            (f"jurisdiction_{profile.code}_received", summary.received),
            (f"jurisdiction_{profile.code}_answered", summary.closed),
            (f"jurisdiction_{profile.code}_closed_late", summary.closed_late),
            (f"jurisdiction_{profile.code}_extended", summary.extended),
        ]
        if summary.receipts_owed is not None:
            # CCPA regs § 7021(a): confirmations of receipt owed, and those not sent in time.
            figures += [
                (f"jurisdiction_{profile.code}_receipts_owed", summary.receipts_owed),
                (f"jurisdiction_{profile.code}_receipts_late", summary.receipts_late),
            ]
    return figures


def _fee_rows(fees: stats.FeeCounts) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [("fees_asked", fees.asked)]
    rows += [(f"fees_ground_{ground}", n) for ground, n in fees.by_ground.items()]
    rows += [(f"fees_{status}", n) for status, n in fees.by_status.items()]
    rows += [(f"fees_received_{currency}", f"{total:.2f}") for currency, total in fees.received.items()]
    return rows


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_safe(value: str) -> str:
    # A spreadsheet would run a cell starting with these as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _audit_rows() -> Iterator[list[str]]:
    yield ["seq", "at", "actor_type", "actor_id", "action", "request", "data", "prev_hash", "hash"]
    last = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last).select_related("request").order_by("seq")[:2000])
        if not batch:
            return
        for event in batch:
            yield [
                str(event.seq),
                event.at.isoformat(),
                event.actor_type,
                _csv_safe(event.actor_id),
                event.action,
                event.request.reference if event.request_id else "",
                json.dumps(event.data, sort_keys=True, separators=(",", ":")),
                event.prev_hash,
                event.hash,
            ]
        last = batch[-1].seq


@require_GET
@staff_view(EXPORT_AUDIT, action="audit_export")
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the whole audit trail as CSV (ids and kinds only, as stored); the export is itself audited."""
    audit_record(actor=Actor.staff(request.user), action=AuditAction.AUDIT_EXPORTED)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in _audit_rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="dsr-audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response

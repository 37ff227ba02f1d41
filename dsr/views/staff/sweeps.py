"""Retention sweeps in the dashboard: the rules, their schedules, dry runs to approve, and the reports.

Only the privacy admin (the permission to change retention sweeps) sees and runs them: a dry run names rows
by their keys for checking. The report downloads as CSV and PDF.
"""

import csv
from io import StringIO

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dsr.datamap.schema import localised
from dsr.datamap.selectors import datamap_active
from dsr.models import RetentionSweep, SweepRuleSetting
from dsr.pdf import pdf_render
from dsr.sweeps import (
    SweepRefused,
    counts_totals,
    report_totals,
    sweep_approve,
    sweep_plan,
    sweep_rules,
    sweep_schedule_set,
)
from dsr.views.staff.access import staff_view

RUN_SWEEPS = "dsr.change_retentionsweep"


def _action_label(action: str | None) -> str:
    return {"delete": _("delete"), "anonymise": _("anonymise"), "keep": _("keep under a legal hold")}.get(
        action or "", action or ""
    )


def _not_swept_text(source: dict) -> str:
    if source["not_swept"] == "manual":
        return _("Not swept automatically: a person keeps this data. Ask %(owner)s to apply the period by hand.") % {
            "owner": source.get("owner") or _("the source's owner")
        }
    if source["not_swept"] == "processor":
        return _(
            "Not swept automatically: a processor or partner holds this data. Ask them to apply the period "
            "as their agreement with you says, and erase people there by request meanwhile."
        )
    return _(
        "Not swept automatically: no table of this source names the column that dates this rule's event. "
        "Add the column under the table's events in the data map (docs/retention.md)."
    )


def report_rows(report: dict, counts: dict, language: str) -> list[dict]:
    """Return the report as rows: one per source and table, with the dry run's counts and what was done."""
    rows = []
    for source in report.get("sources", []):
        if "not_swept" in source:
            rows.append(
                {
                    "source": source["source"],
                    "root": "",
                    "table": "",
                    "action": _("not swept"),
                    "note": _not_swept_text(source),
                    "instructions": localised(source.get("instructions") or {}, language),
                }
            )
            continue
        done = (counts.get(source["source"]) or {}).get("tables", {})
        for target in source["targets"]:
            for table in target["tables"]:
                did = done.get(table["table"], {})
                rows.append(
                    {
                        "source": source["source"],
                        "root": target["root"],
                        "people": target["people"],
                        "table": table["table"],
                        "action": _action_label(table["action"]),
                        "rows": table["rows"],
                        "ended": table["ended"],
                        "running": table["running"],
                        "running_until": table.get("running_until") or "",
                        "hold": table.get("hold") or "",
                        "deleted": did.get("deleted", ""),
                        "anonymised": did.get("anonymised", ""),
                        "kept": did.get("kept", ""),
                        "hold_until": did.get("hold_until", ""),
                        "shared": did.get("shared", ""),
                        "note": "",
                        "instructions": "",
                    }
                )
    return rows


def _sweep_context(sweep: RetentionSweep) -> dict:
    language = get_language() or "da"
    return {
        "sweep": sweep,
        "rows": report_rows(sweep.report, sweep.counts, language),
        "targets": [
            (source["source"], target)
            for source in sweep.report.get("sources", [])
            for target in source.get("targets", [])
        ],
        "totals": report_totals(sweep.report),
        "done": counts_totals(sweep.counts) if sweep.counts else None,
        "batches": sweep.batches.count(),
        "resumed": sweep.batches.filter(resumed=True).count(),
    }


@require_GET
@staff_view(RUN_SWEEPS)
def sweeps_list(request: HttpRequest) -> HttpResponse:
    datamap = datamap_active()
    rules = sweep_rules(datamap) if datamap is not None else {}
    enabled = set(SweepRuleSetting.objects.filter(enabled=True).values_list("rule", flat=True))
    language = get_language() or "da"
    entries = []
    for key, rule in rules.items():
        section = datamap.purposes if rule.kind == "purpose" else datamap.legal_holds
        entries.append(
            {
                "key": key,
                "name": localised(section[rule.key]["name"], language),
                "kind": rule.kind,
                "enabled": key in enabled,
                "latest": RetentionSweep.objects.filter(rule=key).first(),
            }
        )
    sweeps = RetentionSweep.objects.all()[:50]
    return render(request, "dsr/staff/sweeps.html", {"rules": entries, "sweeps": sweeps, "has_map": bool(rules)})


@require_POST
@staff_view(RUN_SWEEPS, action="sweep_plan")
def sweep_plan_view(request: HttpRequest) -> HttpResponse:
    try:
        sweep = sweep_plan(request.POST.get("rule", ""), user=request.user)
    except SweepRefused as exc:
        messages.error(request, _("No dry run made: %(reason)s") % {"reason": exc})
        return redirect("staff_sweeps")
    return redirect("staff_sweep", pk=sweep.pk)


@require_POST
@staff_view(RUN_SWEEPS, action="sweep_schedule")
def sweep_schedule_view(request: HttpRequest) -> HttpResponse:
    enabled = request.POST.get("enabled") == "on"
    try:
        sweep_schedule_set(request.POST.get("rule", ""), enabled=enabled, user=request.user)
    except SweepRefused as exc:
        messages.error(request, _("The schedule was not changed: %(reason)s") % {"reason": exc})
    else:
        messages.success(request, _("The schedule was turned on.") if enabled else _("The schedule was turned off."))
    return redirect("staff_sweeps")


@require_GET
@staff_view(RUN_SWEEPS)
def sweep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = get_object_or_404(RetentionSweep, pk=pk)
    return render(request, "dsr/staff/sweep.html", _sweep_context(sweep))


@require_POST
@staff_view(RUN_SWEEPS, action="sweep_approve")
def sweep_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = get_object_or_404(RetentionSweep, pk=pk)
    try:
        sweep_approve(sweep, user=request.user)
    except SweepRefused as exc:
        messages.error(request, _("Not approved: %(reason)s") % {"reason": exc})
    else:
        messages.success(request, _("Approved: a worker runs the sweep now. This page shows its progress."))
    return redirect("staff_sweep", pk=pk)


CSV_COLUMNS = (
    ("source", "source"),
    ("root", "root table"),
    ("people", "people"),
    ("table", "table"),
    ("action", "action"),
    ("rows", "rows found"),
    ("ended", "hold ended"),
    ("running", "hold running"),
    ("running_until", "running holds end by"),
    ("deleted", "deleted"),
    ("anonymised", "anonymised"),
    ("kept", "kept"),
    ("hold_until", "kept until"),
    ("shared", "shared, left alone"),
    ("note", "note"),
)


@require_GET
@staff_view(RUN_SWEEPS)
def sweep_report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = get_object_or_404(RetentionSweep, pk=pk)
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sweep", "rule", "as of", "status", *(title for _, title in CSV_COLUMNS)])
    for row in report_rows(sweep.report, sweep.counts, get_language() or "da"):
        writer.writerow(
            [sweep.pk, sweep.rule, sweep.as_of.isoformat(), sweep.status, *(row.get(k, "") for k, _ in CSV_COLUMNS)]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="retention-sweep-{sweep.pk}.csv"'
    return response


@require_GET
@staff_view(RUN_SWEEPS)
def sweep_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    sweep = get_object_or_404(RetentionSweep, pk=pk)
    html = render_to_string("dsr/staff/sweep_report.html", _sweep_context(sweep), request=request)
    response = HttpResponse(pdf_render(html), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="retention-sweep-{sweep.pk}.pdf"'
    return response

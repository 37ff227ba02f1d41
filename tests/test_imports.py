"""Requests handled before dsr, imported from a spreadsheet: stored closed as they ended, and said to be imported."""

import csv
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from dsr import deadlines, stats, workflow
from dsr.audit import Actor
from dsr.demo.history import demo_history_import, demo_history_rows
from dsr.models import AuditEvent, Job, Message, Request, Status, WebhookDelivery
from dsr.workflow.retention import requests_purge_closed

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
TODAY = datetime(2026, 6, 15, 12, 0, tzinfo=TZ)


def _row(**changes) -> dict[str, str]:
    row = {
        "right": "access",
        "email": "gammel@example.dk",
        "received": "2026-02-02",
        "closed": "2026-02-20",
        "outcome": "completed",
    }
    return {**row, **changes}


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(TODAY, tick=False):
        yield


def test_each_row_becomes_a_closed_imported_request_with_its_own_dates_and_nothing_sent():
    rows = [
        _row(),
        _row(
            right="erasure",
            email="b@example.dk",
            outcome="refused",
            refusal_ground="excessive",
            reasons="Samme anmodning to gange på en uge.",
            channel="letter",
            language="en",
            their_reference="2026-017",
        ),
        _row(right="portability", received="2026-01-30", closed="2026-04-20", extended_until="2026-04-30"),
    ]
    result = workflow.requests_import(rows, actor=Actor.system())

    assert result.created == 3
    assert result.by_right == {"access": 1, "erasure": 1, "portability": 1}
    assert (result.first_received, result.last_received) == (date(2026, 1, 30), date(2026, 2, 2))
    access, refused, extended = Request.objects.order_by("pk")
    assert access.status == Status.COMPLETED
    assert access.imported_at == TODAY
    assert timezone.localtime(access.received_at).date() == date(2026, 2, 2)
    assert timezone.localtime(access.closed_at).date() == date(2026, 2, 20)
    assert access.due_date == deadlines.due_date(date(2026, 2, 2), country="DK")
    assert refused.status == Status.REFUSED
    assert refused.refusal_ground == "excessive"
    assert refused.outcome_reasons == "Samme anmodning to gange på en uge."
    assert (refused.channel, refused.language) == ("letter", "en")
    assert refused.details == {"their_reference": "2026-017"}
    assert extended.extended_due_date == date(2026, 4, 30)
    # One audit event each, with no personal data; no emails, webhooks or work.
    events = AuditEvent.objects.filter(action="request.imported")
    assert events.count() == 3
    assert all("@" not in str(event.data) for event in events)
    assert not mail.outbox
    assert not Message.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not Job.objects.exists()


def test_one_bad_row_stores_nothing_and_every_problem_names_its_row_and_column():
    rows = [
        _row(),
        _row(right="forgetting", email="not-an-address"),
        _row(received="2026-03-01", closed="2026-02-01"),
        _row(outcome="refused"),
        _row(outcome="completed", refusal_ground="excessive"),
        _row(received="02/02/2026", closed="2026-07-01"),
        _row(outcome="expired"),
        _row(email=""),
    ]
    with pytest.raises(workflow.ImportInvalid) as caught:
        workflow.requests_import(rows, actor=Actor.system())
    problems = {(row, column) for row, column, _message in caught.value.problems}
    assert problems == {
        (3, "right"),
        (3, "email"),
        (4, "closed"),
        (5, "refusal_ground"),
        (6, "refusal_ground"),
        (7, "received"),
        (7, "closed"),
        (8, "outcome"),
        (9, "email"),
    }
    messages = " ".join(message for _row, _column, message in caught.value.problems)
    assert "forgetting" not in messages
    assert "not-an-address" not in messages
    assert not Request.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_dry_run_says_what_would_be_imported_and_stores_nothing():
    result = workflow.requests_import([_row(), _row(right="erasure")], actor=Actor.system(), dry_run=True)
    assert result.created == 2
    assert not Request.objects.exists()


def test_nothing_to_import_is_an_error():
    with translation.override("en"), pytest.raises(workflow.ImportInvalid, match="no rows"):
        workflow.requests_import([], actor=Actor.system())


def _write(path, rows, *, delimiter=",", heading=None, bom=False):
    heading = heading or list(rows[0])
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=heading, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_command_reads_a_danish_semicolon_csv_with_a_bom(tmp_path, capsys):
    path = _write(
        tmp_path / "gamle.csv", [_row(), _row(right="erasure", email="x@example.dk")], delimiter=";", bom=True
    )
    call_command("dsr_import_requests", str(path))
    assert "Imported 2 request(s) received 2026-02-02 to 2026-02-02: access 1, erasure 1; completed 2" in (
        capsys.readouterr().out
    )
    assert Request.objects.filter(imported_at__isnull=False).count() == 2


def test_the_command_dry_run_and_its_errors(tmp_path, capsys):
    good = _write(tmp_path / "good.csv", [_row()])
    call_command("dsr_import_requests", str(good), "--dry-run")
    assert "Would import 1 request(s)" in capsys.readouterr().out
    assert not Request.objects.exists()

    bad = _write(tmp_path / "bad.csv", [_row(), _row(closed="2026-01-01")])
    with pytest.raises(CommandError, match="1 problem"):
        call_command("dsr_import_requests", str(bad))
    # Commands speak the deployment's language (LANGUAGE_CODE, Danish here).
    assert "row 3, closed: Svardagen ligger før modtagelsesdagen." in capsys.readouterr().err
    assert not Request.objects.exists()

    odd = _write(tmp_path / "odd.csv", [{"right": "access", "mail": "a@example.dk"}])
    with pytest.raises(CommandError, match=r"missing column\(s\): email, received, closed, outcome; unknown .*mail"):
        call_command("dsr_import_requests", str(odd))
    with pytest.raises(CommandError, match="no such file"):
        call_command("dsr_import_requests", str(tmp_path / "absent.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "right,email,received,closed,outcome\naccess,s\xf8ren@example.dk,2026-02-02,2026-02-03,completed\n".encode(
            "latin-1"
        )
    )
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("dsr_import_requests", str(latin))
    assert not Request.objects.exists()


def test_statistics_count_imported_requests_but_not_in_the_verification_rate():
    workflow.requests_import([_row(), _row(closed="2026-03-10")], actor=Actor.system())
    summary = stats.summary(start=date(2026, 1, 1), end=date(2026, 6, 30))
    assert (summary.received, summary.closed, summary.closed_late) == (2, 2, 1)
    assert summary.verification_rate is None
    assert stats.requests_per_month(start=date(2026, 2, 1), end=date(2026, 2, 28))[date(2026, 2, 1)]["access"] == 2


def test_imported_requests_are_purged_after_the_retention_period_like_any_other(settings):
    settings.DSR_RECORD_RETENTION_DAYS = 30
    workflow.requests_import([_row(), _row(received="2026-06-01", closed="2026-06-02")], actor=Actor.system())
    assert requests_purge_closed() == 1
    old, recent = Request.objects.order_by("received_at")
    assert old.purged_at is not None
    assert old.email == ""
    assert recent.purged_at is None


def test_the_demo_history_covers_twelve_months_and_is_imported_once():
    rows = demo_history_rows(today=TODAY.date())
    months = {row["received"][:7] for row in rows}
    assert len(months) >= 12
    assert max(row["received"] for row in rows) < (TODAY.date() - timedelta(days=40)).isoformat()
    assert {row["outcome"] for row in rows} >= {"completed", "refused", "cancelled"}
    created = demo_history_import()
    assert created == len(rows)
    assert demo_history_import() == 0


def test_a_row_may_name_the_law_it_was_answered_under():
    workflow.requests_import([_row(jurisdiction="us-ca"), _row()], actor=Actor.system())
    californian, danish = Request.objects.order_by("pk")
    assert californian.jurisdiction == "us-ca"
    # CCPA: 45 calendar days counting the day of receipt; GDPR: one month.
    assert californian.due_date == date(2026, 3, 18)
    assert (danish.jurisdiction, danish.due_date) == ("dk", date(2026, 3, 2))
    with pytest.raises(workflow.ImportInvalid) as caught:
        workflow.requests_import([_row(jurisdiction="mars")], actor=Actor.system())
    assert [(row, column) for row, column, _message in caught.value.problems] == [(2, "jurisdiction")]

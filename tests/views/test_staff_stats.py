"""The statistics page, its CSV, and the audit trail export for auditors."""

import csv
import io
from datetime import datetime

import pytest
import time_machine

from tests.test_stats import TZ, year  # noqa: F401  (the fixture, used by name)

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("year")
def test_the_statistics_page_and_its_csv_agree(agent_client, auditor_client):
    with time_machine.travel(datetime(2026, 3, 25, 9, 0, tzinfo=TZ), tick=False):
        page = auditor_client.get("/dashboard/statistics/", {"months": 6})
        download = auditor_client.get("/dashboard/statistics.csv", {"months": 6})
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    assert page.context["summary"].received == 5
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0][:3] == ["month", "access", "portability"]
    january = next(row for row in rows if row and row[0] == "2026-01")
    assert january[1] == "2"
    assert january[-1] == "3"
    figures = {row[0]: row[1] for row in rows if len(row) == 2}
    assert figures["received"] == "5"
    assert figures["median_days_to_close"] == "32.5"
    assert figures["refusal_rate_percent"] == "25.0"


@pytest.mark.usefixtures("year")
def test_only_auditors_and_admins_export_the_audit_trail(agent_client, auditor_client, auditor):
    assert agent_client.get("/dashboard/audit.csv").status_code == 403
    response = auditor_client.get("/dashboard/audit.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["seq", "at", "actor_type", "actor_id", "action", "request", "data", "prev_hash", "hash"]
    assert [int(row[0]) for row in rows[1:]] == sorted(int(row[0]) for row in rows[1:])
    assert rows[-1][4] == "audit.exported"
    assert rows[-1][3] == str(auditor.pk)
    assert not any("p@example.dk" in cell for row in rows for cell in row)  # ids and kinds only

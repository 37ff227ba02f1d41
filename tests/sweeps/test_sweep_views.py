"""The retention sweeps' dashboard pages: the privacy admin makes a dry run, approves it, downloads the report."""

import pytest

from dsr.models import AuditAction, AuditEvent, RetentionSweep, SweepRuleSetting
from dsr.sweeps import sweep_run
from tests.views.conftest import agent, privacy_admin, roles, verified_client  # noqa: F401  (the fixtures, reused)


@pytest.fixture
def admin_client(privacy_admin):
    return verified_client(privacy_admin)


def test_the_admin_makes_a_dry_run_approves_it_and_downloads_the_report(demo, admin_client):
    page = admin_client.get("/dashboard/sweeps/")
    assert page.status_code == 200
    assert b"purpose:newsletter" in page.content
    made = admin_client.post("/dashboard/sweeps/plan/", {"rule": "purpose:newsletter"})
    sweep = RetentionSweep.objects.get()
    assert made.url == f"/dashboard/sweeps/{sweep.pk}/"
    detail = admin_client.get(made.url)
    assert b"newsletter_subscription" in detail.content
    assert b"Approve and run this sweep" in detail.content
    approved = admin_client.post(f"/dashboard/sweeps/{sweep.pk}/approve/", follow=True)
    assert b"Approved: a worker runs the sweep now" in approved.content
    sweep.refresh_from_db()
    assert sweep.status == "approved"
    assert sweep.approved_by.username == "lead"
    sweep_run(sweep.pk)
    people = sweep.report["sources"][0]["targets"][0]["people"]
    done = admin_client.get(f"/dashboard/sweeps/{sweep.pk}/")
    assert b"What the sources reported" in done.content
    csv = admin_client.get(f"/dashboard/sweeps/{sweep.pk}/report.csv").content.decode()
    header, row = csv.splitlines()[:2]
    assert header.startswith("sweep,rule,as of,status,source,root table,people,table,action")
    assert row.split(",")[:9] == [
        str(sweep.pk),
        "purpose:newsletter",
        sweep.as_of.isoformat(),
        "done",
        "shop",
        "newsletter_subscription",
        str(people),
        "newsletter_subscription",
        "delete",
    ]
    pdf = admin_client.get(f"/dashboard/sweeps/{sweep.pk}/report.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_a_dry_run_of_a_rule_the_map_lacks_says_why(demo, admin_client):
    answer = admin_client.post("/dashboard/sweeps/plan/", {"rule": "purpose:nothing"}, follow=True)
    assert b"No dry run made" in answer.content
    assert not RetentionSweep.objects.exists()


def test_approving_twice_says_it_was_approved_already(demo, admin_client):
    admin_client.post("/dashboard/sweeps/plan/", {"rule": "purpose:newsletter"})
    sweep = RetentionSweep.objects.get()
    admin_client.post(f"/dashboard/sweeps/{sweep.pk}/approve/")
    again = admin_client.post(f"/dashboard/sweeps/{sweep.pk}/approve/", follow=True)
    assert b"Not approved" in again.content
    assert AuditEvent.objects.filter(action=AuditAction.SWEEP_APPROVED).count() == 1


def test_the_admin_turns_a_rule_on_and_off(demo, admin_client):
    admin_client.post("/dashboard/sweeps/schedule/", {"rule": "purpose:newsletter", "enabled": "on"})
    assert SweepRuleSetting.objects.get(rule="purpose:newsletter").enabled
    admin_client.post("/dashboard/sweeps/schedule/", {"rule": "purpose:newsletter"})
    assert not SweepRuleSetting.objects.get(rule="purpose:newsletter").enabled
    assert AuditEvent.objects.filter(action=AuditAction.SWEEP_SCHEDULE_CHANGED).count() == 2


def test_an_agent_may_neither_see_nor_run_sweeps(demo, agent):
    client = verified_client(agent)
    assert client.get("/dashboard/sweeps/").status_code == 403
    assert client.post("/dashboard/sweeps/plan/", {"rule": "purpose:newsletter"}).status_code == 403
    assert not RetentionSweep.objects.exists()

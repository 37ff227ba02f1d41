"""A privacy agent's day in Chromium against a live server, and an auditor who can only look.

The agent logs in with a TOTP code computed from the device's key, approves an
erasure's dry run from the queue, attests the manual task it leads to, and sees
the request complete; extends a second request with reasons; refuses a third. The
auditor enrols a device on first login and finds every action closed. The work in
the sources runs inline (Celery eager); the periodic reconciler is called where
the beat would call it. Screenshots land in test-artifacts/.
"""

from datetime import timedelta

import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from dsr import workflow
from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import AuditEvent, Request, Status
from dsr.roles import AUDITOR, PRIVACY_AGENT, roles_sync, user_role_set
from tests.sources.maps import BASE_MAP, CHAT_SOURCE

PASSWORD = "a-long-staff-password-1"


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def staff_page(browser) -> Page:
    """A page in an English-speaking browser: the privacy team's working language here."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def team(transactional_db, django_user_model) -> dict:
    roles_sync()
    members = {}
    for name, role in (("agent", PRIVACY_AGENT), ("auditor", AUDITOR)):
        user = django_user_model.objects.create_user(name, f"{name}@example.org", password=PASSWORD)
        user_role_set(user=user, role=role)
        members[name] = user
    TOTPDevice.objects.create(user=members["agent"], name="phone", confirmed=True)
    return members


@pytest.fixture
def requests_to_work(team) -> dict:
    """Three requests entered from letters: an erasure (its dry run waits for approval), two access requests."""
    text = yaml.safe_dump({**BASE_MAP, "sources": {"chats": CHAT_SOURCE}}, allow_unicode=True, sort_keys=False)
    datamap_load(text=text, loaded_by="tests")
    actor = Actor.staff(team["agent"])
    made = {}
    for key, right, days in (("erasure", "erasure", 20), ("extend", "access", 6), ("refuse", "access", 3)):
        request = workflow.request_submit(
            right=right,
            email=f"{key}@example.dk",
            name=f"{key.title()} Person",
            language="en",
            actor=actor,
            channel="letter",
            received_at=timezone.now() - timedelta(days=days),
        ).request
        made[key] = workflow.request_identity_check(request=request, method="staff_check", actor=actor)
    made["erasure"].refresh_from_db()
    assert made["erasure"].status == Status.AWAITING_APPROVAL
    return made


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(live_server.url + "/dashboard/")
    expect(page.get_by_role("heading", name="Privacy team login")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_an_agent_approves_an_erasure_extends_one_request_and_refuses_another(
    staff_page: Page, live_server, team, requests_to_work, screenshot
):
    page = staff_page
    erasure, to_extend, to_refuse = (requests_to_work[k] for k in ("erasure", "extend", "refuse"))
    _log_in(page, live_server, "agent")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    screenshot(page, "two-factor")
    page.get_by_label("Code").fill(_code(team["agent"].totpdevice_set.get()))
    page.get_by_role("button", name="Log in").click()

    # The queue: most urgent first; the erasure waits for us.
    expect(page.get_by_role("heading", name="Requests by deadline")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-reference", erasure.reference)
    screenshot(page, "queue")
    page.get_by_label("Needs attention (approval, decision, failed job)").check()
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    page.get_by_role("link", name=erasure.reference).click()

    # The dry run, then approval.
    expect(page.get_by_test_id("dry-run")).to_contain_text("chats")
    screenshot(page, "erasure-dry-run")
    page.locator('form[data-action="approve"]').get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved; the work in the sources has started.")
    task = page.locator("article.task")
    expect(task).to_contain_text("Delete the conversations")
    task.get_by_label("Done: the person's data was there and was handled as asked").check()
    task.get_by_label("What was done").fill("Deleted 4 chat transcripts in PureCloud on the customer's profile.")
    task.get_by_role("button", name="Mark done").click()
    expect(page.get_by_role("status")).to_contain_text("Task marked done.")

    # The beat's reconciler finds the attested task and the plan finishes.
    jobs_reconcile(now=timezone.now() + timedelta(seconds=settings.DSR_JOB_POLL_SECONDS + 1))
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("Completed")
    expect(page.get_by_test_id("timeline")).to_contain_text("Plan approved")
    screenshot(page, "erasure-completed")

    # An extension with reasons.
    page.get_by_role("link", name="← Queue").click()
    page.get_by_role("link", name=to_extend.reference).click()
    page.get_by_text("Extend by two months").click()
    page.get_by_label("Reasons for the extension (sent to the requester)").fill(
        "Your data sits in eleven years of orders across three systems; we need more time to collect it."
    )
    page.locator('form[data-action="extend"]').get_by_role("button", name="Extend").click()
    expect(page.get_by_role("status")).to_contain_text("Extended to")
    expect(page.get_by_test_id("deadline")).to_contain_text("Extended to")
    screenshot(page, "extended")

    # A refusal, starting from the ground's template text.
    page.get_by_role("link", name="← Queue").click()
    page.get_by_role("link", name=to_refuse.reference).click()
    page.locator("summary", has_text="Refuse").click()
    page.get_by_label("Excessive, in particular repetitive (Art. 12(5))").check()
    reasons = page.get_by_label("Reasons (sent to the requester)")
    expect(reasons).to_have_value(
        "We refuse your request because it is excessive, in particular because of its repetitive character "
        "(GDPR Art. 12(5)): "
    )
    reasons.press("End")
    reasons.type("this is the fourth identical request this month.")
    screenshot(page, "refusal-form")
    page.locator('form[data-action="refuse"]').get_by_role("button", name="Refuse").click()
    expect(page.get_by_test_id("status")).to_have_text("Refused")
    screenshot(page, "refused")

    states = {r.reference: r for r in Request.objects.all()}
    assert states[erasure.reference].status == Status.COMPLETED
    assert states[to_extend.reference].extended_due_date is not None
    assert states[to_refuse.reference].status == Status.REFUSED
    assert states[to_refuse.reference].outcome_reasons.endswith("fourth identical request this month.")


def test_an_auditor_enrols_a_device_sees_everything_and_can_act_on_nothing(
    staff_page: Page, live_server, team, requests_to_work, screenshot
):
    page = staff_page
    target = requests_to_work["refuse"]
    _log_in(page, live_server, "auditor")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
    screenshot(page, "enrol")
    device = TOTPDevice.objects.get(user=team["auditor"])
    page.get_by_label("Code").fill(_code(device))
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Requests by deadline")).to_be_visible()
    expect(page.locator('input[name="ids"]')).to_have_count(0)
    expect(page.get_by_role("link", name="Audit trail (CSV)")).to_be_visible()
    page.get_by_role("link", name=target.reference).click()
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.locator("form.action")).to_have_count(0)
    screenshot(page, "auditor-request")

    # A forged post with a valid CSRF token is still refused, and recorded.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{live_server.url}/dashboard/requests/{target.pk}/refuse/",
        form={"refuse-seen": "x", "refuse-ground": "other", "refuse-reasons": "no"},
        headers={"X-CSRFToken": token, "Referer": live_server.url + "/dashboard/"},
    )
    assert response.status == 403
    assert Request.objects.get(pk=target.pk).status == Status.IN_PROGRESS
    assert AuditEvent.objects.filter(action="staff.denied", request=target).exists()

    page.get_by_role("link", name="Statistics").click()
    expect(page.get_by_test_id("chart")).to_be_visible()
    screenshot(page, "statistics")

"""dsr.portal: what the status page says about a request at each point of its life."""

import pytest
from django.utils import translation

from dsr import portal, workflow
from dsr.audit import Actor
from dsr.models import Job, JobStatus, Operation, Plan, PlanStage, Request, Status

STAFF = Actor(type="staff", id="1")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def pending(db) -> Request:
    return workflow.request_submit(right="erasure", email="Ida@Example.com", actor=Actor.subject()).request


@pytest.fixture
def in_progress(pending) -> Request:
    return workflow.request_verify(request=pending, method="email_code", actor=Actor.subject())


def _states(view) -> list[tuple[str, str]]:
    return [(step.title, step.state) for step in view.steps]


def test_pending_request_asks_the_requester_to_confirm_and_says_the_clock_is_paused(pending):
    view = portal.status_view(pending)
    assert _states(view)[:2] == [("We received your request", "done"), ("Confirm your email address", "waiting")]
    assert "time limit is paused" in view.progress
    assert view.is_open


def test_request_in_progress_shows_the_work_for_its_right_and_the_due_date(in_progress):
    view = portal.status_view(in_progress)
    assert _states(view) == [
        ("We received your request", "done"),
        ("Email address confirmed", "done"),
        ("We work on your request", "current"),
        ("You receive our answer", "upcoming"),
    ]
    assert view.steps[-1].on == view.deadline.effective_due
    assert "will answer by" in view.progress
    assert "what can be erased" in view.steps[2].detail


def test_suspended_request_says_what_we_wait_for(in_progress):
    request = workflow.request_suspend(request=in_progress, reason="clarification", note="Which shop?", actor=STAFF)
    view = portal.status_view(request)
    waiting = [step for step in view.steps if step.state == "waiting"]
    assert [step.title for step in waiting] == ["We need more from you"]
    assert waiting[0].detail == "We are waiting for you to clarify your request."
    assert view.deadline.clock_stopped
    assert "paused" in view.progress


def test_identity_step_up_is_shown_until_checked(in_progress):
    request = workflow.request_suspend(request=in_progress, reason="identity", note="Customer number", actor=STAFF)
    titles = [step.title for step in portal.status_view(request).steps]
    assert "Confirm your identity" in titles


def test_completed_request_is_closed_with_its_outcome(in_progress):
    request = workflow.request_complete(request=in_progress, reasons="All erased.", actor=STAFF)
    view = portal.status_view(request)
    assert not view.is_open
    assert view.steps[-1].title == "Completed"
    assert view.steps[-1].state == "done"
    assert view.progress == "Your request is complete. We have emailed you the answer."


def test_refused_request_points_to_the_email_with_reasons(in_progress):
    request = workflow.request_refuse(request=in_progress, ground="excessive", reasons="Repeated.", actor=STAFF)
    view = portal.status_view(request)
    assert view.steps[-1].title == "Refused"
    assert "reasons and your options" in view.progress


def test_expired_request_invites_a_new_one(pending):
    request = workflow.request_expire(request=pending, actor=Actor.system())
    view = portal.status_view(request)
    assert request.status == Status.EXPIRED
    assert ("Email address not confirmed", "done") in _states(view)
    assert "send a new one" in view.progress


def test_no_download_is_offered_while_no_export_exists(in_progress):
    # Export bundles arrive with the export feature; until then the page must not pretend.
    assert portal.request_download(in_progress) is None
    assert portal.status_view(in_progress).download is None


def test_steps_and_progress_are_translated_to_danish(in_progress):
    with translation.override("da"):
        view = portal.status_view(in_progress)
    assert view.steps[0].title == "Vi har modtaget din anmodning"
    assert view.progress.startswith("Vi behandler din anmodning og svarer senest")
    assert view.steps[2].detail.startswith("Vi finder ud af, hvad der kan slettes")


def test_request_by_reference_and_email_matches_only_both(pending):
    assert portal.request_by_reference_and_email(pending.reference.lower(), " ida@example.COM ") == pending
    assert portal.request_by_reference_and_email(pending.reference, "someone@example.com") is None
    assert portal.request_by_reference_and_email("DSR-NOPE", "ida@example.com") is None
    assert portal.request_by_reference("x" * 500) is None


def test_work_in_progress_counts_the_systems_done_in_plain_words(in_progress):
    Plan.objects.update_or_create(request=in_progress, defaults={"stage": PlanStage.RUNNING})
    Job.objects.create(request=in_progress, source_key="shop", operation=Operation.RESOLVE, status=JobStatus.DONE)
    for source, status in (("shop", JobStatus.DONE), ("mail", JobStatus.DONE), ("crm", JobStatus.RUNNING)):
        Job.objects.create(request=in_progress, source_key=source, operation=Operation.ERASURE, status=status)
    work = portal.status_view(in_progress).steps[2]
    assert work.state == "current"
    assert work.detail.endswith("We are carrying out your request in our systems. 2 of 3 systems are done.")


def test_a_job_needing_attention_is_told_without_internal_detail(in_progress):
    Plan.objects.update_or_create(request=in_progress, defaults={"stage": PlanStage.NEEDS_ATTENTION})
    Job.objects.create(
        request=in_progress,
        source_key="crm",
        operation=Operation.ERASURE,
        status=JobStatus.FAILED,
        last_error="connection refused by crm.internal:5432",
    )
    detail = portal.status_view(in_progress).steps[2].detail
    assert "handling part of your request by hand" in detail
    assert "crm" not in detail


def test_no_work_progress_before_a_plan_exists(in_progress):
    assert portal.request_work_progress(in_progress) == ""


@pytest.mark.parametrize("internal", [Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION])
def test_internal_states_read_as_in_progress_to_the_requester(in_progress, internal):
    Request.objects.filter(pk=in_progress.pk).update(status=internal)
    view = portal.status_view(Request.objects.get(pk=in_progress.pk))
    assert view.public_status == "In progress"
    assert "will answer by" in view.progress
    assert view.steps[-2].state == "current"

"""The work in the sources on a request's page: the erasure dry run, approval, manual tasks, failed jobs and retry."""

import pytest
import yaml

from dsr import workflow
from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.models import AuditEvent, Job, JobStatus, ManualTask, Operation, Plan, PlanStage, Request, Status
from dsr.rights.base import request_plan_approve
from dsr.views.staff import queue
from tests.sources.maps import BASE_MAP, CHAT_SOURCE

pytestmark = pytest.mark.django_db


@pytest.fixture
def chats_map(db):
    text = yaml.safe_dump({**BASE_MAP, "sources": {"chats": CHAT_SOURCE}}, allow_unicode=True, sort_keys=False)
    return datamap_load(text=text, loaded_by="test")


@pytest.fixture
def erasure(chats_map, agent, django_capture_on_commit_callbacks) -> Request:
    """An erasure whose dry run waits for approval (the engine ran inline)."""
    actor = Actor.staff(agent)
    with django_capture_on_commit_callbacks(execute=True):
        request = workflow.request_submit(right="erasure", email="ida@example.dk", actor=actor, channel="email").request
    with django_capture_on_commit_callbacks(execute=True):
        workflow.request_identity_check(request=request, method="staff_check", actor=actor)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL, list(request.jobs.values("operation", "status", "last_error"))
    return request


def _seen(request: Request) -> str:
    request.refresh_from_db()
    return request.updated_at.isoformat(timespec="microseconds")


def test_the_dry_run_is_shown_and_approval_starts_the_erasure(
    erasure, agent_client, django_capture_on_commit_callbacks
):
    page = agent_client.get(f"/dashboard/requests/{erasure.pk}/").content.decode()
    assert "Erasure plan: what would happen (dry run)" in page
    assert "Worked by hand: a task for Customer service team lead once approved." in page
    assert "Approve the erasure plan" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            f"/dashboard/requests/{erasure.pk}/approve/", {"approve-seen": _seen(erasure)}, follow=True
        )
    assert "Approved; the work in the sources has started." in response.content.decode()
    assert Plan.objects.get(request=erasure).approved_at is not None
    assert Job.objects.filter(request=erasure, operation=Operation.ERASURE).exists()
    task = ManualTask.objects.get(request=erasure, operation="erasure")
    page = agent_client.get(f"/dashboard/requests/{erasure.pk}/").content.decode()
    assert "Slet samtalerne" in page  # the manual task's instructions, in the request's language, to attest
    assert f'data-task="{task.pk}"' in page


def test_a_plan_cannot_be_approved_twice(erasure, agent_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_plan_approve(request=erasure, actor=Actor.system())
    response = agent_client.post(
        f"/dashboard/requests/{erasure.pk}/approve/", {"approve-seen": _seen(erasure)}, follow=True
    )
    assert "Nothing was changed" in response.content.decode()
    assert AuditEvent.objects.filter(request=erasure, action="plan.approved").count() == 1


def test_the_queue_filters_requests_that_need_attention_and_bulk_approves_them(
    erasure, agent, agent_client, django_capture_on_commit_callbacks
):
    rows = agent_client.get("/dashboard/", {"attention": "on"}).context["page"].rows
    assert [row.request.pk for row in rows] == [erasure.pk]
    assert queue.queue_counts(user=agent)["attention"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post("/dashboard/approve/", {"ids": [erasure.pk]}, follow=True)
    assert "1 plan approved." in response.content.decode()
    again = agent_client.post("/dashboard/approve/", {"ids": [erasure.pk]}, follow=True)
    assert f"Not approved, no plan waits for approval: {erasure.reference}" in again.content.decode()


def test_an_auditor_cannot_approve(erasure, auditor_client):
    response = auditor_client.post(f"/dashboard/requests/{erasure.pk}/approve/", {"approve-seen": _seen(erasure)})
    assert response.status_code == 403
    assert Request.objects.get(pk=erasure.pk).status == Status.AWAITING_APPROVAL
    assert auditor_client.post("/dashboard/approve/", {"ids": [erasure.pk]}).status_code == 403


def test_a_failed_job_shows_its_error_and_staff_retry_it(erasure, agent_client, django_capture_on_commit_callbacks):
    job = Job.objects.filter(request=erasure).first()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, last_error="chats: the archive is offline")
    Request.objects.filter(pk=erasure.pk).update(status=Status.NEEDS_ATTENTION)
    Plan.objects.filter(request=erasure).update(stage=PlanStage.NEEDS_ATTENTION)
    page = agent_client.get(f"/dashboard/requests/{erasure.pk}/").content.decode()
    assert "chats: the archive is offline" in page
    response = agent_client.post(
        f"/dashboard/requests/{erasure.pk}/job_retry/", {"job_retry-seen": "x", "job_retry-job": job.pk}, follow=True
    )
    assert "The job runs again." in response.content.decode()
    assert AuditEvent.objects.filter(request=erasure, action="job.retried").count() == 1
    again = agent_client.post(
        f"/dashboard/requests/{erasure.pk}/job_retry/", {"job_retry-seen": "x", "job_retry-job": job.pk}, follow=True
    )
    assert "Only a failed job can be retried" in again.content.decode()


def test_the_jobs_panel_refreshes_alone_for_htmx(erasure, agent_client):
    response = agent_client.get(f"/dashboard/requests/{erasure.pk}/jobs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<section")
    assert "Work in the sources" in html


@pytest.fixture
def objection(agent) -> Request:
    """An objection to a named purpose whose interim restriction is in place and whose balancing is due."""
    actor = Actor.staff(agent)
    request = workflow.request_submit(
        right="objection",
        email="ole@example.dk",
        actor=actor,
        channel="letter",
        details={"scope": "purpose", "purpose": "profiling of orders", "grounds": "I moved abroad."},
    ).request
    request = workflow.request_identity_check(request=request, method="staff_check", actor=actor)
    Plan.objects.create(request=request, stage=PlanStage.AWAITING_DECISION, identifiers={"email": ["ole@example.dk"]})
    Request.objects.filter(pk=request.pk).update(status=Status.AWAITING_APPROVAL)
    request.refresh_from_db()
    return request


def test_an_objection_is_decided_with_reasons_from_the_page(objection, agent_client):
    page = agent_client.get(f"/dashboard/requests/{objection.pk}/").content.decode()
    assert "Decide the objection" in page
    empty = agent_client.post(
        f"/dashboard/requests/{objection.pk}/decide/",
        {"decide-seen": _seen(objection), "decide-decision": "upheld", "decide-reasons": ""},
    )
    assert empty.status_code == 400
    assert Request.objects.get(pk=objection.pk).status == Status.AWAITING_APPROVAL
    response = agent_client.post(
        f"/dashboard/requests/{objection.pk}/decide/",
        {
            "decide-seen": _seen(objection),
            "decide-decision": "rejected",
            "decide-reasons": "Fraud prevention is a compelling legitimate ground that overrides it here.",
        },
        follow=True,
    )
    assert "Objection not upheld; refused." in response.content.decode()
    objection.refresh_from_db()
    assert objection.status == Status.REFUSED
    assert Plan.objects.get(request=objection).decision == "rejected"
    assert AuditEvent.objects.filter(request=objection, action="objection.decided").count() == 1

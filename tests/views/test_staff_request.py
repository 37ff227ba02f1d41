"""A request's page: what it shows, each action through its service, and refusals that change nothing."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import (
    AuditEvent,
    Channel,
    ManualTask,
    Message,
    NotificationChannel,
    NotificationStatus,
    RecipientNotification,
    Request,
    RequestNote,
    Right,
    Status,
    SuspensionReason,
    VerificationMethod,
)
from dsr.requests import REFUSAL_TEMPLATES
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db


def _request(actor: Actor, *, days_ago: int = 3, right: str = Right.ERASURE, checked: str = "staff", **details):
    request = workflow.request_submit(
        right=right,
        email="ida@example.dk",
        name="Ida Jensen",
        customer_number="C-1001",
        actor=actor,
        channel=Channel.EMAIL,
        received_at=timezone.now() - timedelta(days=days_ago),
        details=details or None,
    ).request
    if checked == "staff":
        request = workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)
    elif checked == "email":
        request = workflow.request_verify(request=request, method=VerificationMethod.EMAIL_CODE, actor=Actor.subject())
    return request


def _seen(request: Request) -> str:
    request.refresh_from_db()
    return request.updated_at.isoformat(timespec="microseconds")


def _post(client, request: Request, action: str, **fields):
    data = {f"{action}-seen": _seen(request)}
    data.update({f"{action}-{key}": value for key, value in fields.items()})
    return client.post(f"/dashboard/requests/{request.pk}/{action}/", data, follow=True)


def test_the_page_shows_requester_details_deadline_and_a_timeline_of_events_and_messages(agent, agent_client):
    request = _request(
        Actor.staff(agent),
        right=Right.RECTIFICATION,
        corrections=[{"field": "address", "current": "Vesterbrogade 1", "correct": "Vesterbrogade 10"}],
    )
    workflow.request_suspend(
        request=request, reason=SuspensionReason.CLARIFICATION, note="Which one?", actor=Actor.staff(agent)
    )
    html = agent_client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "ida@example.dk" in html
    assert "Ida Jensen" in html
    assert "C-1001" in html
    assert "Vesterbrogade 10" in html
    assert "Which one?" in html  # the stopped period and what was asked
    assert "Request received" in html
    assert "Clock stopped: waiting for the requester" in html
    assert "Email: Clock stopped: question to the requester (Dansk)" in html  # the message sent, in words
    assert "agent" in html  # the actor of staff events, by username


def test_agent_works_a_request_through_assign_note_suspend_resume_and_complete(agent, agent_client):
    request = _request(Actor.staff(agent), checked="email")
    assert "Assigned to agent." in _post(agent_client, request, "assign", assignee=str(agent.pk)).content.decode()
    assert "Note added." in _post(agent_client, request, "note", text="Called her back.").content.decode()
    _post(agent_client, request, "suspend", reason="identity", note="Send your customer number.")
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    response = _post(agent_client, request, "resume")
    assert "waits for an identity check" in response.content.decode()  # the service's own refusal
    _post(agent_client, request, "identity", method="attribute_match")
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    # No data map here, so no source reported anything: the page asks what was done, for the letter.
    response = _post(agent_client, request, "complete", reasons="")
    assert "No source reported doing anything for this request" in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    response = _post(agent_client, request, "complete", reasons="Sent her order history by post.")
    assert "Completed." in response.content.decode()
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.assignee == agent
    assert RequestNote.objects.get(request=request).text == "Called her back."
    actions = list(AuditEvent.objects.filter(request=request).values_list("action", flat=True))
    assert actions[-5:] == [
        "request.assigned",
        "request.note_added",
        "request.suspended",
        "request.identity_checked",
        "request.completed",
    ]
    note_event = AuditEvent.objects.get(request=request, action="request.note_added")
    assert "Called" not in str(note_event.data)  # the note's text never enters the audit


def test_extension_with_reasons_then_a_second_extension_is_refused_by_the_service(agent, agent_client):
    request = _request(Actor.staff(agent), days_ago=5)
    response = _post(agent_client, request, "extend", reasons="Eleven years of orders in three systems.")
    request.refresh_from_db()
    assert request.extended_due_date is not None
    assert "Extended to" in response.content.decode()
    # A replay of an old form changes nothing and says why.
    data = {"extend-seen": "2020-01-01T00:00:00.000000+00:00", "extend-reasons": "again"}
    response = agent_client.post(f"/dashboard/requests/{request.pk}/extend/", data, follow=True)
    assert "Nothing was changed" in response.content.decode()
    response = _post(agent_client, request, "extend", reasons="More")
    assert "was already extended" in response.content.decode()
    assert AuditEvent.objects.filter(request=request, action="request.extended").count() == 1


def test_an_extension_after_the_first_month_shows_the_services_error(agent, agent_client):
    request = _request(Actor.staff(agent), days_ago=40)
    response = _post(agent_client, request, "extend", reasons="Too late, surely.")
    assert "an extension must be notified within it (GDPR Art. 12(3))" in response.content.decode()
    request.refresh_from_db()
    assert request.extended_due_date is None


def test_refusal_needs_a_reason_and_then_sends_the_letter(agent, agent_client):
    request = _request(Actor.staff(agent))
    response = _post(agent_client, request, "refuse", ground="excessive", reasons="")
    assert response.status_code == 400
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS
    # The template's opening words name the ground, not this request's reasons (GDPR Art. 12(4)).
    response = _post(agent_client, request, "refuse", ground="excessive", reasons=REFUSAL_TEMPLATES["excessive"]["en"])
    assert response.status_code == 400
    assert "own reasons" in response.content.decode()
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS
    response = _post(agent_client, request, "refuse", ground="excessive", reasons="The fourth identical request.")
    request.refresh_from_db()
    assert request.status == Status.REFUSED
    assert request.refusal_ground == "excessive"
    assert Message.objects.filter(request=request, kind="refused").count() == 1
    assert "Refused" in response.content.decode()


def test_partial_completion_needs_the_parts_not_done(agent, agent_client):
    request = _request(Actor.staff(agent))
    response = _post(agent_client, request, "complete", partial="on", reasons="")
    assert "Say which parts were not done and why." in response.content.decode()
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS
    _post(agent_client, request, "complete", partial="on", reasons="Paper archive destroyed in 2019.")
    assert Request.objects.get(pk=request.pk).status == Status.PARTIALLY_COMPLETED


def test_actions_out_of_order_change_nothing(agent, agent_client):
    request = _request(Actor.staff(agent))
    workflow.request_complete(request=request, actor=Actor.staff(agent), reasons="Answered by letter.")
    response = _post(agent_client, request, "cancel", reasons="dup")
    assert "Nothing was changed: Cannot cancel request" in response.content.decode()
    assert Request.objects.get(pk=request.pk).status == Status.COMPLETED
    assert _post(agent_client, request, "resume").status_code == 200
    assert Request.objects.get(pk=request.pk).status == Status.COMPLETED


def test_an_unknown_action_is_not_found(agent, agent_client):
    request = _request(Actor.staff(agent))
    assert agent_client.post(f"/dashboard/requests/{request.pk}/delete/", {}).status_code == 404


def test_an_auditor_reads_the_page_but_every_action_is_forbidden_and_audited(agent, auditor, auditor_client):
    request = _request(Actor.staff(agent))
    page = auditor_client.get(f"/dashboard/requests/{request.pk}/")
    assert page.status_code == 200
    assert "Your role can read this request but not act on it." in page.content.decode()
    assert 'action="/dashboard/requests/' not in page.content.decode()
    response = auditor_client.post(
        f"/dashboard/requests/{request.pk}/refuse/",
        {"refuse-seen": _seen(request), "refuse-ground": "other", "refuse-reasons": "no"},
    )
    assert response.status_code == 403
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS
    denied = AuditEvent.objects.get(action="staff.denied")
    assert denied.request_id == request.pk
    assert denied.actor_id == str(auditor.pk)


def test_action_posts_need_a_csrf_token(agent):
    request = _request(Actor.staff(agent))
    client = verified_client(agent)
    client.handler.enforce_csrf_checks = True
    response = client.post(f"/dashboard/requests/{request.pk}/cancel/", {"cancel-seen": _seen(request)})
    assert response.status_code == 403
    assert Request.objects.get(pk=request.pk).status == Status.IN_PROGRESS


def test_get_on_an_action_url_is_refused(agent, agent_client):
    request = _request(Actor.staff(agent))
    assert agent_client.get(f"/dashboard/requests/{request.pk}/cancel/").status_code == 405


def test_a_manual_task_is_completed_from_the_page_with_an_attestation(agent, agent_client):
    request = _request(Actor.staff(agent), right=Right.ACCESS)
    task = ManualTask.objects.create(
        request=request, source_key="paper", operation="access", instructions="Search the archive.", owner="Archive"
    )
    html = agent_client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "Search the archive." in html
    response = _post(agent_client, request, "manual_task", task=str(task.pk), finding="nothing_found", attestation="")
    assert response.status_code == 400
    # What the owner found is required: the person's letter is made from it.
    response = _post(agent_client, request, "manual_task", task=str(task.pk), attestation="Nothing in the archive.")
    assert response.status_code == 400
    response = _post(
        agent_client,
        request,
        "manual_task",
        task=str(task.pk),
        finding="nothing_found",
        attestation="Nothing in the archive.",
    )
    task.refresh_from_db()
    assert task.status == "done"
    assert task.finding == "nothing_found"
    assert task.attestation == "Nothing in the archive."
    html = agent_client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "Nothing to do: the person has no data there" in html
    again = _post(agent_client, request, "manual_task", task=str(task.pk), finding="done", attestation="Twice")
    assert "This task is no longer open." in again.content.decode()


def test_a_manual_task_of_another_request_cannot_be_completed_through_this_one(agent, agent_client):
    actor = Actor.staff(agent)
    mine, other = _request(actor, right=Right.ACCESS), _request(actor, right=Right.ACCESS)
    task = ManualTask.objects.create(request=other, source_key="paper", operation="access", instructions="x", owner="A")
    response = _post(agent_client, mine, "manual_task", task=str(task.pk), finding="done", attestation="Done")
    assert "does not belong to this request" in response.content.decode()
    assert ManualTask.objects.get(pk=task.pk).status == "open"


def test_a_recipient_staff_must_tell_by_hand_is_recorded_as_told_by_whom_and_how(agent, agent_client):
    request = _request(Actor.staff(agent))
    notice = RecipientNotification.objects.create(
        request=request,
        recipient_key="adyen",
        recipient_name="Adyen N.V.",
        operation="erasure",
        channel=NotificationChannel.MANUAL,
    )
    page = agent_client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "Record as told" in page

    _post(agent_client, request, "notice_told", notification=str(notice.pk), note="Phoned their DPO, case 4411.")

    notice.refresh_from_db()
    assert notice.status == NotificationStatus.SENT
    assert notice.note == "Phoned their DPO, case 4411."
    assert notice.confirmed_by == agent
    assert notice.notified_at is not None
    event = AuditEvent.objects.get(request=request, action="recipient.notified_by_hand")
    assert event.actor_id == str(agent.pk)
    page = agent_client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "Record as told" not in page
    assert f"recorded by {agent.get_username()}" in page
    again = _post(agent_client, request, "notice_told", notification=str(notice.pk), note="")
    assert "This recipient has already been told." in again.content.decode()


def test_how_a_recipient_was_told_is_optional_and_the_danish_page_says_so(agent, agent_client):
    request = _request(Actor.staff(agent))
    notice = RecipientNotification.objects.create(
        request=request, recipient_key="meta", recipient_name="Meta", operation="restriction", channel="manual"
    )
    page = agent_client.get(f"/dashboard/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Registrér som underrettet" in page

    _post(agent_client, request, "notice_told", notification=str(notice.pk), note="")

    notice.refresh_from_db()
    assert (notice.status, notice.note, notice.confirmed_by) == (NotificationStatus.SENT, "", agent)


def test_a_recipient_dsr_emails_itself_cannot_be_recorded_as_told_by_hand(agent, agent_client):
    request = _request(Actor.staff(agent))
    notice = RecipientNotification.objects.create(
        request=request, recipient_key="meta", recipient_name="Meta", operation="erasure", channel="email"
    )
    response = _post(agent_client, request, "notice_told", notification=str(notice.pk), note="Told")
    assert "Only a recipient the privacy team tells by hand" in response.content.decode()
    assert RecipientNotification.objects.get(pk=notice.pk).status == NotificationStatus.PENDING


def test_an_auditor_cannot_record_a_recipient_as_told(agent, auditor_client):
    request = _request(Actor.staff(agent))
    notice = RecipientNotification.objects.create(
        request=request, recipient_key="adyen", recipient_name="Adyen N.V.", operation="erasure", channel="manual"
    )
    response = _post(auditor_client, request, "notice_told", notification=str(notice.pk), note="Told")
    assert response.status_code == 403
    assert RecipientNotification.objects.get(pk=notice.pk).status == NotificationStatus.PENDING
    assert AuditEvent.objects.filter(request=request, action="staff.denied").exists()


def test_a_notification_of_another_request_cannot_be_recorded_through_this_one(agent, agent_client):
    actor = Actor.staff(agent)
    mine, other = _request(actor), _request(actor)
    notice = RecipientNotification.objects.create(
        request=other, recipient_key="adyen", recipient_name="Adyen N.V.", operation="erasure", channel="manual"
    )
    response = _post(agent_client, mine, "notice_told", notification=str(notice.pk), note="Told")
    assert "does not belong to this request" in response.content.decode()
    assert RecipientNotification.objects.get(pk=notice.pk).status == NotificationStatus.PENDING


def test_a_manual_task_upload_over_the_limit_is_refused_and_nothing_is_stored(agent, agent_client, settings):
    settings.DSR_UPLOAD_MAX_MB = 1
    request = _request(Actor.staff(agent), right=Right.ACCESS)
    task = ManualTask.objects.create(
        request=request, source_key="paper", operation="access", instructions="Scan the file.", owner="Archive"
    )
    big = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\n" + b"0" * (1024 * 1024), content_type="application/pdf")
    response = _post(
        agent_client, request, "manual_task", task=str(task.pk), finding="done", attestation="Scanned.", file=big
    )
    assert response.status_code == 400
    assert "The file is larger than 1 MB" in response.content.decode()
    task.refresh_from_db()
    assert task.status == "open"
    assert task.attestation == ""

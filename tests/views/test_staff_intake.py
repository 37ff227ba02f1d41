"""Requests received by letter, phone, email or in person, entered by staff with the real time of receipt."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dsr.models import AuditEvent, Message, Request, Status

pytestmark = pytest.mark.django_db


def _form(**changes) -> dict:
    received = timezone.localtime() - timedelta(days=6)
    data = {
        "right": "erasure",
        "channel": "letter",
        "received_at": received.strftime("%Y-%m-%dT%H:%M"),
        "email": "karen@example.dk",
        "name": "Karen Holm",
        "language": "da",
        "description": "Slet min konto.",
        "identity": "email",
    }
    data.update(changes)
    return data


def test_a_letter_is_entered_with_its_real_receipt_and_the_requester_is_asked_to_confirm(agent_client):
    response = agent_client.post("/dashboard/requests/new/", _form())
    request = Request.objects.get()
    assert response["Location"] == f"/dashboard/requests/{request.pk}/"
    assert request.channel == "letter"
    assert timezone.localdate(request.received_at) == timezone.localdate() - timedelta(days=6)
    assert request.status == Status.PENDING_VERIFICATION
    assert Message.objects.filter(request=request, kind="verification").exists()
    event = AuditEvent.objects.get(action="request.submitted")
    assert event.actor_type == "staff"
    assert event.data["channel"] == "letter"


def test_staff_who_checked_identity_start_the_request_at_once(agent_client):
    agent_client.post("/dashboard/requests/new/", _form(identity="staff_check", channel="phone"))
    request = Request.objects.get()
    assert request.status == Status.IN_PROGRESS
    assert request.verification_method == "staff_check"


def test_right_specific_details_are_checked_by_the_same_rules_as_the_web_form(agent_client):
    response = agent_client.post("/dashboard/requests/new/", _form(right="restriction"))
    assert response.status_code == 400
    assert "ground" in response.content.decode()
    assert not Request.objects.exists()
    agent_client.post("/dashboard/requests/new/", _form(right="restriction", restriction_ground="legal_claims"))
    assert Request.objects.get().details["ground"] == "legal_claims"


def test_a_receipt_in_the_future_or_a_bad_email_is_refused_and_nothing_is_stored(agent_client):
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = agent_client.post("/dashboard/requests/new/", _form(received_at=future, email="not-an-email"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "cannot be in the future" in html
    assert not Request.objects.exists()


def test_web_and_api_are_not_channels_staff_can_enter(agent_client):
    response = agent_client.post("/dashboard/requests/new/", _form(channel="api"))
    assert response.status_code == 400
    assert not Request.objects.exists()


def test_an_auditor_cannot_enter_requests(auditor_client):
    assert auditor_client.get("/dashboard/requests/new/").status_code == 403
    assert auditor_client.post("/dashboard/requests/new/", _form()).status_code == 403
    assert not Request.objects.exists()
    assert AuditEvent.objects.filter(action="staff.denied", data__attempted="request_intake").exists()

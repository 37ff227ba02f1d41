"""The `lift-restriction` action: the requester is told first (GDPR Art. 18(3)), the lift follows the notice."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import AuditEvent, Message, MessageStatus, Right, VerificationMethod
from dsr.restrictions import restriction_check, restrictions_record
from tests.api.conftest import verified_client

pytestmark = pytest.mark.django_db

PERSON = "kunde@example.dk"


@pytest.fixture
def restricted(django_capture_on_commit_callbacks):
    # The code and the receipt go out first, as a worker would send them: one person's emails leave in order.
    with django_capture_on_commit_callbacks(execute=True):
        request = workflow.request_submit(
            right=Right.RESTRICTION, email=PERSON, actor=Actor.system(), details={"ground": "legal_claims"}
        ).request
        request = workflow.request_identity_check(
            request=request, method=VerificationMethod.STAFF_CHECK, actor=Actor.system()
        )
    restrictions_record(request=request, identifiers={"email": [PERSON]}, ground="legal_claims")
    return request


def _url(request) -> str:
    return f"/api/v1/requests/{request.reference}/actions/lift-restriction/"


def test_the_lift_is_announced_and_takes_effect_once_the_notice_is_sent(
    integration, restricted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = integration.post(_url(restricted), {"reasons": "The legal claim is settled."}, format="json")
    assert response.status_code == 200
    # Answered before the notice went out: nothing is lifted yet.
    assert restriction_check(PERSON, "purchase")
    event = AuditEvent.objects.get(request=restricted, action="restriction.lift_scheduled")
    assert event.actor_type == "integration"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert [m.to for m in mail.outbox] == [[PERSON]]
    assert "The legal claim is settled." in mail.outbox[0].body
    assert Message.objects.get(request=restricted, kind="restriction_lift").status == MessageStatus.SENT
    assert not restriction_check(PERSON, "purchase")


def test_a_second_lift_while_one_is_announced_is_a_409(integration, restricted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        integration.post(_url(restricted), {"reasons": "Settled."}, format="json")
        again = integration.post(_url(restricted), {"reasons": "Settled."}, format="json")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert "already been announced" in again.json()["error"]["message"]
    assert Message.objects.filter(request=restricted, kind="restriction_lift").count() == 1


def test_a_request_with_nothing_restricted_is_a_409(integration, restricted):
    restricted.restrictions.update(lifted_at=timezone.now())
    response = integration.post(_url(restricted), {"reasons": "Settled."}, format="json")
    assert response.status_code == 409
    assert not Message.objects.filter(request=restricted, kind="restriction_lift").exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"reasons"}),
        ({"reasons": "Settled.", "lift_date": "soon"}, {"lift_date"}),
        ({"reasons": "Settled.", "lift_date": (timezone.localdate() - timedelta(days=1)).isoformat()}, {"lift_date"}),
    ],
)
def test_bad_bodies_are_a_400_naming_the_field_and_change_nothing(integration, restricted, body, fields):
    response = integration.post(_url(restricted), body, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == fields
    assert restriction_check(PERSON, "purchase")
    assert not Message.objects.filter(request=restricted, kind="restriction_lift").exists()


def test_a_key_without_requests_act_and_an_auditor_cannot_lift(key_client, auditor, restricted):
    reader = key_client(["registers:read"])
    assert reader.post(_url(restricted), {"reasons": "Settled."}, format="json").status_code == 403
    staff = verified_client(auditor)
    assert staff.post(_url(restricted), {"reasons": "Settled."}, content_type="application/json").status_code == 403
    assert restriction_check(PERSON, "purchase")


def test_a_later_lift_date_is_kept_and_the_error_messages_come_in_danish(
    key_client, restricted, django_capture_on_commit_callbacks
):
    api = key_client()
    later = timezone.localdate() + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(_url(restricted), {"reasons": "Settled.", "lift_date": later.isoformat()}, format="json")
    assert response.status_code == 200
    assert restriction_check(PERSON, "purchase")
    assert set(restricted.restrictions.values_list("lift_on", flat=True)) == {later}

    again = api.post(_url(restricted), {"reasons": "Settled."}, format="json", HTTP_ACCEPT_LANGUAGE="da")
    assert again.status_code == 409
    assert "allerede" in again.json()["error"]["message"]

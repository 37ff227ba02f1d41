"""Lifting a restriction from a request's page (GDPR Art. 18(3)): the requester is told first, the lift follows."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import AuditEvent, Channel, Message, MessageStatus, Request, Restriction, Right, VerificationMethod
from dsr.restrictions import restriction_check, restrictions_record

pytestmark = pytest.mark.django_db

PERSON = "ida@example.dk"


@pytest.fixture
def restricted(agent, django_capture_on_commit_callbacks) -> Request:
    """A closed restriction request whose register entry is in force (no source marked: no map is loaded)."""
    actor = Actor.staff(agent)
    # Its earlier emails go out as a worker sends them: one person's emails leave in order.
    with django_capture_on_commit_callbacks(execute=True):
        request = workflow.request_submit(
            right=Right.RESTRICTION,
            email=PERSON,
            actor=actor,
            channel=Channel.LETTER,
            details={"ground": "accuracy_contested"},
        ).request
        request = workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)
        restrictions_record(request=request, identifiers={"email": [PERSON]}, ground="accuracy_contested")
        workflow.request_complete(request=request, actor=actor, reasons="Marked by hand in every system.")
    request.refresh_from_db()
    return request


def _lift(client, request: Request, **fields):
    data = {"lift-seen": "x", **{f"lift-{key}": value for key, value in fields.items()}}
    return client.post(f"/dashboard/requests/{request.pk}/lift/", data, follow=True)


def test_the_page_offers_the_lift_and_the_lift_waits_for_the_notice(
    restricted, agent_client, django_capture_on_commit_callbacks
):
    page = agent_client.get(f"/dashboard/requests/{restricted.pk}/").content.decode()
    assert "Lift the restriction" in page
    assert "1 register entry in force." in page

    with django_capture_on_commit_callbacks(execute=False):
        response = _lift(agent_client, restricted, reasons="The data was verified as accurate.")
    html = response.content.decode()
    assert "the restriction is lifted as soon as the notice has been sent" in html
    assert "The notice to the requester has not been sent yet; nothing is lifted before it is." in html
    assert "Lift the restriction" not in html
    assert restriction_check(PERSON, "purchase")
    notice = Message.objects.get(request=restricted, kind="restriction_lift")
    assert notice.status == MessageStatus.QUEUED
    event = AuditEvent.objects.get(request=restricted, action="restriction.lift_scheduled")
    assert event.data["notice"] == notice.pk


def test_once_the_notice_is_sent_the_restriction_is_lifted_and_the_page_says_when(
    restricted, agent_client, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _lift(agent_client, restricted, reasons="The data was verified as accurate.")

    assert [m.to for m in mail.outbox] == [[PERSON]]
    assert not restriction_check(PERSON, "purchase")
    page = agent_client.get(f"/dashboard/requests/{restricted.pk}/").content.decode()
    assert "after the requester was told." in page
    timeline = page.split('data-testid="timeline"')[1]
    assert timeline.index("Restriction lift announced") < timeline.index("Requester told before lifting")
    assert timeline.index("Requester told before lifting") < timeline.index("Restriction lifted")


def test_a_lift_date_in_the_future_is_shown_and_kept(restricted, agent_client, django_capture_on_commit_callbacks):
    later = timezone.localdate() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        response = _lift(agent_client, restricted, reasons="Verified.", lift_date=later.isoformat())

    assert f"the restriction is lifted on {later.isoformat()}" in response.content.decode()
    assert restriction_check(PERSON, "purchase")
    assert set(Restriction.objects.filter(request=restricted).values_list("lift_on", flat=True)) == {later}
    page = agent_client.get(f"/dashboard/requests/{restricted.pk}/").content.decode()
    assert "The requester was told" in page


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"reasons": ""}, "Check the form"),
        ({"reasons": "Verified.", "lift_date": "not a date"}, "Check the form"),
        ({"reasons": "Verified.", "lift_date": "2001-01-01"}, "The lift date cannot be in the past."),
    ],
)
def test_bad_input_lifts_nothing_and_says_why(restricted, agent_client, fields, error):
    response = _lift(agent_client, restricted, **fields)

    assert error in response.content.decode()
    assert restriction_check(PERSON, "purchase")
    assert not Message.objects.filter(request=restricted, kind="restriction_lift").exists()


def test_an_auditor_cannot_lift_and_the_attempt_is_audited(restricted, auditor_client):
    page = auditor_client.get(f"/dashboard/requests/{restricted.pk}/").content.decode()
    assert "Lift the restriction" not in page

    response = _lift(auditor_client, restricted, reasons="Verified.")

    assert response.status_code == 403
    assert restriction_check(PERSON, "purchase")
    assert AuditEvent.objects.filter(request=restricted, action="staff.denied").exists()


def test_the_danish_page_offers_the_lift_in_danish(restricted, agent_client, django_capture_on_commit_callbacks):
    page = agent_client.get(f"/dashboard/requests/{restricted.pk}/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Ophæv begrænsningen" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = agent_client.post(
            f"/dashboard/requests/{restricted.pk}/lift/",
            {"lift-seen": "x", "lift-reasons": "Oplysningerne er bekræftet."},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="da",
        )
    assert "Den registrerede får besked" in response.content.decode()

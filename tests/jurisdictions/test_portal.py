"""The status page of a request whose law never stops the clock (CCPA, LGPD) says so, and never "paused"."""

import pytest
from django.utils import translation

from dsr import portal, workflow
from dsr.audit import Actor

STAFF = Actor(type="staff", id="1")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize("code", ["us-ca", "br"])
def test_waiting_for_the_requester_does_not_pause_the_time_limit(code):
    pending = workflow.request_submit(
        right="access", email="ida@example.com", jurisdiction=code, actor=Actor.subject()
    ).request
    view = portal.status_view(pending)
    assert "runs from the day we received your request" in view.progress
    assert "paused" not in view.progress
    assert not view.deadline.clock_stopped

    started = workflow.request_verify(request=pending, method="email_code", actor=Actor.subject())
    waiting = workflow.request_suspend(request=started, reason="clarification", note="Which shop?", actor=STAFF)
    view = portal.status_view(waiting)
    assert [step.title for step in view.steps if step.state == "waiting"] == ["We need more from you"]
    assert "keeps running" in view.progress
    assert not view.deadline.clock_stopped


def test_a_gdpr_request_still_pauses():
    pending = workflow.request_submit(right="access", email="ida@example.com", jurisdiction="se", actor=Actor.subject())
    assert "time limit is paused" in portal.status_view(pending.request).progress

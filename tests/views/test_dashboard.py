"""The staff queue: staff only, most urgent first, days left with colours."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Channel, Right, VerificationMethod

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(django_user_model):
    return django_user_model.objects.create_user(
        "agent", "agent@example.org", password="pw-long-enough-1", is_staff=True
    )


def _open_request(email: str, days_ago: int, actor: Actor):
    request = workflow.request_submit(
        right=Right.ACCESS,
        email=email,
        actor=actor,
        channel=Channel.LETTER,
        received_at=timezone.now() - timedelta(days=days_ago),
    ).request
    return workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_logged_in_customer_without_staff_rights_cannot_see_the_queue(client, django_user_model):
    django_user_model.objects.create_user("customer", password="pw-long-enough-1")
    client.login(username="customer", password="pw-long-enough-1")
    response = client.get("/dashboard/")
    assert response.status_code == 302


def test_the_queue_lists_open_requests_most_urgent_first(client, agent):
    actor = Actor.staff(agent)
    with time_machine.travel(datetime(2026, 11, 22, 10, 0, tzinfo=timezone.get_current_timezone())):
        later = _open_request("later@example.dk", 1, actor)
        urgent = _open_request("urgent@example.dk", 28, actor)
        closed = _open_request("closed@example.dk", 5, actor)
        workflow.request_complete(request=closed, actor=actor)
        client.force_login(agent)
        response = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(urgent.reference) < html.index(later.reference)
    assert closed.reference not in html
    assert 'class="days red"' in html
    assert 'class="days green"' in html


def test_the_login_page_logs_staff_in_and_goes_to_the_queue(client, agent):
    wrong = client.post("/accounts/login/", {"username": "agent", "password": "nope"})
    assert wrong.status_code == 200
    assert b"errors" in wrong.content
    response = client.post("/accounts/login/", {"username": "agent", "password": "pw-long-enough-1"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"

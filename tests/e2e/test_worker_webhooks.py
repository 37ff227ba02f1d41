"""A real Celery worker delivers signed webhooks, retrying a failing receiver until it answers."""

import pytest
from standardwebhooks import Webhook

from dsr.audit import Actor
from dsr.models import DeliveryStatus, WebhookDelivery
from dsr.webhooks import webhook_endpoint_create
from dsr.workflow import request_submit
from tests.test_webhooks import receiver  # noqa: F401  (the fixture, reused)

WORKER_SETTINGS = {"DSR_WEBHOOK_RETRY_SECONDS": "0.5", "DSR_WEBHOOK_MAX_ATTEMPTS": "4"}


@pytest.fixture
def short_backoff(monkeypatch, settings) -> None:
    """Give the worker a backoff of half a second so retries happen within the test."""
    for name, value in WORKER_SETTINGS.items():
        monkeypatch.setenv(name, value)
        setattr(settings, name, float(value))


def test_the_worker_retries_a_failing_receiver_then_delivers_a_verifiable_event(
    short_backoff,
    celery_worker_process,
    receiver,
    wait_until,
):
    receiver.statuses = [503, 500]
    _, secret = webhook_endpoint_create(name="CRM", url=receiver.url, events=["request.received"], actor=Actor.system())

    request = request_submit(right="access", email="kunde@example.dk", actor=Actor.subject(), language="en").request

    wait_until(
        lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).exists(),
        timeout=60,
        what="the delivery",
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_response_code) == (3, 204)
    assert len(receiver.received) == 3
    payloads = [Webhook(secret).verify(body, headers) for headers, body in receiver.received]
    assert {p["id"] for p in payloads} == {str(delivery.event_id)}
    assert payloads[-1]["data"]["reference"] == request.reference

"""Webhook endpoints and deliveries in Django admin: the secret shown once, test events, re-sends."""

import re

import pytest
from django.contrib.messages import get_messages

from dsr.audit import Actor
from dsr.models import AuditEvent, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from dsr.webhooks import endpoint_secret, webhook_endpoint_create, webhook_test_send
from tests.test_webhooks import receiver  # noqa: F401  (the fixture, reused)
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db

SECRET_SHOWN = re.compile(r'<code class="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</code>')


def test_creating_an_endpoint_shows_its_secret_once_and_keeps_it_sealed(privacy_admin):
    client = verified_client(privacy_admin)
    response = client.post(
        "/admin/dsr/webhookendpoint/add/",
        {"name": "CRM", "url": "https://crm.example.dk/hooks", "events": ["request.completed"], "active": "on"},
    )

    assert response.status_code == 200
    [secret] = SECRET_SHOWN.findall(response.content.decode())
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.name, endpoint.events, endpoint.active) == ("CRM", ["request.completed"], True)
    assert endpoint_secret(endpoint) == secret
    assert secret not in endpoint.sealed_secret
    change_page = client.get(f"/admin/dsr/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert secret not in change_page
    assert AuditEvent.objects.filter(action="webhook.endpoint_created", actor_id=str(privacy_admin.pk)).exists()


def test_an_unknown_event_type_is_a_form_error(privacy_admin):
    response = verified_client(privacy_admin).post(
        "/admin/dsr/webhookendpoint/add/", {"name": "CRM", "url": "https://crm.example.dk/", "events": ["nope"]}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_rotating_shows_the_new_secret_and_editing_is_audited(privacy_admin):
    endpoint, old = webhook_endpoint_create(name="CRM", url="https://crm.example.dk/", events=[], actor=Actor.system())
    client = verified_client(privacy_admin)

    response = client.post(
        "/admin/dsr/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [endpoint.pk]}
    )
    [new] = SECRET_SHOWN.findall(response.content.decode())
    endpoint.refresh_from_db()
    assert new != old
    assert endpoint_secret(endpoint) == new

    client.post(
        f"/admin/dsr/webhookendpoint/{endpoint.pk}/change/",
        {"name": "CRM (paused)", "url": "https://crm.example.dk/", "events": []},
    )
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.active) == ("CRM (paused)", False)
    assert AuditEvent.objects.get(action="webhook.endpoint_changed").data == {"endpoint": endpoint.pk, "active": False}


def test_send_test_event_and_resend_from_admin(
    privacy_admin,
    receiver,
    django_capture_on_commit_callbacks,
):
    endpoint, _ = webhook_endpoint_create(name="CRM", url=receiver.url, events=[], actor=Actor.system())
    client = verified_client(privacy_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/dsr/webhookendpoint/", {"action": "send_test_event", "_selected_action": [endpoint.pk]}
        )
    assert "Test event queued for CRM." in [str(m) for m in get_messages(response.wsgi_request)]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/dsr/webhookdelivery/", {"action": "resend", "_selected_action": [delivery.pk]})
    assert WebhookDelivery.objects.filter(resent_from=delivery, status=DeliveryStatus.DELIVERED).count() == 1
    assert len(receiver.received) == 2


def test_deliveries_are_read_only_and_hidden_from_agents(privacy_admin, agent_client):
    endpoint, _ = webhook_endpoint_create(name="CRM", url="https://crm.example.dk/", events=[], actor=Actor.system())
    delivery = webhook_test_send(endpoint=endpoint, actor=Actor.system())
    client = verified_client(privacy_admin)

    client.post(f"/admin/dsr/webhookdelivery/{delivery.pk}/change/", {"status": "delivered"})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert client.get("/admin/dsr/webhookdelivery/add/").status_code == 403
    assert agent_client.get("/admin/dsr/webhookdelivery/").status_code == 403
    assert agent_client.get("/admin/dsr/webhookendpoint/").status_code == 403

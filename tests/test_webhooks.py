"""Outbound webhooks against a real local receiver, checked with the independent `standardwebhooks` library."""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone, translation
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dsr.audit import Actor, audit_record
from dsr.engine.jobs import job_failed
from dsr.models import (
    AuditEvent,
    DeliveryStatus,
    Job,
    NotificationChannel,
    Operation,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from dsr.webhooks import (
    WebhookError,
    deliveries_reconcile,
    endpoint_secret,
    requests_flag_deadline_near,
    webhook_delivery_attempt,
    webhook_delivery_resend,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_test_send,
)
from dsr.workflow import request_refuse, request_submit
from tests.rights.conftest import (  # noqa: F401  (the engine's test company and its fixtures, reused)
    PERSON,
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db

EMAIL = "karen.holm@example.dk"
STAFF = Actor("staff", "1")


class Receiver:
    """A receiver on 127.0.0.1: records every POST and answers with the next queued status (default 204)."""

    def __init__(self):
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        self.received.append((headers, body))
        return self.statuses.pop(0) if self.statuses else 204


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = state.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(receiver):
    """Return (endpoint, secret) registered for every event at the receiver."""
    return webhook_endpoint_create(name="CRM", url=receiver.url, events=[], actor=STAFF)


def submit(**kwargs):
    return request_submit(right="access", email=EMAIL, actor=Actor.integration("shop"), language="en", **kwargs).request


def test_a_pre_verified_request_sends_received_and_verified_events_the_receiver_library_accepts(
    receiver, endpoint, django_capture_on_commit_callbacks
):
    _, secret = endpoint
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(name="Karen Holm", phone="+4520304050", customer_number="C-77", pre_verified=True)

    verifier = Webhook(secret)
    payloads = [verifier.verify(body, headers) for headers, body in receiver.received]
    assert [p["type"] for p in payloads] == ["request.received", "request.verified"]
    assert payloads[1]["data"] == {
        "reference": request.reference,
        "right": "access",
        "status": "in_progress",
        "due_date": request.due_date.isoformat(),
    }
    everything = b"".join(body + json.dumps(headers).encode() for headers, body in receiver.received).lower()
    for personal in (b"karen", b"holm", b"4520304050", b"c-77", b"example.dk"):
        assert personal not in everything
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert set(WebhookDelivery.objects.values_list("last_response_code", flat=True)) == {204}


def test_the_receiver_library_refuses_a_replay_after_five_minutes_and_a_changed_body(
    receiver, endpoint, django_capture_on_commit_callbacks
):
    _, secret = endpoint
    with django_capture_on_commit_callbacks(execute=True):
        submit()
    headers, body = receiver.received[0]
    verifier = Webhook(secret)
    assert verifier.verify(body, headers)["type"] == "request.received"

    with pytest.raises(WebhookVerificationError):
        verifier.verify(body.replace(b"access", b"erasure"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_endpoint_rotate_secret(endpoint=endpoint[0], actor=STAFF)).verify(body, headers)
    replayed = time_machine.travel(timezone.now() + timedelta(minutes=6))
    with replayed, pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(body, headers)


def test_the_secret_is_stored_sealed_and_rotation_signs_with_the_new_one(
    receiver, endpoint, django_capture_on_commit_callbacks
):
    found, secret = endpoint
    stored = WebhookEndpoint.objects.get(pk=found.pk)
    assert secret.startswith("whsec_")
    assert secret not in stored.sealed_secret
    assert secret.removeprefix("whsec_") not in stored.sealed_secret
    assert endpoint_secret(stored) == secret

    new = webhook_endpoint_rotate_secret(endpoint=found, actor=STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_test_send(endpoint=found, actor=STAFF)
    headers, body = receiver.received[-1]
    assert Webhook(new).verify(body, headers)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
    assert AuditEvent.objects.filter(action="webhook.secret_rotated").count() == 1


def test_an_endpoint_gets_only_the_events_it_subscribed_to(receiver, django_capture_on_commit_callbacks):
    _, secret = webhook_endpoint_create(name="Ops", url=receiver.url, events=["request.refused"], actor=STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(pre_verified=True)
        request_refuse(request=request, ground="manifestly_unfounded", reasons="Repeated.", actor=STAFF)

    payloads = [Webhook(secret).verify(body, headers) for headers, body in receiver.received]
    assert [(p["type"], p["data"]["status"]) for p in payloads] == [("request.refused", "refused")]


def test_unknown_event_types_are_refused_and_nothing_is_registered(receiver):
    with pytest.raises(WebhookError, match=r"request\.exploded"):
        webhook_endpoint_create(name="Ops", url=receiver.url, events=["request.exploded"], actor=STAFF)
    assert not WebhookEndpoint.objects.exists()


def test_a_change_rolled_back_sends_nothing(receiver, endpoint, django_capture_on_commit_callbacks):
    request = submit()
    WebhookDelivery.objects.all().delete()

    def refuse_then_fail() -> None:
        with transaction.atomic():
            audit_record(actor=STAFF, action="request.refused", request=request, data={})
            raise RuntimeError("the change failed after its audit event")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        refuse_then_fail()
    assert not WebhookDelivery.objects.exists()
    assert receiver.received == []


def test_a_job_failed_for_good_is_an_event_naming_the_source_and_operation(
    receiver, endpoint, django_capture_on_commit_callbacks
):
    request = submit(pre_verified=True)
    job = Job.objects.create(request=request, source_key="shop", operation=Operation.ACCESS)
    with django_capture_on_commit_callbacks(execute=True):
        job_failed(job=job)

    payload = Webhook(endpoint[1]).verify(receiver.received[-1][1], receiver.received[-1][0])
    assert payload["type"] == "job.failed"
    assert payload["data"]["source"] == "shop"
    assert payload["data"]["operation"] == "access"
    assert payload["data"]["reference"] == request.reference


def test_a_failing_endpoint_is_retried_with_growing_delays_then_fails(receiver, endpoint, settings):
    settings.DSR_WEBHOOK_MAX_ATTEMPTS = 3
    settings.DSR_WEBHOOK_RETRY_SECONDS = 30
    receiver.statuses = [500, 503, 500]
    delivery = webhook_test_send(endpoint=endpoint[0], actor=STAFF)
    start = timezone.now()

    first = webhook_delivery_attempt(delivery_id=delivery.pk, now=start)
    too_soon = webhook_delivery_attempt(delivery_id=delivery.pk, now=start + timedelta(seconds=5))
    delivery.refresh_from_db()
    assert (first.status, first.retry_in, too_soon.status) == ("pending", 30, "skipped")
    assert (delivery.attempts, delivery.last_response_code) == (1, 500)
    assert "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at > start + timedelta(seconds=29)

    second = webhook_delivery_attempt(delivery_id=delivery.pk, now=start + timedelta(minutes=2))
    third = webhook_delivery_attempt(delivery_id=delivery.pk, now=start + timedelta(minutes=10))
    delivery.refresh_from_db()
    assert (second.retry_in, third.status) == (60, "failed")
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("failed", 3, 500)
    assert len(receiver.received) == 3
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1


def test_a_delivery_that_failed_once_is_delivered_on_the_next_attempt(receiver, endpoint):
    receiver.statuses = [502, 200]
    delivery = webhook_test_send(endpoint=endpoint[0], actor=STAFF)
    webhook_delivery_attempt(delivery_id=delivery.pk)
    webhook_delivery_attempt(delivery_id=delivery.pk, now=timezone.now() + timedelta(hours=1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")
    assert delivery.delivered_at is not None


def test_an_unreachable_endpoint_is_tried_again_later():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint, _ = webhook_endpoint_create(name="Gone", url=f"http://127.0.0.1:{port}/", events=[], actor=STAFF)
    delivery = webhook_test_send(endpoint=endpoint, actor=STAFF)
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.retry_in is not None
    assert delivery.status == "pending"
    assert delivery.last_response_code is None
    assert "could not connect" in delivery.last_error


def test_410_gone_fails_the_delivery_and_switches_the_endpoint_off(receiver, endpoint):
    receiver.statuses = [410]
    delivery = webhook_test_send(endpoint=endpoint[0], actor=STAFF)
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert outcome.status == "failed"
    assert delivery.last_response_code == 410
    assert not WebhookEndpoint.objects.get(pk=endpoint[0].pk).active
    assert AuditEvent.objects.filter(action="webhook.endpoint_deactivated").count() == 1
    with translation.override("en"), pytest.raises(WebhookError, match="not active"):
        webhook_test_send(endpoint=endpoint[0], actor=STAFF)


def test_a_resend_is_a_new_audited_series_with_the_same_webhook_id(
    receiver, endpoint, settings, django_capture_on_commit_callbacks
):
    settings.DSR_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        failed = webhook_test_send(endpoint=endpoint[0], actor=STAFF)
    failed.refresh_from_db()
    assert failed.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        again = webhook_delivery_resend(delivery=failed, actor=STAFF)
    again.refresh_from_db()
    failed.refresh_from_db()
    assert (again.status, again.attempts, again.resent_from_id) == ("delivered", 1, failed.pk)
    assert failed.status == "failed"
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"] == str(failed.event_id)
    event = AuditEvent.objects.get(action="webhook.resent")
    assert event.data == {"endpoint": endpoint[0].pk, "delivery": failed.pk, "new_delivery": again.pk}


def test_the_reconciler_sends_deliveries_whose_go_signal_was_lost(
    receiver, endpoint, settings, django_capture_on_commit_callbacks
):
    # Without capturing on-commit callbacks the "go" is never sent: as if the broker lost it.
    delivery = webhook_test_send(endpoint=endpoint[0], actor=STAFF)
    assert deliveries_reconcile() == 0  # still within the grace period: the first "go" may be on its way
    later = timezone.now() + timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_reconcile(now=later) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert deliveries_reconcile(now=later) == 0


def test_deadline_near_is_sent_once_per_request(receiver, endpoint, settings, django_capture_on_commit_callbacks):
    settings.DSR_REMINDER_DAYS_BEFORE = 5
    soon = submit(pre_verified=True)
    submit(pre_verified=False)  # waiting for its email confirmation: the clock is stopped
    today = soon.due_date - timedelta(days=3)

    assert requests_flag_deadline_near(today=soon.due_date - timedelta(days=10)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert requests_flag_deadline_near(today=today) == 1
    assert requests_flag_deadline_near(today=today + timedelta(days=1)) == 0

    deliveries = WebhookDelivery.objects.filter(event_type=WebhookEvent.REQUEST_DEADLINE_NEAR)
    assert deliveries.count() == 1
    payload = Webhook(endpoint[1]).verify(receiver.received[-1][1], receiver.received[-1][0])
    assert payload["data"]["reference"] == soon.reference
    assert payload["data"]["days_left"] == 3


def test_a_secret_sealed_under_another_secret_key_fails_the_delivery_without_sending(receiver, endpoint, settings):
    delivery = webhook_test_send(endpoint=endpoint[0], actor=STAFF)
    settings.SECRET_KEY = "a-different-secret-key-than-the-one-that-sealed-it"

    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert outcome.status == "failed"
    assert "rotate" in delivery.last_error
    assert receiver.received == []


def test_a_completed_erasure_event_carries_what_the_sources_reported_and_no_personal_data(
    receiver, endpoint, company, file, run, staff, settings
):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")
    tasks_finish(request, staff, run)

    verifier = Webhook(endpoint[1])
    payloads = [verifier.verify(body, headers) for headers, body in receiver.received]
    completed = next(p for p in payloads if p["type"] == "request.completed")
    result = completed["data"]["result"]
    assert completed["data"]["status"] == "completed"
    assert result["changed"] is True
    assert result["sources"]["shop"] == "done"
    assert result["counts"]["deleted"] > 0
    by_hand = request.recipient_notifications.filter(channel=NotificationChannel.MANUAL).count()
    assert by_hand > 0
    assert result["recipients_notified"] == request.recipient_notifications.count() - by_hand
    assert result["recipients_to_tell_by_hand"] == by_hand
    assert PERSON.encode() not in b"".join(body for _headers, body in receiver.received)

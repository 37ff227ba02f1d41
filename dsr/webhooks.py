"""Outbound webhooks: events on state changes, signed per Standard Webhooks, delivered by Celery with retries.

The services whose state changes leave dsr call `webhook_event_emit`
themselves, which records a delivery per subscribed endpoint in the same
transaction as the change; the "go" is sent on commit, so a rolled-back change
sends nothing. Each attempt
is signed with the endpoint's secret over ``id.timestamp.body`` (headers
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). Payloads carry
references, kinds, statuses and dates: never the requester's email, name or
identifiers. See docs/webhooks.md and docs/decisions/0010-webhooks-and-callbacks.md.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import requests as http
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import crypto
from dsr.audit import Actor, audit_record
from dsr.models import (
    AuditAction,
    DeliveryStatus,
    Request,
    Status,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from dsr.selectors import request_deadline

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix Standard Webhooks gives secrets, not a secret)
SEAL_PURPOSE = "webhook-endpoint-secret"
# Receivers should refuse a webhook-timestamp further than this from their clock (Standard Webhooks' default).
REPLAY_WINDOW_SECONDS = 300
USER_AGENT = "dsr-webhooks/1"
DEADLINE_NEAR_ACTION = AuditAction.REQUEST_DEADLINE_NEAR
# Sends the "go" for one delivery (dsr.tasks.webhook_delivery_attempt.delay), registered by dsr.apps.
_delivery_starter: Callable[[int], object] | None = None
# Requests whose clock runs: a request waiting for its email confirmation or for the requester is stopped.
_CLOCK_RUNNING = (Status.IN_PROGRESS, Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION)


class WebhookError(Exception):
    """A webhook action that cannot be done (an inactive endpoint, a bad event list); str() says why."""


# --- Secrets and signatures ---------------------------------------------------------


def secret_new() -> str:
    """Return a new random signing secret in the Standard Webhooks form ``whsec_<base64 of 32 bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """Return the endpoint's signing secret, unsealed."""
    return crypto.unseal(endpoint.sealed_secret, purpose=SEAL_PURPOSE)["secret"]


def signature_headers(*, secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers signing ``body``: HMAC-SHA256 of ``id.timestamp.body``, base64."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{signature}"}


def payload_body(payload: dict) -> bytes:
    """Return the exact bytes sent (and signed) for ``payload``: compact ASCII JSON."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")


# --- Endpoints ----------------------------------------------------------------------


def _events_clean(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise WebhookError(_("Unknown event types: %(events)s.") % {"events": ", ".join(unknown)})
    return sorted(set(events))


def delivery_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that sends a delivery's "go" signal (the Celery task's ``delay``)."""
    global _delivery_starter
    _delivery_starter = starter


def webhook_endpoint_create(*, name: str, url: str, events: list[str], actor) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint with a new secret; return it and the secret, which is shown this once."""
    secret = secret_new()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            name=name,
            url=url,
            events=_events_clean(events),
            sealed_secret=crypto.seal({"secret": secret}, purpose=SEAL_PURPOSE),
        )
        audit_record(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_CREATED, data={"endpoint": endpoint.pk})
    return endpoint, secret


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, name: str, url: str, events: list[str], active: bool, actor
) -> WebhookEndpoint:
    """Change an endpoint's name, address, events or whether it is active."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.name, endpoint.url, endpoint.events, endpoint.active = name, url, _events_clean(events), active
        endpoint.save(update_fields=["name", "url", "events", "active"])
        audit_record(
            actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_CHANGED, data={"endpoint": endpoint.pk, "active": active}
        )
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor) -> str:
    """Give the endpoint a new secret and return it (shown once); deliveries from now on are signed with it."""
    secret = secret_new()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.sealed_secret = crypto.seal({"secret": secret}, purpose=SEAL_PURPOSE)
        endpoint.save(update_fields=["sealed_secret"])
        audit_record(actor=actor, action=AuditAction.WEBHOOK_SECRET_ROTATED, data={"endpoint": endpoint.pk})
    return secret


# --- Events -------------------------------------------------------------------------


def _due(request: Request) -> date:
    return request.extended_due_date or request.due_date


def event_payload(*, event_id: uuid.UUID, event_type: str, at: datetime, request: Request | None, data: dict) -> dict:
    """Return the event's payload: ids, kinds, statuses and dates, never personal data."""
    body: dict = {}
    if request is not None:
        body = {
            "reference": request.reference,
            "right": request.right,
            "status": request.status,
            "due_date": _due(request).isoformat(),
        }
    if event_type == WebhookEvent.JOB_FAILED:
        body.update(source=data.get("source", ""), operation=data.get("operation", ""))
    if event_type == WebhookEvent.REQUEST_DEADLINE_NEAR:
        body["days_left"] = data.get("days_left")
    if event_type in (WebhookEvent.REQUEST_FEE_REQUESTED, WebhookEvent.REQUEST_FEE_SETTLED):
        # GDPR Art. 12(5)(a), 15(3): the fee's ground, amount and state; never the reasons written to the person.
        body["fee"] = {key: data.get(key) for key in ("ground", "amount", "currency", "fee_status")}
    if event_type == WebhookEvent.REQUEST_COMPLETED and data.get("outcome") is not None:
        # What the sources reported doing, as counts (dsr.rights.outcome): never the person's data.
        body["result"] = data["outcome"]
    return {"id": str(event_id), "type": str(event_type), "timestamp": at.isoformat(), "data": body}


def _endpoints_active() -> list[WebhookEndpoint]:
    """Return the active endpoints, by name."""
    # Every filing asks, mostly to find none: written out, as building the ORM's query costs more than its round trip.
    quote = connection.ops.quote_name
    return list(
        WebhookEndpoint.objects.raw(
            f"SELECT * FROM {quote(WebhookEndpoint._meta.db_table)} WHERE {quote('active')} = %s "  # noqa: S608
            f"ORDER BY {quote('name')}, {quote('id')}",
            [True],
        )
    )


def webhook_event_emit(
    *, event_type: str, request: Request | None, data: dict | None = None, at: datetime | None = None
) -> list[int]:
    """Record a delivery of ``event_type`` per subscribed endpoint, in the caller's transaction; send them on commit."""
    endpoints = [endpoint for endpoint in _endpoints_active() if endpoint.subscribes(event_type)]
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    payload = event_payload(
        event_id=event_id, event_type=event_type, at=at or timezone.now(), request=request, data=data or {}
    )
    created = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload)
        for endpoint in endpoints
    )
    ids = [delivery.pk for delivery in created]
    deliveries_dispatch_on_commit(ids)
    return ids


def delivery_task() -> str | None:
    """Return the task the registered delivery starter records a "go" for, or None if it records none."""
    return getattr(_delivery_starter, "task", None)


def deliveries_dispatch_on_commit(delivery_ids: list[int]) -> None:
    """Send a "go" for each delivery once the transaction that recorded it commits."""
    starter = _delivery_starter
    if starter is None:
        return
    for delivery_id in delivery_ids:
        starter(delivery_id)


def webhook_test_send(*, endpoint: WebhookEndpoint, actor) -> WebhookDelivery:
    """Send the endpoint a test event (signed like every other) and return its delivery."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not endpoint.active:
            raise WebhookError(_("Endpoint %(name)s is not active.") % {"name": endpoint.name})
        event_id = uuid.uuid4()
        payload = event_payload(
            event_id=event_id, event_type=WebhookEvent.TEST, at=timezone.now(), request=None, data={}
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, event_type=WebhookEvent.TEST, payload=payload
        )
        audit_record(
            actor=actor, action=AuditAction.WEBHOOK_TEST_SENT, data={"endpoint": endpoint.pk, "delivery": delivery.pk}
        )
        deliveries_dispatch_on_commit([delivery.pk])
    return delivery


def webhook_delivery_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery's event again as a new series of attempts (same webhook-id, so receivers can deduplicate)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        if not endpoint.active:
            raise WebhookError(_("Endpoint %(name)s is not active.") % {"name": endpoint.name})
        again = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            payload=delivery.payload,
            resent_from=delivery,
        )
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_RESENT,
            data={"endpoint": endpoint.pk, "delivery": delivery.pk, "new_delivery": again.pk},
        )
        deliveries_dispatch_on_commit([again.pk])
    return again


# --- Delivery -----------------------------------------------------------------------


@dataclass
class DeliveryOutcome:
    """What one attempt came to; ``retry_in`` is the backoff in seconds before the next attempt."""

    status: str
    retry_in: float | None = None


def delivery_backoff(attempts: int) -> float:
    """Return the seconds to wait after the ``attempts``-th failed attempt: doubling, at most an hour."""
    return min(settings.DSR_WEBHOOK_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 3600)


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.DSR_WEBHOOK_TIMEOUT_SECONDS + 60)


def webhook_delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> DeliveryOutcome:
    """Claim a due delivery, POST it signed, and record the outcome; a failure is retried with backoff.

    2xx is delivered. 410 Gone means the receiver is gone for good: the delivery
    fails and the endpoint is switched off. Anything else (another status, a
    timeout, no connection) is tried again until DSR_WEBHOOK_MAX_ATTEMPTS.
    """
    now = now or timezone.now()
    lease = _lease(now)
    # Compare-and-set: one worker sends an attempt; if it dies, the lease runs out and the reconciler resends.
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return DeliveryOutcome("skipped")
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        _delivery_record(delivery, status=DeliveryStatus.FAILED, code=None, error="the endpoint is not active")
        return DeliveryOutcome(DeliveryStatus.FAILED)
    try:
        secret = endpoint_secret(endpoint)
    except crypto.InvalidToken:
        # Sealed under a key no longer in DSR_MESSAGE_KEYS: no attempt can be signed until staff rotate the secret.
        error = "the signing secret cannot be unsealed (a message key dropped from DSR_MESSAGE_KEYS?): rotate it"
        _delivery_record(delivery, status=DeliveryStatus.FAILED, code=None, error=error)
        logger.error("webhook delivery %s: the endpoint %s's secret cannot be unsealed", delivery.pk, endpoint.pk)
        return DeliveryOutcome(DeliveryStatus.FAILED)
    body = payload_body(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(
            secret=secret, message_id=str(delivery.event_id), timestamp=int(timezone.now().timestamp()), body=body
        ),
    }
    timeout = settings.DSR_WEBHOOK_TIMEOUT_SECONDS
    code = None
    try:
        # No redirects: a signed event goes only to the address staff registered.
        response = http.post(endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except http.Timeout:
        error = f"no answer within {timeout:g} seconds"
    except http.RequestException as exc:
        error = f"could not connect ({type(exc).__name__})"
    else:
        code = response.status_code
        response.close()
        if 200 <= code < 300:
            _delivery_record(
                delivery, status=DeliveryStatus.DELIVERED, code=code, error="", delivered_at=timezone.now()
            )
            return DeliveryOutcome(DeliveryStatus.DELIVERED)
        error = f"the endpoint answered HTTP {code}"
        if code == 410:
            _delivery_record(delivery, status=DeliveryStatus.FAILED, code=code, error=error)
            _endpoint_deactivate(endpoint, delivery)
            return DeliveryOutcome(DeliveryStatus.FAILED)
    attempts = delivery.attempts
    if attempts >= settings.DSR_WEBHOOK_MAX_ATTEMPTS:
        logger.warning("webhook delivery %s failed for good after %s attempts", delivery.pk, attempts)
        _delivery_record(delivery, status=DeliveryStatus.FAILED, code=code, error=f"{error} (attempt {attempts})")
        return DeliveryOutcome(DeliveryStatus.FAILED)
    delay = delivery_backoff(attempts)
    _delivery_record(
        delivery,
        status=DeliveryStatus.PENDING,
        code=code,
        error=f"{error} (attempt {attempts})",
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    logger.info("webhook delivery %s: %s, retrying in %ss", delivery.pk, error, delay)
    return DeliveryOutcome(DeliveryStatus.PENDING, retry_in=delay)


def _delivery_record(delivery: WebhookDelivery, *, status: str, code: int | None, error: str, **values) -> None:
    values.setdefault("next_attempt_at", None)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, last_response_code=code, last_error=error[:255], **values
    )


def _endpoint_deactivate(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> None:
    with transaction.atomic():
        if WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False):
            audit_record(
                actor=Actor.system(),
                action=AuditAction.WEBHOOK_ENDPOINT_DEACTIVATED,
                data={"endpoint": endpoint.pk, "delivery": delivery.pk, "code": 410},
            )


def deliveries_reconcile(*, now: datetime | None = None) -> int:
    """Re-send the "go" for pending deliveries that are due (a lost message, an attempt whose worker died)."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(created_at__lte=now - timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS))
        .values_list("pk", flat=True)[:1000]
    )
    if _delivery_starter is not None:
        for delivery_id in ids:
            _delivery_starter(delivery_id)
    return len(ids)


# --- The deadline-near sweep -------------------------------------------------------


def requests_flag_deadline_near(*, today: date | None = None) -> int:
    """Record "deadline near" once per open request due within DSR_REMINDER_DAYS_BEFORE days (GDPR Art. 12(3)).

    The audit event is the record that it was said: a request already flagged is
    not flagged again, even if its deadline later moves.
    """
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.DSR_REMINDER_DAYS_BEFORE)
    candidates = (
        Request.objects.filter(status__in=_CLOCK_RUNNING)
        .filter(Q(extended_due_date__isnull=True, due_date__lte=horizon) | Q(extended_due_date__lte=horizon))
        .exclude(audit_events__action=DEADLINE_NEAR_ACTION)
        .values_list("pk", flat=True)
    )
    flagged = 0
    for request_id in list(candidates[:1000]):
        with transaction.atomic():
            request = Request.objects.select_for_update().get(pk=request_id)
            if (
                request.status not in _CLOCK_RUNNING
                or request.audit_events.filter(action=DEADLINE_NEAR_ACTION).exists()
            ):
                continue
            deadline = request_deadline(request, today=today)
            if deadline.clock_stopped or deadline.days_left > settings.DSR_REMINDER_DAYS_BEFORE:
                continue
            data = {"days_left": deadline.days_left, "due_date": deadline.effective_due.isoformat()}
            audit_record(actor=Actor.system(), action=DEADLINE_NEAR_ACTION, request=request, data=data)
            webhook_event_emit(event_type=WebhookEvent.REQUEST_DEADLINE_NEAR, request=request, data=data)
            flagged += 1
    return flagged

"""GDPR Art. 20(2): send the portability export directly to another controller the person named.

When a portability bundle is released (dsr.exports.delivery.bundle_release) and
the person asked for it, the receiving controller gets a link of its own to the
bundle: a random token kept only as its SHA-256, valid DSR_TRANSMISSION_LINK_DAYS
for DSR_TRANSMISSION_DOWNLOAD_LIMIT downloads, counted and audited apart from
the person's. The link goes by email (kind ``transmission``) or as a JSON notice
POSTed to the receiver's HTTPS endpoint, signed per Standard Webhooks, retried
with backoff: never the data itself, only the link, its expiry and the ZIP's
SHA-256. It counts as sent only when the email went out or the endpoint
answered 2xx; the person is told what happened (kind ``transmission_outcome``).
Staff may decline where sending is not technically feasible, with reasons; the
person then still has their own download.
"""

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests as http
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import crypto, emails
from dsr.audit import Actor, audit_record
from dsr.exports.integrity import bundle_damaged_recorded, bundle_plaintext
from dsr.models import (
    AuditAction,
    Bundle,
    BundleStatus,
    Message,
    MessageStatus,
    Request,
    Right,
    Transmission,
    TransmissionChannel,
    TransmissionStatus,
)
from dsr.requests import endpoint_url_problem
from dsr.storage import bundle_storage
from dsr.storage.sealing import sealed_open
from dsr.webhooks import SECRET_PREFIX, delivery_backoff, payload_body, signature_headers

logger = logging.getLogger(__name__)

SEAL_PURPOSE = "transmission-token"
NOTICE_TYPE = "portability.transmission"
USER_AGENT = "dsr-transmission/1"
# The receiving controller as the audit trail names it when it downloads: an outside system, never by name.
RECEIVER = "transmission-receiver"
# Why the receiver's link does not work; "unknown" covers wrong tokens and links that never went out.
UNKNOWN, EXPIRED, USED_UP, PURGED, DAMAGED = "unknown", "expired", "used_up", "purged", "damaged"
# Sends the "go" for one endpoint attempt (dsr.tasks.transmission_attempt.delay), registered by dsr.apps.
_attempt_starter: Callable[[int], object] | None = None


class TransmissionError(Exception):
    """A transmission action that cannot be done as asked; str() says why, in the active language."""


class TransmissionRefused(Exception):
    """The receiver's link cannot give the file now; ``code`` says why."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def attempt_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that sends an endpoint attempt's "go" signal (the Celery task's ``delay``)."""
    global _attempt_starter
    _attempt_starter = starter


def _attempt_on_commit(transmission_id: int) -> None:
    starter = _attempt_starter
    if starter is not None:
        starter(transmission_id)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def transmission_signing_secret() -> str:
    """Return the Standard Webhooks secret signing endpoint notices: the setting, or one derived from SECRET_KEY."""
    if settings.DSR_TRANSMISSION_SIGNING_SECRET:
        return settings.DSR_TRANSMISSION_SIGNING_SECRET
    key = hmac.new(settings.SECRET_KEY.encode(), b"dsr-transmission-signing", hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(key).decode()


def transmission_of(request: Request) -> Transmission | None:
    """Return the request's transmission, or None (none asked for, or not yet released nor declined)."""
    if request.right != Right.PORTABILITY:
        # Only a portability request is ever given one (transmit_to_asked): every completion email asks.
        return None
    return Transmission.objects.filter(request=request).select_related("bundle").first()


def transmit_to_asked(request: Request) -> dict | None:
    """Return the receiving controller the person named on a portability request, or None."""
    if request.right != Right.PORTABILITY:
        return None
    return (request.details or {}).get("transmit_to") or None


def _new(request: Request, target: dict) -> Transmission:
    return Transmission(
        request=request,
        recipient_name=target["name"][:200],
        recipient_email=target.get("email", ""),
        recipient_url=target.get("url", ""),
        channel=TransmissionChannel.EMAIL if target.get("email") else TransmissionChannel.ENDPOINT,
    )


def _link_arm(transmission: Transmission, bundle: Bundle, *, now: datetime) -> str:
    """Give the transmission a new link to ``bundle`` and return its token (the one place it exists)."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=settings.DSR_TRANSMISSION_LINK_DAYS)
    if bundle.expires_at and bundle.expires_at < expires:
        expires = bundle.expires_at
    transmission.bundle = bundle
    transmission.token_hash = token_hash(token)
    transmission.expires_at = expires
    transmission.max_downloads = settings.DSR_TRANSMISSION_DOWNLOAD_LIMIT
    transmission.downloads = 0
    return token


def _send(transmission: Transmission, token: str) -> None:
    """Queue the email or the endpoint's first attempt (after commit)."""
    if transmission.channel == TransmissionChannel.EMAIL:
        message = emails.email_transmission(transmission.request, transmission_id=transmission.pk, token=token)
        transmission.message = message
        transmission.save(update_fields=["message"])
    else:
        transmission.sealed_token = crypto.seal({"token": token}, purpose=SEAL_PURPOSE)
        transmission.save(update_fields=["sealed_token"])
        _attempt_on_commit(transmission.pk)


def transmission_start(*, request: Request, bundle: Bundle, now: datetime) -> Transmission | None:
    """Send the receiving controller its link to the released bundle, if the person asked (GDPR Art. 20(2)).

    Called inside the release's transaction. Return the transmission, or None when none was asked for;
    one the privacy team declined is left as it is.
    """
    target = transmit_to_asked(request)
    if target is None:
        return None
    existing = Transmission.objects.filter(request=request).first()
    if existing is not None:
        return existing
    transmission = _new(request, target)
    token = _link_arm(transmission, bundle, now=now)
    transmission.save()
    audit_record(
        actor=Actor.system(),
        action=AuditAction.TRANSMISSION_STARTED,
        request=request,
        data={"transmission": transmission.pk, "bundle": bundle.pk, "channel": transmission.channel},
    )
    _send(transmission, token)
    return transmission


# --- Outcomes -------------------------------------------------------------------------


def _settle(transmission_id: int, *, status: str, now: datetime, error: str = "", code: int | None = None) -> bool:
    """Record that the transmission was sent or failed for good, audit it and tell the person; once."""
    with transaction.atomic():
        transmission = Transmission.objects.select_for_update().select_related("request").get(pk=transmission_id)
        if transmission.status != TransmissionStatus.PENDING:
            return False
        transmission.status = status
        transmission.settled_at = now
        transmission.sealed_token = ""
        fields = ["status", "settled_at", "sealed_token"]
        if status == TransmissionStatus.SENT:
            transmission.sent_at = now
            fields.append("sent_at")
        else:
            # The receiver never got the link: it must not work if it turns up anyway.
            transmission.expires_at = now
            transmission.last_error = error[:255]
            transmission.last_response_code = code
            fields += ["expires_at", "last_error", "last_response_code"]
        transmission.save(update_fields=fields)
        action = AuditAction.TRANSMISSION_SENT if status == TransmissionStatus.SENT else AuditAction.TRANSMISSION_FAILED
        audit_record(
            actor=Actor.system(),
            action=action,
            request=transmission.request,
            data={"transmission": transmission.pk, "channel": transmission.channel, "code": code},
        )
        if not transmission.request.purged_at:
            emails.email_transmission_outcome(transmission.request)
    return True


def transmission_message_settled(*, message_id: int, now: datetime | None = None) -> bool:
    """Settle the emailed transmission whose message went out or failed; return whether one changed."""
    message = Message.objects.filter(pk=message_id, kind="transmission").only("status", "sent_at", "last_error").first()
    if message is None or message.status == MessageStatus.QUEUED:
        return False
    transmission = Transmission.objects.filter(message_id=message_id, status=TransmissionStatus.PENDING).first()
    if transmission is None:
        return False
    if message.status == MessageStatus.SENT:
        return _settle(transmission.pk, status=TransmissionStatus.SENT, now=message.sent_at or now or timezone.now())
    return _settle(
        transmission.pk,
        status=TransmissionStatus.FAILED,
        now=now or timezone.now(),
        error=f"the email could not be sent ({message.last_error})",
    )


def transmissions_sync(*, now: datetime | None = None) -> int:
    """Settle emailed transmissions whose messages went out or failed (if the task's own call was lost)."""
    pending = Transmission.objects.filter(
        channel=TransmissionChannel.EMAIL, status=TransmissionStatus.PENDING, message__isnull=False
    ).exclude(message__status=MessageStatus.QUEUED)
    return sum(
        transmission_message_settled(message_id=message_id, now=now)
        for message_id in list(pending.values_list("message_id", flat=True)[:500])
    )


# --- The endpoint's notice ------------------------------------------------------------


@dataclass
class AttemptOutcome:
    """What one attempt came to; ``retry_in`` is the backoff in seconds before the next one."""

    status: str
    retry_in: float | None = None


def bundle_plain_sha256(bundle: Bundle) -> str:
    """Return the SHA-256 of the bundle's ZIP as a receiver downloads it (decrypted, authenticated)."""
    digest = hashlib.sha256()
    with sealed_open(bundle_storage().open(bundle.storage_name, "rb"), size=bundle.size) as reader:
        while chunk := reader.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def notice_payload(transmission: Transmission, *, token: str, at: datetime) -> dict:
    """Return the notice POSTed to the receiver: where and until when to download, and the ZIP's checksum."""
    return {
        "id": f"transmission-{transmission.pk}-{transmission.token_hash[:12]}",
        "type": NOTICE_TYPE,
        "timestamp": at.isoformat(),
        "data": {
            "sender": emails.controller_context()["name"],
            "reference": transmission.request.reference,
            "download_url": emails.absolute_url(reverse("dsr:transmission_download", kwargs={"token": token})),
            "expires_at": transmission.expires_at.isoformat(),
            "max_downloads": transmission.max_downloads,
            "content_type": "application/zip",
            "size": transmission.bundle.plain_size,
            "sha256": transmission.bundle_sha256,
        },
    }


def transmission_attempt(*, transmission_id: int, now: datetime | None = None) -> AttemptOutcome:
    """Claim a due endpoint transmission, POST its signed notice, and record the outcome; retry with backoff.

    2xx is sent. An address that is not (or no longer) a public HTTPS one, or 410 Gone, fails at once;
    anything else is tried again until DSR_WEBHOOK_MAX_ATTEMPTS.
    """
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.DSR_WEBHOOK_TIMEOUT_SECONDS + 60)
    claimed = (
        Transmission.objects.filter(
            pk=transmission_id, status=TransmissionStatus.PENDING, channel=TransmissionChannel.ENDPOINT
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return AttemptOutcome("skipped")
    transmission = Transmission.objects.select_related("request", "bundle").get(pk=transmission_id)
    problem = endpoint_url_problem(transmission.recipient_url)
    if problem or transmission.bundle is None or transmission.bundle.status != BundleStatus.RELEASED:
        error = "the address is not a public HTTPS address" if problem else "the export is no longer there"
        _settle(transmission.pk, status=TransmissionStatus.FAILED, now=timezone.now(), error=error)
        return AttemptOutcome(TransmissionStatus.FAILED)
    if not transmission.bundle_sha256:
        transmission.bundle_sha256 = bundle_plain_sha256(transmission.bundle)
        Transmission.objects.filter(pk=transmission.pk).update(bundle_sha256=transmission.bundle_sha256)
    token = crypto.unseal(transmission.sealed_token, purpose=SEAL_PURPOSE)["token"]
    payload = notice_payload(transmission, token=token, at=timezone.now())
    body = payload_body(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(
            secret=transmission_signing_secret(),
            message_id=payload["id"],
            timestamp=int(timezone.now().timestamp()),
            body=body,
        ),
    }
    timeout = settings.DSR_WEBHOOK_TIMEOUT_SECONDS
    code = None
    try:
        # No redirects: the notice goes only to the address the person gave, which was checked above.
        response = http.post(
            transmission.recipient_url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except http.Timeout:
        error = f"no answer within {timeout:g} seconds"
    except http.RequestException as exc:
        error = f"could not connect ({type(exc).__name__})"
    else:
        code = response.status_code
        response.close()
        if 200 <= code < 300:
            _settle(transmission.pk, status=TransmissionStatus.SENT, now=timezone.now(), code=code)
            return AttemptOutcome(TransmissionStatus.SENT)
        error = f"the endpoint answered HTTP {code}"
    attempts = transmission.attempts
    if code == 410 or attempts >= settings.DSR_WEBHOOK_MAX_ATTEMPTS:
        _settle(
            transmission.pk,
            status=TransmissionStatus.FAILED,
            now=timezone.now(),
            error=f"{error} (attempt {attempts})",
            code=code,
        )
        return AttemptOutcome(TransmissionStatus.FAILED)
    # The same backoff as a webhook delivery to the same kind of endpoint.
    delay = delivery_backoff(attempts)
    Transmission.objects.filter(pk=transmission.pk).update(
        last_error=f"{error} (attempt {attempts})"[:255],
        last_response_code=code,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    logger.info("transmission %s: %s, retrying in %ss", transmission.pk, error, delay)
    return AttemptOutcome(TransmissionStatus.PENDING, retry_in=delay)


def transmissions_reconcile(*, now: datetime | None = None) -> int:
    """Re-send the "go" for endpoint transmissions that are due and were not tried (a lost message)."""
    now = now or timezone.now()
    ids = list(
        Transmission.objects.filter(status=TransmissionStatus.PENDING, channel=TransmissionChannel.ENDPOINT)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(created_at__lte=now - timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS))
        .values_list("pk", flat=True)[:500]
    )
    if _attempt_starter is not None:
        for transmission_id in ids:
            _attempt_starter(transmission_id)
    return len(ids)


# --- Staff: decline, or send again -------------------------------------------------------


def transmission_decline(*, request: Request, reasons: str, actor: Actor) -> Transmission:
    """Decline to send the person's data to the controller they named, with reasons (GDPR Art. 20(2)).

    "Where technically feasible": the person is told why and keeps their own download. Possible before
    the export is released, and after a transmission failed; not once a link may have reached the receiver.
    """
    reasons = (reasons or "").strip()
    if not reasons:
        raise TransmissionError(_("Give the reasons: the person is told them."))
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        target = transmit_to_asked(request)
        transmission = Transmission.objects.select_for_update().filter(request=request).first()
        if transmission is None and target is None:
            raise TransmissionError(_("The person did not ask for their data to be sent to another company."))
        if transmission is None:
            transmission = _new(request, target)
        elif transmission.status == TransmissionStatus.DECLINED:
            raise TransmissionError(_("Sending to this company was already declined."))
        elif transmission.status == TransmissionStatus.SENT or (
            transmission.status == TransmissionStatus.PENDING and transmission.channel == TransmissionChannel.EMAIL
        ):
            raise TransmissionError(_("The link has already been sent, or is being sent, to the company."))
        released = transmission.bundle_id is not None
        now = timezone.now()
        transmission.status = TransmissionStatus.DECLINED
        transmission.decline_reasons = reasons[:5000]
        transmission.settled_at = now
        transmission.sealed_token = ""
        if transmission.expires_at:
            transmission.expires_at = now
        transmission.save()
        audit_record(
            actor=actor,
            action=AuditAction.TRANSMISSION_DECLINED,
            request=request,
            data={"transmission": transmission.pk, "released": released},
        )
        if released and not request.purged_at:
            # The completion email went before this: the person is told now. Before release, it says so itself.
            emails.email_transmission_outcome(request)
    return transmission


def transmission_retry(*, transmission: Transmission, actor: Actor) -> Transmission:
    """Send a failed transmission again, with a new link; the old one keeps not working."""
    now = timezone.now()
    with transaction.atomic():
        transmission = (
            Transmission.objects.select_for_update(of=("self",))
            .select_related("request", "bundle")
            .get(pk=transmission.pk)
        )
        if transmission.status != TransmissionStatus.FAILED:
            raise TransmissionError(_("Only a transmission that failed can be sent again."))
        bundle = transmission.bundle
        if bundle is None or bundle.status != BundleStatus.RELEASED or (bundle.expires_at and bundle.expires_at <= now):
            raise TransmissionError(_("The export is no longer there to send; it was deleted when it expired."))
        token = _link_arm(transmission, bundle, now=now)
        transmission.status = TransmissionStatus.PENDING
        transmission.attempts = 0
        transmission.next_attempt_at = None
        transmission.last_error = ""
        transmission.last_response_code = None
        transmission.settled_at = None
        transmission.save()
        audit_record(
            actor=actor,
            action=AuditAction.TRANSMISSION_RETRIED,
            request=transmission.request,
            data={"transmission": transmission.pk, "channel": transmission.channel},
        )
        _send(transmission, token)
    return transmission


# --- The receiver's download ---------------------------------------------------------------


def transmission_by_token(token: str) -> Transmission | None:
    """Return the transmission whose link has this token, or None; looked up by hash."""
    if not token or len(token) > 100:
        return None
    found = Transmission.objects.select_related("bundle", "request").filter(token_hash=token_hash(token)).first()
    return found if found is not None and found.bundle_id else None


def transmission_link_problem(transmission: Transmission, *, now: datetime | None = None) -> str | None:
    """Return why the receiver's link cannot download now, or None when it can."""
    now = now or timezone.now()
    bundle = transmission.bundle
    if bundle is None or transmission.status in (TransmissionStatus.DECLINED,):
        return UNKNOWN
    if bundle.status == BundleStatus.PURGED or bundle.purged_at:
        return PURGED
    if bundle.status != BundleStatus.RELEASED:
        return UNKNOWN
    if transmission.expires_at is None or transmission.expires_at <= now:
        return EXPIRED
    if transmission.downloads >= transmission.max_downloads:
        return USED_UP
    return None


@dataclass
class ReceiverDownload:
    """An authorised download by the receiver: the plaintext ZIP's chunks, its size and its file name."""

    chunks: Iterator[bytes]
    size: int
    filename: str


def transmission_download(*, transmission: Transmission, now: datetime | None = None) -> ReceiverDownload:
    """Count and audit one download by the receiving controller; raise TransmissionRefused if it cannot happen."""
    now = now or timezone.now()
    with transaction.atomic():
        transmission = (
            Transmission.objects.select_for_update(of=("self",))
            .select_related("bundle", "request")
            .get(pk=transmission.pk)
        )
        problem = transmission_link_problem(transmission, now=now)
        if problem:
            raise TransmissionRefused(problem)
        bundle = transmission.bundle
        damaged = bundle_damaged_recorded(bundle)
        if not damaged:
            count = transmission.downloads + 1
            Transmission.objects.filter(pk=transmission.pk).update(downloads=count, last_download_at=now)
            audit_record(
                actor=Actor.integration(RECEIVER),
                action=AuditAction.TRANSMISSION_DOWNLOADED,
                request=bundle.request,
                data={"transmission": transmission.pk, "bundle": bundle.pk, "download": count},
            )
    if damaged:
        logger.error("bundle %s does not match its recorded checksum; the receiver's download refused", bundle.pk)
        raise TransmissionRefused(DAMAGED)
    return ReceiverDownload(
        chunks=bundle_plaintext(bundle), size=bundle.plain_size, filename=f"{bundle.request.reference}.zip"
    )


def transmission_message_context(*, kind: str, request: Request, secret: dict) -> tuple[dict, list[str] | None]:
    """Return what a message says about the request's transmission, and its addressee if not the person."""
    transmission = transmission_of(request)
    if transmission is None:
        return {}, None
    context: dict = {"transmission": transmission, "transmission_problem": transmission_problem_text(transmission)}
    if kind == "transmission":
        token = secret["token"]
        context.update(
            download_url=emails.absolute_url(reverse("dsr:transmission_download", kwargs={"token": token})),
        )
        return context, [transmission.recipient_email]
    return context, None


def transmission_problem_text(transmission: Transmission) -> str:
    """Return, in the active language, what went wrong with a failed transmission, from what was recorded."""
    if transmission.status != TransmissionStatus.FAILED:
        return ""
    if transmission.channel == TransmissionChannel.EMAIL:
        return _("our email to them could not be delivered")
    if transmission.last_response_code:
        return _("their system answered with an error (HTTP %(code)s)") % {"code": transmission.last_response_code}
    if transmission.last_error.startswith("the address"):
        return _("the address you gave is not a public HTTPS address")
    if transmission.last_error.startswith("the export"):
        return _("your copy had already been deleted")
    return _("we could not reach their system")

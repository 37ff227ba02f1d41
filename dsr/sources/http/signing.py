"""Signing OpenGDPR calls and verifying processors' callbacks: HMAC-SHA256 over timestamp, event id and body.

A callback's signature also covers an event id the processor gives each
callback (``t=<unix seconds>,id=<event id>,v1=<hex HMAC of "t.id.body">``), so
a replay is recognised by what was signed (source, timestamp, signature; source,
event id), never by how the header happens to be spelled.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from dsr.sources.base import SignatureInvalid

STATUSES = ("pending", "in_progress", "completed", "cancelled")
SIGNATURE_HEADER = "X-OpenGDPR-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_EVENT_ID_LENGTH = 100
_HEADER_PARTS = ("t", "id")


@dataclass(frozen=True)
class Signed:
    """What a verified signature covered: its timestamp, its event id ("" for calls without one) and the HMAC."""

    timestamp: int
    event_id: str
    digest: str


def _hmac(secret: str, body: bytes, *, timestamp: int, event_id: str | None) -> str:
    signed = f"{timestamp}.{event_id}." if event_id is not None else f"{timestamp}."
    return hmac.new(secret.encode(), signed.encode() + body, hashlib.sha256).hexdigest()


def signature_make(secret: str, body: bytes, *, timestamp: int, event_id: str | None = None) -> str:
    """Return the signature header value for ``body`` sent at ``timestamp`` (Unix seconds), as event ``event_id``."""
    digest = _hmac(secret, body, timestamp=timestamp, event_id=event_id)
    if event_id is None:
        return f"t={timestamp},v1={digest}"
    return f"t={timestamp},id={event_id},v1={digest}"


def _header_parse(header: str) -> tuple[dict[str, str], list[str]]:
    """Return the header's single-valued parts and its v1 values; spacing and order do not matter."""
    parts: dict[str, str] = {}
    signatures: list[str] = []
    for part in header.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            raise SignatureInvalid("malformed signature")
        if name == "v1":
            signatures.append(value)
        elif name in _HEADER_PARTS:
            # Two timestamps or two ids: which one was signed is ambiguous, so neither is believed.
            if name in parts:
                raise SignatureInvalid("malformed signature")
            parts[name] = value
    return parts, signatures


def signature_verify(
    secret: str, body: bytes, header: str | None, *, now: float, event_id_required: bool = False
) -> Signed:
    """Check ``header`` against ``body`` in constant time; return what it signed or raise SignatureInvalid."""
    if not header:
        raise SignatureInvalid("no signature")
    parts, signatures = _header_parse(header)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise SignatureInvalid("malformed signature") from None
    event_id = parts.get("id")
    event_id_bad = not event_id or len(event_id) > MAX_EVENT_ID_LENGTH or not event_id.isprintable()
    if event_id_required and event_id_bad:
        raise SignatureInvalid("no event id (id=) in the signature, or one that is too long")
    # A replayed callback is refused once its timestamp is older than the tolerance.
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureInvalid("stale signature")
    expected = _hmac(secret, body, timestamp=timestamp, event_id=event_id).encode()
    for given in signatures:
        # As bytes: compare_digest refuses str with non-ASCII characters, and a header may carry any.
        if hmac.compare_digest(expected, given.lower().encode("utf-8", "replace")):
            return Signed(timestamp=timestamp, event_id=event_id or "", digest=expected.decode())
    raise SignatureInvalid("wrong signature")


def callback_parse(*, secret: str, body: bytes, signature: str | None, now: float | None = None) -> dict:
    """Verify a processor's status callback, then parse it; raise SignatureInvalid or ValueError.

    The returned document carries the verified signature under ``"_signed"`` (a Signed).
    """
    signed = signature_verify(secret, body, signature, now=time.time() if now is None else now, event_id_required=True)
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("subject_request_id"), str):
        raise ValueError("the callback has no subject_request_id")
    if data.get("request_status") not in STATUSES:
        raise ValueError("the callback has no valid request_status")
    return {**data, "_signed": signed}

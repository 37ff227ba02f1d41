"""Signing OpenGDPR calls and verifying processors' callbacks: HMAC-SHA256 over the timestamp and the body."""

import hashlib
import hmac
import json
import time

from dsr.sources.base import SignatureInvalid

STATUSES = ("pending", "in_progress", "completed", "cancelled")
SIGNATURE_HEADER = "X-OpenGDPR-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


def signature_make(secret: str, body: bytes, *, timestamp: int) -> str:
    """Return the signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(secret: str, body: bytes, header: str | None, *, now: float) -> None:
    """Check ``header`` against ``body`` in constant time; raise SignatureInvalid if it does not hold."""
    if not header:
        raise SignatureInvalid("no signature")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        raise SignatureInvalid("malformed signature") from None
    # A replayed callback is refused once its timestamp is older than the tolerance.
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise SignatureInvalid("stale signature")
    expected = signature_make(secret, body, timestamp=timestamp).split("v1=", 1)[1]
    # As bytes: compare_digest refuses str with non-ASCII characters, and a header may carry any.
    if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode("utf-8", "replace")):
        raise SignatureInvalid("wrong signature")


def callback_parse(*, secret: str, body: bytes, signature: str | None, now: float | None = None) -> dict:
    """Verify a processor's status callback, then parse it; raise SignatureInvalid or ValueError."""
    signature_verify(secret, body, signature, now=time.time() if now is None else now)
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("subject_request_id"), str):
        raise ValueError("the callback has no subject_request_id")
    if data.get("request_status") not in STATUSES:
        raise ValueError("the callback has no valid request_status")
    return data

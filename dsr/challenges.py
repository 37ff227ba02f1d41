"""The one-time code and link that prove control of the email address (GDPR Art. 12(6)).

A challenge carries a six-digit code and a link token, both random
(`secrets`); only their hashes are stored, and they expire. Checking them is
dsr.verification's work; issuing them happens when a request is filed
(dsr.workflow) and when the requester asks again. See docs/decisions/0003-tokens.md.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.models import AuditAction, Request, VerificationChallenge


def code_hash(reference: str, code: str) -> str:
    """Return the stored form of a code, keyed and bound to the request's reference.

    Keyed, because a six-digit code is trivially brute-forced from a plain hash. Bound to the reference, not
    the row's id, so that a filing can store it in the same statement that gives the request its id.
    """
    return hmac.new(settings.SECRET_KEY.encode(), f"dsr-code:{reference}:{code}".encode(), hashlib.sha256).hexdigest()


def code_hash_by_id(request_id: int, code: str) -> str:
    """Return a code's stored form as challenges issued before 2026-12-05 kept it (bound to the request's id).

    Such a challenge expires DSR_VERIFICATION_TTL_MINUTES after it was sent; until then its code still works.
    """
    return hmac.new(settings.SECRET_KEY.encode(), f"dsr-code:{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(*, reference: str, request_id: int, code: str, stored: str) -> bool:
    """Return whether ``code`` is the one whose stored form is ``stored``; both forms compared in constant time."""
    by_reference = hmac.compare_digest(code_hash(reference, code), stored)
    by_id = hmac.compare_digest(code_hash_by_id(request_id, code), stored)
    return by_reference or by_id


def link_hash(token: str) -> str:
    """Return the stored form of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def challenge_send(*, request: Request, first: bool = False) -> VerificationChallenge:
    """Issue a new code and link for the request, revoke older ones, and email them (after commit).

    With `first` (the request was just filed) there is nothing to revoke, and the
    filing's own audit event records the challenge.
    """
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        if not first:
            request.challenges.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
        challenge, code, token = challenge_new(request, now=now)
        challenge.save(force_insert=True)
        if not first:
            audit_record(
                actor=Actor.system(),
                action=AuditAction.VERIFICATION_SENT,
                request=request,
                data={"challenge_id": challenge.pk},
            )
        emails.email_verification(request, code=code, link_token=token)
    return challenge


def challenge_new(request: Request, *, now) -> tuple[VerificationChallenge, str, str]:
    """Return a new challenge for ``request`` (not saved), its code and its link token."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    token = secrets.token_urlsafe(32)
    challenge = VerificationChallenge(
        request=request,
        code_hash=code_hash(request.reference, code),
        link_token_hash=link_hash(token),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.DSR_VERIFICATION_TTL_MINUTES),
    )
    return challenge, code, token

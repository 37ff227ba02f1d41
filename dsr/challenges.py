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


def code_hash(request_id: int, code: str) -> str:
    """Return the stored form of a code: keyed, because six digits are trivially brute-forced from a plain hash."""
    # Keyed, because a six-digit code is trivially brute-forced from a plain hash.
    return hmac.new(settings.SECRET_KEY.encode(), f"dsr-code:{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def link_hash(token: str) -> str:
    """Return the stored form of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def challenge_send(*, request: Request, first: bool = False) -> VerificationChallenge:
    """Issue a new code and link for the request, revoke older ones, and email them (after commit).

    With `first` (the request was just filed) there is nothing to revoke, and the
    filing's own audit event records the challenge.
    """
    now = timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    token = secrets.token_urlsafe(32)
    with transaction.atomic(savepoint=False):
        if not first:
            request.challenges.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
        challenge = VerificationChallenge.objects.create(
            request=request,
            code_hash=code_hash(request.pk, code),
            link_token_hash=link_hash(token),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.DSR_VERIFICATION_TTL_MINUTES),
        )
        if not first:
            audit_record(
                actor=Actor.system(),
                action=AuditAction.VERIFICATION_SENT,
                request=request,
                data={"challenge_id": challenge.pk},
            )
        emails.email_verification(request, code=code, link_token=token)
    return challenge

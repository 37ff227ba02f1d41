"""Proof that the requester controls the email address (GDPR Art. 12(6); EDPB 01/2022 ¶58-79).

One challenge (dsr.challenges) carries a six-digit code and a link token.
Both are random (`secrets`), only their hashes are stored, they expire, the
code allows a few attempts, and a new challenge revokes the old one. Sending
is rate-limited.
The link's GET only shows a page; a POST verifies, because mail scanners
follow links. See docs/decisions/0003-tokens.md.
"""

import hmac
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.challenges import challenge_send, code_hash, link_hash
from dsr.models import AuditAction, Request, Status, VerificationChallenge, VerificationMethod
from dsr.workflow import request_verify


class VerificationError(Exception):
    """Raised when a code or link cannot verify; `code` says why, str() says it to a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def verification_resend(*, request: Request) -> None:
    """Send a fresh code and link, at most once a minute and a few times per request."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        if request.status != Status.PENDING_VERIFICATION:
            raise VerificationError("not_pending", _("This request does not need to be confirmed."))
        last = request.challenges.order_by("-created_at").first()
        interval = timedelta(seconds=settings.DSR_VERIFICATION_RESEND_INTERVAL_SECONDS)
        if last is not None and timezone.now() - last.created_at < interval:
            raise VerificationError("rate_limited", _("A code was sent a moment ago. Please wait a minute."))
        if request.challenges.count() >= settings.DSR_VERIFICATION_MAX_SENDS:
            raise VerificationError(
                "rate_limited", _("We have sent as many codes as we can for this request. Please contact us.")
            )
        challenge_send(request=request)


def _challenge_check(challenge: VerificationChallenge | None) -> None:
    if challenge is None:
        raise VerificationError("expired", _("This code has expired. Ask for a new one."))
    if challenge.used_at is not None:
        raise VerificationError("used", _("This link has already been used."))
    if challenge.revoked_at is not None:
        raise VerificationError("expired", _("A newer code has been sent. Use the latest email."))
    if timezone.now() >= challenge.expires_at:
        raise VerificationError("expired", _("This code has expired. Ask for a new one."))
    if challenge.attempts >= settings.DSR_VERIFICATION_MAX_ATTEMPTS:
        raise VerificationError("locked", _("Too many wrong codes. Ask for a new code."))


def _request_pending(request: Request) -> None:
    if request.status != Status.PENDING_VERIFICATION:
        raise VerificationError("not_pending", _("This request has already been confirmed or closed."))


def verification_confirm_code(*, reference: str, code: str) -> Request:
    """Verify with the emailed code; a wrong code costs one of the allowed attempts."""
    code = (code or "").replace(" ", "").strip()
    request = Request.objects.filter(reference=(reference or "").strip().upper()[:32]).first()
    if request is None:
        raise VerificationError("invalid", _("The code is not correct."))
    if not (len(code) == 6 and code.isdigit()):
        raise VerificationError("invalid", _("The code is the six digits from the email."))
    _request_pending(request)
    with transaction.atomic():
        challenge = (
            request.challenges.select_for_update()
            .filter(used_at__isnull=True, revoked_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        _challenge_check(challenge)
        challenge.attempts += 1
        matched = hmac.compare_digest(code_hash(request.pk, code), challenge.code_hash)
        if matched:
            challenge.used_at = timezone.now()
        challenge.save(update_fields=["attempts", "used_at"])
        if not matched:
            audit_record(
                actor=Actor.subject(),
                action=AuditAction.VERIFICATION_FAILED,
                request=request,
                data={"challenge_id": challenge.pk, "attempts": challenge.attempts},
            )
    # Outside the block so the counted attempt is kept when we refuse.
    if not matched:
        left = settings.DSR_VERIFICATION_MAX_ATTEMPTS - challenge.attempts
        if left <= 0:
            raise VerificationError("locked", _("Too many wrong codes. Ask for a new code."))
        raise VerificationError("invalid", _("The code is not correct. %(left)d attempts left.") % {"left": left})
    return request_verify(request=request, method=VerificationMethod.EMAIL_CODE, actor=Actor.subject())


def _challenge_by_link(token: str) -> VerificationChallenge:
    if not token or len(token) > 100:
        raise VerificationError("invalid", _("This link is not valid."))
    challenge = VerificationChallenge.objects.select_related("request").filter(link_token_hash=link_hash(token)).first()
    if challenge is None:
        raise VerificationError("invalid", _("This link is not valid."))
    return challenge


def verification_link_request(*, token: str) -> Request:
    """Return the request an emailed link belongs to, without using the link (for the GET page)."""
    challenge = _challenge_by_link(token)
    if challenge.used_at is not None and challenge.request.status != Status.PENDING_VERIFICATION:
        raise VerificationError("used", _("Your request has already been confirmed."))
    _request_pending(challenge.request)
    _challenge_check(challenge)
    return challenge.request


def verification_confirm_link(*, token: str) -> Request:
    """Verify with the emailed link (the POST behind the page's button)."""
    with transaction.atomic():
        challenge = _challenge_by_link(token)
        challenge = VerificationChallenge.objects.select_for_update().select_related("request").get(pk=challenge.pk)
        if challenge.used_at is not None and challenge.request.status != Status.PENDING_VERIFICATION:
            raise VerificationError("used", _("Your request has already been confirmed."))
        _request_pending(challenge.request)
        _challenge_check(challenge)
        challenge.used_at = timezone.now()
        challenge.save(update_fields=["used_at"])
        return request_verify(request=challenge.request, method=VerificationMethod.EMAIL_LINK, actor=Actor.subject())

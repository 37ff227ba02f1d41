"""Proof that the requester controls the email address (GDPR Art. 12(6); EDPB 01/2022 ¶58-79).

One challenge (dsr.challenges) carries a six-digit code and a link token.
Both are random (`secrets`), only their hashes are stored, they expire, the
code allows a few attempts, and a new challenge revokes the old one. Sending
is rate-limited.
The link's GET only shows a page; a POST verifies, because mail scanners
follow links. See docs/decisions/0003-tokens.md.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.challenges import challenge_send, code_hash, code_matches, link_hash
from dsr.models import AuditAction, Request, Status, VerificationChallenge, VerificationMethod
from dsr.ratelimit import rate_limit_count, rate_limit_count_one, rate_parse
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


_CODE_FAILURES = "code-fail-email"


@contextmanager
def answer_no_sooner(seconds: float) -> Iterator[None]:
    """Let the answer leave no sooner than `seconds` after the start, whichever way it went (no timing oracle)."""
    started = time.monotonic()
    try:
        yield
    finally:
        left = seconds - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)


def _wrong_code(attempts: int) -> VerificationError:
    left = settings.DSR_VERIFICATION_MAX_ATTEMPTS - attempts
    if left <= 0:
        return VerificationError("locked", _("Too many wrong codes. Ask for a new code."))
    return VerificationError("invalid", _("The code is not correct. %(left)d attempts left.") % {"left": left})


def _unknown_key(reference: str) -> str:
    return f"dsr:verify-unknown:{code_hash('0', reference)}"


def verification_resend_unknown(*, reference: str) -> None:
    """Do for an unknown reference what a new code does for a known one: the attempts start again."""
    cache.delete(_unknown_key((reference or "").strip().upper()[:32]))


def _unknown_reference_attempt(reference: str, code: str) -> VerificationError:
    # The same work and the same answer as a wrong code for a request we hold (decision 0003): the
    # attempts are counted per reference for as long as a code lives, so even "locked" comes on time.
    code_matches(reference="0", request_id=0, code=code, stored=code_hash("0", "000000"))
    key = _unknown_key(reference)
    cache.add(key, 0, timeout=settings.DSR_VERIFICATION_TTL_MINUTES * 60)
    try:
        attempts = cache.incr(key)
    except ValueError:
        attempts = 1
    return _wrong_code(attempts)


def code_failures_capped(email: str) -> bool:
    """Return True when the wrong codes for this address, over all its requests, reached the cap."""
    return rate_limit_count(scope=_CODE_FAILURES, key=email, rate=settings.DSR_CODE_FAILURES_PER_EMAIL) >= (
        _code_failure_cap()
    )


def _code_failure_cap() -> int:
    return rate_parse(settings.DSR_CODE_FAILURES_PER_EMAIL).count


def _code_failure_record(request: Request) -> None:
    # Counted per email address across requests and days: filing again for the same address buys no new guesses.
    failures = rate_limit_count_one(scope=_CODE_FAILURES, key=request.email, rate=settings.DSR_CODE_FAILURES_PER_EMAIL)
    # Exactly at the cap: one failure (the counter is atomic) tells the owner, once per window.
    if failures == _code_failure_cap():
        # The cap was reached by this very failure: tell the owner of the address once, and leave it to staff.
        audit_record(
            actor=Actor.system(),
            action=AuditAction.VERIFICATION_FAILED,
            request=request,
            data={"code_failures_capped": True},
        )
        emails.email_verification_locked(request)


def _capped_error() -> VerificationError:
    return VerificationError(
        "staff",
        _(
            "Too many wrong codes have been tried for this email address. Codes no longer work for it; we have "
            "written to the address, and our staff will confirm the request another way."
        ),
    )


def verification_confirm_code(*, reference: str, code: str) -> Request:
    """Verify with the emailed code; a wrong code costs one of the allowed attempts.

    The answer takes DSR_EDGE_ANSWER_SECONDS whether or not the reference exists.
    """
    with answer_no_sooner(settings.DSR_EDGE_ANSWER_SECONDS):
        return _confirm_code(reference=reference, code=code)


def _confirm_code(*, reference: str, code: str) -> Request:
    code = (code or "").replace(" ", "").strip()
    reference = (reference or "").strip().upper()[:32]
    # The form first, for every reference alike: a malformed code costs nothing and reveals nothing.
    if not (len(code) == 6 and code.isdigit()):
        raise VerificationError("invalid", _("The code is the six digits from the email."))
    request = Request.objects.filter(reference=reference).first()
    if request is None:
        raise _unknown_reference_attempt(reference, code)
    _request_pending(request)
    if code_failures_capped(request.email):
        raise _capped_error()
    with transaction.atomic():
        challenge = (
            request.challenges.select_for_update()
            .filter(used_at__isnull=True, revoked_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        _challenge_check(challenge)
        challenge.attempts += 1
        matched = code_matches(
            reference=request.reference, request_id=request.pk, code=code, stored=challenge.code_hash
        )
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
            _code_failure_record(request)
    # Outside the block so the counted attempt is kept when we refuse.
    if not matched:
        if code_failures_capped(request.email):
            raise _capped_error()
        raise _wrong_code(challenge.attempts)
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

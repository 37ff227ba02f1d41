"""Filing a request, its reference and status link, and confirming who asks (GDPR Art. 12(6))."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from dsr import challenges, deadlines, emails
from dsr.audit import Actor, audit_record
from dsr.datamap.selectors import active_version_presumed
from dsr.jurisdictions import profile_get
from dsr.models import (
    CLOSED_STATUSES,
    ActorType,
    AgentFiling,
    AuditAction,
    AuditEvent,
    Channel,
    IdentityLevel,
    Language,
    Request,
    Status,
    Suspension,
    SuspensionReason,
    VerificationMethod,
    WebhookEvent,
)
from dsr.requests import RequestInvalid, details_clean, jurisdiction_clean, requester_clean
from dsr.webhooks import webhook_event_emit
from dsr.workflow.base import (
    TransitionError,
    _deadline_recompute,
    _lock,
    _now,
    _suspension_close,
    _transition_apply,
    _transition_check,
    _work_start,
)
from dsr.workflow.filing_sql import filing_at_once_ready, request_file_at_once

# --- References and status tokens ------------------------------------------------

_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
# Random bytes below this (240, eight times 30) each pick a symbol, every symbol as likely; the rest are drawn again.
_REFERENCE_BYTES_BELOW = 256 - 256 % len(_REFERENCE_ALPHABET)


def reference_new() -> str:
    """Return a fresh public reference: 16 symbols from a 30-letter alphabet (≈78 bits), easy to read aloud."""
    symbols = ""
    while len(symbols) < 16:
        symbols += "".join(
            _REFERENCE_ALPHABET[byte % len(_REFERENCE_ALPHABET)]
            for byte in secrets.token_bytes(20)
            if byte < _REFERENCE_BYTES_BELOW
        )
    symbols = symbols[:16]
    return "DSR-" + "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


def request_status_token(request: Request, *, salt: str = "") -> str:
    """Return the secret that, with the reference, opens the request's status (HMAC of reference and salt)."""
    salt = salt or request.status_salt
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"dsr-status:{request.reference}:{salt}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def request_by_status_token(*, reference: str, token: str) -> Request | None:
    """Return the request if `token` opens it; compare in constant time; None for anything else."""
    if not reference or not token or len(reference) > 32 or len(token) > 64:
        return None
    request = Request.objects.filter(reference=reference).first()
    if request is None:
        return None
    if not hmac.compare_digest(request_status_token(request).encode(), token.encode()):
        return None
    return request


# --- Filing ------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitResult:
    request: Request
    status_token: str
    created: bool


def request_submit(
    *,
    right: str,
    email: str,
    actor: Actor,
    name: str = "",
    phone: str = "",
    customer_number: str = "",
    language: str = Language.DA,
    details: dict | None = None,
    channel: str = Channel.WEB,
    received_at: datetime | None = None,
    pre_verified: bool = False,
    identity_checked: str = "",
    email_confirmed: str = "",
    idempotency_key: str | None = None,
    jurisdiction: str = "",
) -> SubmitResult:
    """File a request: validate, store, stop the clock until the email is confirmed, and send the code.

    With `pre_verified` (an integration vouching for its logged-in customer), or
    `identity_checked` (how staff checked the identity of a person who wrote or
    called: staff_check or attribute_match), the request starts in progress and
    the receipt is sent instead of a code. With `email_confirmed` (email_code or
    email_link: the person confirmed the address a moment ago, in the preference
    centre) it starts in progress at the email identity level.

    `jurisdiction` is the code of the profile the request is answered under (the person's country of
    residence); empty: the deployment's own (dsr/jurisdictions/).
    """
    now = _now()
    arguments = {
        "right": right,
        "email": email,
        "name": name,
        "phone": phone,
        "customer_number": customer_number,
        "language": language,
        "details": details,
        "channel": channel,
        "received_at": received_at,
        "identity_checked": identity_checked,
        "email_confirmed": email_confirmed,
        "idempotency_key": idempotency_key,
        "jurisdiction": jurisdiction,
        "now": now,
    }
    starts_verified = pre_verified or bool(identity_checked) or bool(email_confirmed)
    if not starts_verified and filing_at_once_ready(actor):
        filed = _submit_at_once(arguments, actor=actor)
        if filed is not None:
            return filed
    prepared = _submission_prepare(**arguments)
    if isinstance(prepared, SubmitResult):
        return prepared
    request = prepared
    fields = _cleaned(request)[0]
    clean_details = request.details
    if starts_verified:
        # EDPB 01/2022 ¶68: the controller's own authentication is the preferred check.
        request.status = Status.IN_PROGRESS
        request.identity_level = IdentityLevel.EMAIL if email_confirmed and not pre_verified else IdentityLevel.ENHANCED
        request.verified_at = now
        request.verification_method = identity_checked or email_confirmed or VerificationMethod.INTEGRATION
    try:
        with transaction.atomic():
            twin = _twin_recent(fields, clean_details, actor=actor, now=now, received_given=received_at is not None)
            if twin is not None:
                return SubmitResult(twin, request_status_token(twin), created=False)
            request.save()
            data = {
                "right": request.right,
                "channel": request.channel,
                "status": request.status,
                "pre_verified": pre_verified,
            }
            if identity_checked:
                data["identity_checked"] = identity_checked
            if email_confirmed:
                data["email_confirmed"] = email_confirmed
            if not starts_verified:
                # PRODUCT.md Deadlines: the clock stops while we wait for the identity confirmation
                # we asked for; it starts now, not at receipt, for requests entered late by staff.
                Suspension.objects.create(
                    request=request, reason=SuspensionReason.IDENTITY, note="email confirmation", started_at=now
                )
                data["challenge_id"] = challenges.challenge_send(request=request, first=True).pk
            audit_record(
                actor=actor, action=AuditAction.REQUEST_SUBMITTED, request=request, data=data, request_created=True
            )
            webhook_event_emit(event_type=WebhookEvent.REQUEST_RECEIVED, request=request)
            if starts_verified:
                # Filed pre-verified (an integration's logged-in customer, or staff who checked identity).
                webhook_event_emit(event_type=WebhookEvent.REQUEST_VERIFIED, request=request)
                _work_start(request)
                # After the start, so its "go" reaches the broker first: a worker with one free process takes
                # the work, which the person's answer waits on, before the receipt, which nothing waits on.
                emails.email_receipt(request)
    except IntegrityError:
        if idempotency_key:
            existing = _idempotent_existing(idempotency_key, fields, clean_details)
            if existing is not None:
                return SubmitResult(existing, request_status_token(existing), created=False)
        raise
    return SubmitResult(request, request_status_token(request), created=True)


def _submit_at_once(arguments: dict, *, actor: Actor) -> SubmitResult | None:
    """File in one statement on PostgreSQL (dsr.workflow.filing_sql); None if it wrote nothing.

    Checked against the data map this process last read; if that map is no longer the active one, the
    statement writes nothing and the caller files the usual way, reading the map afresh.
    """
    with active_version_presumed() as version:
        prepared = _submission_prepare(**arguments)
    if isinstance(prepared, SubmitResult):
        return prepared
    data = {"right": prepared.right, "channel": prepared.channel, "status": prepared.status, "pre_verified": False}
    idempotency_key = arguments["idempotency_key"]
    try:
        filed = request_file_at_once(request=prepared, actor=actor, now=arguments["now"], version=version, data=data)
    except IntegrityError:
        # The same Idempotency-Key filed by a retry that arrived at the same moment.
        existing = _idempotent_existing(idempotency_key, *_cleaned(prepared)) if idempotency_key else None
        if existing is not None:
            return SubmitResult(existing, request_status_token(existing), created=False)
        raise
    return SubmitResult(prepared, request_status_token(prepared), created=True) if filed else None


def _submission_prepare(
    *,
    right: str,
    email: str,
    name: str,
    phone: str,
    customer_number: str,
    language: str,
    details: dict | None,
    channel: str,
    received_at: datetime | None,
    identity_checked: str,
    email_confirmed: str,
    idempotency_key: str | None,
    jurisdiction: str,
    now: datetime,
) -> "Request | SubmitResult":
    """Return the filing's request, validated and not saved; or the earlier filing an idempotency key names."""
    errors: dict[str, list[str]] = {}
    fields: dict = {}
    try:
        fields = requester_clean(
            right=right,
            email=email,
            name=name,
            phone=phone,
            customer_number=customer_number,
            language=language,
            channel=channel,
            received_at=received_at,
            now=now,
        )
    except RequestInvalid as exc:
        errors.update(exc.message_dict)
    clean_details: dict = {}
    if "right" not in errors:
        try:
            clean_details = details_clean(right, details)
        except RequestInvalid as exc:
            errors.update(exc.message_dict)
    jurisdiction_code = ""
    try:
        jurisdiction_code = jurisdiction_clean(
            jurisdiction, right="" if "right" in errors else right, details=clean_details
        )
    except RequestInvalid as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if identity_checked and identity_checked not in (
        VerificationMethod.STAFF_CHECK,
        VerificationMethod.ATTRIBUTE_MATCH,
    ):
        errors["identity_checked"] = [_("Choose how identity was checked: staff_check or attribute_match.")]
    if email_confirmed and email_confirmed not in (VerificationMethod.EMAIL_CODE, VerificationMethod.EMAIL_LINK):
        errors["email_confirmed"] = [_("Choose how the email was confirmed: email_code or email_link.")]
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 128):
        errors["idempotency_key"] = [_("Must be 1 to 128 characters.")]
    if errors:
        raise RequestInvalid(errors)

    if idempotency_key:
        existing = _idempotent_existing(idempotency_key, fields, clean_details)
        if existing is not None:
            return SubmitResult(existing, request_status_token(existing), created=False)

    received = deadlines.local_date(fields["received_at"], settings.TIME_ZONE)
    return Request(
        **fields,
        reference=reference_new(),
        details=clean_details,
        status_salt=secrets.token_hex(16),
        jurisdiction=jurisdiction_code,
        due_date=profile_get(jurisdiction_code).due_date(received, right=fields["right"]),
        idempotency_key=idempotency_key or None,
    )


# What requests.requester_clean gives back.
_REQUESTER_FIELDS = ("right", "email", "name", "phone", "customer_number", "language", "channel", "received_at")


def _cleaned(request: Request) -> tuple[dict, dict]:
    """Return the requester's fields and the details of a prepared request, as _idempotent_existing takes them."""
    fields = {name: getattr(request, name) for name in _REQUESTER_FIELDS}
    return fields, request.details


def _twin_recent(fields: dict, details: dict, *, actor: Actor, now: datetime, received_given: bool) -> Request | None:
    """Return the open request the same filer filed minutes ago with the same right, email and details (a retry).

    Only an authenticated filer (an integration's key, a staff member) is recognised: the twin's status
    token goes back to the caller, so anyone else who typed the same email and right would get a stranger's
    request. A person on the portal, or the keyless API, files anew (and the idempotency key still holds).
    On PostgreSQL, filings for one email and right wait for each other here, so two
    retries that arrive together make one request.
    """
    if actor.type not in (ActorType.INTEGRATION, ActorType.STAFF) or not actor.id:
        return None
    if connection.vendor == "postgresql":
        lock = f"dsr-filing:{fields['right']}:{fields['email'].lower()}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [lock])
    since = now - timedelta(seconds=settings.DSR_DUPLICATE_FILING_SECONDS)
    candidates = (
        Request.objects.filter(email__iexact=fields["email"], right=fields["right"], created_at__gte=since)
        .exclude(status__in=CLOSED_STATUSES)
        .order_by("pk")
    )
    filed_by_actor = AuditEvent.objects.filter(
        request=OuterRef("pk"), action=AuditAction.REQUEST_SUBMITTED, actor_type=actor.type, actor_id=actor.id
    )
    candidates = candidates.filter(Exists(filed_by_actor))
    for candidate in candidates:
        same = (
            (candidate.name, candidate.phone, candidate.customer_number, candidate.language, candidate.channel)
            == (fields["name"], fields["phone"], fields["customer_number"], fields["language"], fields["channel"])
            and candidate.details == details
            # Staff entering letters received on different days enter different requests.
            and (not received_given or candidate.received_at == fields["received_at"])
        )
        if same:
            return candidate
    return None


def _idempotent_existing(key: str, fields: dict, details: dict) -> Request | None:
    existing = Request.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    same = (
        existing.right == fields["right"]
        and existing.email.lower() == fields["email"].lower()
        and (existing.name, existing.phone, existing.customer_number, existing.language)
        == (fields["name"], fields["phone"], fields["customer_number"], fields["language"])
        and existing.details == details
    )
    if not same:
        raise RequestInvalid({"idempotency_key": [_("This key was already used for a different request.")]})
    return existing


# --- Identity ----------------------------------------------------------------------


def request_verify(*, request: Request, method: str, actor: Actor) -> Request:
    """Record that the requester controls the email; start the work if that is enough identity."""
    with transaction.atomic():
        request = _lock(request)
        now = _now()
        identity_level = max(request.identity_level, IdentityLevel.EMAIL)
        enough = identity_level >= request.identity_required
        fields = _transition_apply(request, "verify" if enough else "verify_awaiting_identity")
        request.identity_level = identity_level
        request.verified_at = now
        request.verification_method = method
        fields += ["identity_level", "verified_at", "verification_method"]
        if enough:
            _suspension_close(request, now=now)
            fields += _deadline_recompute(request)
        request.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_VERIFIED,
            request=request,
            data={"method": method, "status": request.status},
        )
        webhook_event_emit(event_type=WebhookEvent.REQUEST_VERIFIED, request=request)
        if request.status == Status.IN_PROGRESS:
            _work_start(request)
        # After the start, as at filing: the work's "go" first.
        emails.email_receipt(request)
    return request


def request_identity_check(*, request: Request, method: str, actor: Actor) -> Request:
    """Record a staff identity check (never an ID image) and restart the clock if identity was the wait."""
    if method not in (VerificationMethod.STAFF_CHECK, VerificationMethod.ATTRIBUTE_MATCH):
        raise RequestInvalid({"method": [_("Choose how identity was checked: staff_check or attribute_match.")]})
    with transaction.atomic():
        request = _lock(request)
        now = _now()
        waiting_for_identity = request.suspensions.filter(
            ended_at__isnull=True, reason=SuspensionReason.IDENTITY
        ).exists()
        starts = request.status == Status.PENDING_VERIFICATION or (
            request.status == Status.AWAITING_SUBJECT and waiting_for_identity
        )
        if starts and AgentFiling.objects.filter(request=request).exists():
            # CCPA regs § 7063: an agent's filing starts only through the team's decision on the proof of authority
            # (dsr/workflow/agents.py), never by an identity check around it.
            raise TransitionError(
                _("Request %(reference)s was filed by an authorised agent: accept or refuse the proof of authority.")
                % {"reference": request.reference}
            )
        fields = _transition_apply(request, "identity_check_start" if starts else "identity_check")
        request.identity_level = IdentityLevel.ENHANCED
        request.verified_at = request.verified_at or now
        request.verification_method = method
        fields += ["identity_level", "verified_at", "verification_method"]
        if starts:
            _suspension_close(request, now=now)
            fields += _deadline_recompute(request)
        request.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_IDENTITY_CHECKED,
            request=request,
            data={"method": method, "status": request.status},
        )
        if request.status == Status.IN_PROGRESS:
            _work_start(request)
    return request


def request_status_link_reissue(*, request: Request, actor: Actor) -> None:
    """Kill every old status link and email a new one to the request's address."""
    with transaction.atomic():
        request = _lock(request)
        _transition_check(request, "status_link_reissue")
        request.status_salt = secrets.token_hex(16)
        request.save(update_fields=["status_salt", "updated_at"])
        audit_record(actor=actor, action=AuditAction.REQUEST_STATUS_LINK_REISSUED, request=request, data={})
        emails.email_status_link(request)


def request_status_link_send(*, request: Request, actor: Actor) -> None:
    """Email a new status link that replaces the current one only once it is opened (the "lost link" form).

    Whoever asks need only know the reference and the address, so asking must not end the link
    the person holds; a second ask replaces only the unopened link of the first.
    """
    with transaction.atomic():
        request = _lock(request)
        _transition_check(request, "status_link_reissue")
        request.status_salt_next = secrets.token_hex(16)
        request.save(update_fields=["status_salt_next", "updated_at"])
        audit_record(
            actor=actor, action=AuditAction.REQUEST_STATUS_LINK_REISSUED, request=request, data={"pending": True}
        )
        emails.email_status_link(request, salt=request.status_salt_next)


def request_status_link_open(*, reference: str, token: str) -> Request | None:
    """Return the request an emailed status link opens; a pending link, once opened, replaces the current one."""
    found = request_by_status_token(reference=reference, token=token)
    if found is not None or not token or len(token) > 64 or not reference or len(reference) > 32:
        return found
    with transaction.atomic():
        pending = Request.objects.select_for_update().filter(reference=reference).exclude(status_salt_next="").first()
        if pending is None:
            return None
        expected = request_status_token(pending, salt=pending.status_salt_next)
        if not hmac.compare_digest(expected.encode(), token.encode()):
            return None
        pending.status_salt, pending.status_salt_next = pending.status_salt_next, ""
        pending.save(update_fields=["status_salt", "status_salt_next", "updated_at"])
    return pending

"""The request state machine: a transition table and one service function per transition.

This module is the one writer of a request's status: every service runs in
one transaction, locks the request row, checks the transition table and sets
the status to the transition's target, saves only the fields it changes,
writes an audit event, emits its webhook and schedules emails after commit. A
forbidden transition raises TransitionError and changes nothing. The work in
the sources (dsr.engine, dsr.rights) asks these services for every status
change. See docs/decisions/0002-deadlines.md and
docs/decisions/0006-request-lifecycle.md.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dsr import challenges, deadlines, emails
from dsr.audit import Actor, audit_record
from dsr.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    AuditAction,
    Channel,
    IdentityLevel,
    Language,
    Plan,
    RefusalGround,
    Request,
    RequestNote,
    Status,
    Suspension,
    SuspensionReason,
    VerificationMethod,
    WebhookEvent,
)
from dsr.requests import RequestInvalid, details_clean, requester_clean
from dsr.storage import sealed_storage
from dsr.webhooks import webhook_event_emit

__all__ = ["RequestInvalid", "SubmitResult", "TransitionError"]


class TransitionError(Exception):
    """Raised when an action is not allowed in the request's current state; nothing is changed."""


@dataclass(frozen=True)
class Transition:
    name: str
    label: str  # what the action is called in "Cannot <label> request ...", translated
    sources: tuple[str, ...]
    target: str | None  # None: the status does not change


_ALL_OPEN = tuple(OPEN_STATUSES)
# Verified and open: the deadline runs (or stands still, awaiting the subject) and staff may decide.
_WORKING = (Status.IN_PROGRESS, Status.AWAITING_SUBJECT, Status.AWAITING_APPROVAL, Status.NEEDS_ATTENTION)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("verify", gettext_lazy("confirm"), (Status.PENDING_VERIFICATION,), Status.IN_PROGRESS),
        # Staff asked for more than the email before it was confirmed: the clock stays stopped.
        Transition(
            "verify_awaiting_identity", gettext_lazy("confirm"), (Status.PENDING_VERIFICATION,), Status.AWAITING_SUBJECT
        ),
        Transition("identity_check", gettext_lazy("record an identity check for"), _ALL_OPEN, None),
        Transition(
            "identity_check_start",
            gettext_lazy("record an identity check for"),
            (Status.PENDING_VERIFICATION, Status.AWAITING_SUBJECT),
            Status.IN_PROGRESS,
        ),
        Transition("suspend", gettext_lazy("stop the clock of"), (Status.IN_PROGRESS,), Status.AWAITING_SUBJECT),
        Transition("resume", gettext_lazy("restart the clock of"), (Status.AWAITING_SUBJECT,), Status.IN_PROGRESS),
        Transition("extend", gettext_lazy("extend"), _WORKING, None),
        Transition("refuse", gettext_lazy("refuse"), _WORKING, Status.REFUSED),
        Transition("complete", gettext_lazy("complete"), (Status.IN_PROGRESS,), Status.COMPLETED),
        # Staff may close with the parts not done when a job failed for good (dsr/engine/jobs.py).
        Transition(
            "complete_partially",
            gettext_lazy("partially complete"),
            (Status.IN_PROGRESS, Status.NEEDS_ATTENTION),
            Status.PARTIALLY_COMPLETED,
        ),
        # The work on the sources (dsr/engine/, dsr/rights/, docs/decisions/0008-jobs.md).
        Transition("plan_await", gettext_lazy("ask staff to approve"), (Status.IN_PROGRESS,), Status.AWAITING_APPROVAL),
        Transition(
            "plan_approve", gettext_lazy("approve the plan of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS
        ),
        Transition(
            "objection_decide", gettext_lazy("decide the objection of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS
        ),
        # Access and portability with DSR_BUNDLE_REVIEW: staff release the export (dsr/exports/delivery.py).
        Transition(
            "bundle_review",
            gettext_lazy("hold the export for review of"),
            (Status.IN_PROGRESS,),
            Status.AWAITING_APPROVAL,
        ),
        Transition(
            "bundle_release", gettext_lazy("release the export of"), (Status.AWAITING_APPROVAL,), Status.IN_PROGRESS
        ),
        Transition(
            "job_fail", gettext_lazy("mark as needing attention"), (Status.IN_PROGRESS,), Status.NEEDS_ATTENTION
        ),
        Transition(
            "job_retry", gettext_lazy("retry the failed work of"), (Status.NEEDS_ATTENTION,), Status.IN_PROGRESS
        ),
        Transition("cancel", gettext_lazy("cancel"), _ALL_OPEN, Status.CANCELLED),
        Transition("expire", gettext_lazy("expire"), (Status.PENDING_VERIFICATION,), Status.EXPIRED),
        Transition(
            "status_link_reissue",
            gettext_lazy("send a new status link for"),
            (*_ALL_OPEN, Status.COMPLETED, Status.PARTIALLY_COMPLETED, Status.REFUSED),
            None,
        ),
    )
}


def transition_allowed(request: Request, name: str) -> bool:
    """Return whether the transition `name` may happen from the request's current status."""
    return request.status in TRANSITIONS[name].sources


def transition_require(request: Request, name: str) -> Transition:
    """Return the transition ``name``; raise TransitionError if the request's status does not allow it."""
    return _transition_check(request, name)


def _transition_check(request: Request, name: str) -> Transition:
    transition = TRANSITIONS[name]
    if request.status not in transition.sources:
        raise TransitionError(
            _("Cannot %(action)s request %(reference)s: it is %(status)s.")
            % {
                "action": transition.label,
                "reference": request.reference,
                "status": request.get_status_display().lower(),
            }
        )
    return transition


def _transition_apply(request: Request, name: str) -> list[str]:
    """Check the transition and move the request to its target; return the fields to save."""
    transition = _transition_check(request, name)
    if transition.target is None:
        return ["updated_at"]
    request.status = transition.target
    return ["status", "updated_at"]


# The work in the sources lives above this module: it registers how to start a request's work and what to
# do when a request closes (dsr.apps). Each is called in the caller's transaction.
_work_starter: Callable[[Request], None] | None = None
_closing_hook: Callable[[Request], None] | None = None


def work_starter_set(starter: Callable[[Request], None] | None) -> None:
    """Register the function that starts (or resumes) a request's work in the sources after commit."""
    global _work_starter
    _work_starter = starter


def closing_hook_set(hook: Callable[[Request], None] | None) -> None:
    """Register the function a closing request is handed to before its letter is queued (its outcome)."""
    global _closing_hook
    _closing_hook = hook


def _lock(request: Request) -> Request:
    return Request.objects.select_for_update().get(pk=request.pk)


def _now() -> datetime:
    return timezone.now()


def _today() -> date:
    return deadlines.local_date(_now(), settings.TIME_ZONE)


def _received_date(request: Request) -> date:
    return deadlines.local_date(request.received_at, settings.TIME_ZONE)


def _suspension_periods(request: Request) -> list[tuple[date, date | None]]:
    tz = settings.TIME_ZONE
    return [
        (deadlines.local_date(s.started_at, tz), deadlines.local_date(s.ended_at, tz) if s.ended_at else None)
        for s in request.suspensions.all()
    ]


def _deadline_recompute(request: Request) -> list[str]:
    """Set due dates from the closed suspensions; return the changed field names."""
    # GDPR Art. 12(3) with the clock stopped while waiting for the subject (PRODUCT.md, Deadlines).
    periods = [p for p in _suspension_periods(request) if p[1] is not None]
    request.suspended_days = deadlines.days_suspended(periods, today=_today())
    received = _received_date(request)
    request.due_date = deadlines.due_date(received, country=settings.DSR_COUNTRY, suspended_days=request.suspended_days)
    fields = ["suspended_days", "due_date"]
    if request.extended_due_date:
        request.extended_due_date = deadlines.extended_due_date(
            received, country=settings.DSR_COUNTRY, suspended_days=request.suspended_days
        )
        fields.append("extended_due_date")
    return fields


def _suspension_close(request: Request, *, now: datetime) -> Suspension | None:
    open_suspension = request.suspensions.filter(ended_at__isnull=True).first()
    if open_suspension is None:
        return None
    open_suspension.ended_at = max(now, open_suspension.started_at)
    open_suspension.save(update_fields=["ended_at"])
    return open_suspension


def _close(request: Request, *, transition: str, reasons: str, now: datetime) -> list[str]:
    fields = ["closed_at", "outcome_reasons", *_transition_apply(request, transition)]
    if _suspension_close(request, now=now):
        fields += _deadline_recompute(request)
    request.closed_at = now
    request.outcome_reasons = reasons
    return fields


def _closing(request: Request) -> None:
    """Hand the closing request to the work in the sources, which records what was done (its outcome)."""
    if _closing_hook is not None:
        _closing_hook(request)


def _required_text(value: str, *, field: str, message: str, limit: int = 5000) -> str:
    value = (value or "").strip()
    if not value:
        raise RequestInvalid({field: [message]})
    if len(value) > limit:
        raise RequestInvalid({field: [_("Must be at most %(limit)d characters.") % {"limit": limit}]})
    return value


# --- References and status tokens ------------------------------------------------

_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def reference_new() -> str:
    """Return a fresh public reference: 16 symbols from a 30-letter alphabet (≈78 bits), easy to read aloud."""
    symbols = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(16))
    return "DSR-" + "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


def request_status_token(request: Request) -> str:
    """Return the secret that, with the reference, opens the request's status (HMAC of reference and salt)."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"dsr-status:{request.reference}:{request.status_salt}".encode(), hashlib.sha256
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
    idempotency_key: str | None = None,
) -> SubmitResult:
    """File a request: validate, store, stop the clock until the email is confirmed, and send the code.

    With `pre_verified` (an integration vouching for its logged-in customer), or
    `identity_checked` (how staff checked the identity of a person who wrote or
    called: staff_check or attribute_match), the request starts in progress and
    the receipt is sent instead of a code.
    """
    now = _now()
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
    if identity_checked and identity_checked not in (
        VerificationMethod.STAFF_CHECK,
        VerificationMethod.ATTRIBUTE_MATCH,
    ):
        errors["identity_checked"] = [_("Choose how identity was checked: staff_check or attribute_match.")]
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 128):
        errors["idempotency_key"] = [_("Must be 1 to 128 characters.")]
    if errors:
        raise RequestInvalid(errors)

    if idempotency_key:
        existing = _idempotent_existing(idempotency_key, fields, clean_details)
        if existing is not None:
            return SubmitResult(existing, request_status_token(existing), created=False)

    received = deadlines.local_date(fields["received_at"], settings.TIME_ZONE)
    request = Request(
        **fields,
        reference=reference_new(),
        details=clean_details,
        status_salt=secrets.token_hex(16),
        due_date=deadlines.due_date(received, country=settings.DSR_COUNTRY),
        idempotency_key=idempotency_key or None,
    )
    starts_verified = pre_verified or bool(identity_checked)
    if starts_verified:
        # EDPB 01/2022 ¶68: the controller's own authentication is the preferred check.
        request.status = Status.IN_PROGRESS
        request.identity_level = IdentityLevel.ENHANCED
        request.verified_at = now
        request.verification_method = identity_checked or VerificationMethod.INTEGRATION
    try:
        with transaction.atomic():
            request.save()
            data = {
                "right": request.right,
                "channel": request.channel,
                "status": request.status,
                "pre_verified": pre_verified,
            }
            if identity_checked:
                data["identity_checked"] = identity_checked
            if starts_verified:
                emails.email_receipt(request)
            else:
                # PRODUCT.md Deadlines: the clock stops while we wait for the identity confirmation
                # we asked for; it starts now, not at receipt, for requests entered late by staff.
                Suspension.objects.create(
                    request=request, reason=SuspensionReason.IDENTITY, note="email confirmation", started_at=now
                )
                data["challenge_id"] = challenges.challenge_send(request=request, first=True).pk
            audit_record(actor=actor, action=AuditAction.REQUEST_SUBMITTED, request=request, data=data)
            webhook_event_emit(event_type=WebhookEvent.REQUEST_RECEIVED, request=request)
            if starts_verified:
                # Filed pre-verified (an integration's logged-in customer, or staff who checked identity).
                webhook_event_emit(event_type=WebhookEvent.REQUEST_VERIFIED, request=request)
                _work_start(request)
    except IntegrityError:
        if idempotency_key:
            existing = _idempotent_existing(idempotency_key, fields, clean_details)
            if existing is not None:
                return SubmitResult(existing, request_status_token(existing), created=False)
        raise
    return SubmitResult(request, request_status_token(request), created=True)


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


def _work_start(request: Request) -> None:
    """Start (or resume) the request's work in the sources once the transaction commits (dsr/engine/)."""
    if _work_starter is not None:
        _work_starter(request)


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
        emails.email_receipt(request)
        if request.status == Status.IN_PROGRESS:
            _work_start(request)
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


# --- The clock ---------------------------------------------------------------------


def request_suspend(*, request: Request, reason: str, note: str, actor: Actor) -> Request:
    """Stop the clock while we wait for identity information or a clarification we asked for."""
    if reason not in SuspensionReason.values:
        raise RequestInvalid({"reason": [_("Choose identity or clarification.")]})
    note = _required_text(note, field="note", message=_("Say what the requester must send."))
    with transaction.atomic():
        request = _lock(request)
        fields = _transition_apply(request, "suspend")
        suspension = Suspension.objects.create(request=request, reason=reason, note=note, started_at=_now())
        if reason == SuspensionReason.IDENTITY and request.identity_level < IdentityLevel.ENHANCED:
            # EDPB 01/2022 ¶65-75: a step up only where there is reasonable doubt.
            request.identity_required = IdentityLevel.ENHANCED
            fields.append("identity_required")
        request.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_SUSPENDED,
            request=request,
            data={"reason": reason, "suspension_id": suspension.pk},
        )
        emails.email_suspended(request, suspension=suspension)
    return request


def request_resume(*, request: Request, actor: Actor) -> Request:
    """Restart the clock; the days it stood still are added to the due dates."""
    with transaction.atomic():
        request = _lock(request)
        _transition_check(request, "resume")
        if request.identity_level < request.identity_required:
            raise TransitionError(
                _("Request %(reference)s waits for an identity check: record the check before resuming.")
                % {"reference": request.reference}
            )
        fields = _transition_apply(request, "resume")
        suspension = _suspension_close(request, now=_now())
        fields += _deadline_recompute(request)
        request.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_RESUMED,
            request=request,
            data={"suspension_id": suspension.pk if suspension else None, "suspended_days": request.suspended_days},
        )
        _work_start(request)
    return request


def request_extend(*, request: Request, reasons: str, actor: Actor, today: date | None = None) -> Request:
    """Extend the deadline to three months from receipt, with reasons sent to the requester.

    GDPR Art. 12(3): only within the first month, and only once.
    """
    reasons = _required_text(reasons, field="reasons", message=_("Give the reasons for the extension."))
    with transaction.atomic():
        request = _lock(request)
        _transition_check(request, "extend")
        if request.extended_due_date:
            raise TransitionError(
                _("Request %(reference)s was already extended to %(date)s.")
                % {"reference": request.reference, "date": request.extended_due_date.isoformat()}
            )
        today = today or _today()
        suspended = deadlines.days_suspended(_suspension_periods(request), today=today)
        received = _received_date(request)
        if not deadlines.extension_allowed(
            received, today=today, country=settings.DSR_COUNTRY, suspended_days=suspended
        ):
            first_due = deadlines.due_date(received, country=settings.DSR_COUNTRY, suspended_days=suspended)
            raise TransitionError(
                _(
                    "The first month for %(reference)s ended on %(date)s; an extension must be notified "
                    "within it (GDPR Art. 12(3))."
                )
                % {"reference": request.reference, "date": first_due.isoformat()}
            )
        request.extended_due_date = deadlines.extended_due_date(
            received, country=settings.DSR_COUNTRY, suspended_days=request.suspended_days
        )
        request.extended_at = _now()
        request.extension_reasons = reasons
        request.save(update_fields=["extended_due_date", "extended_at", "extension_reasons", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_EXTENDED,
            request=request,
            data={"extended_due_date": request.extended_due_date.isoformat()},
        )
        emails.email_extended(request)
    return request


# --- Outcomes ----------------------------------------------------------------------


def request_refuse(*, request: Request, ground: str, reasons: str, actor: Actor) -> Request:
    """Refuse the request with a ground and reasons; the letter names Datatilsynet and the courts (Art. 12(4))."""
    if ground not in RefusalGround.values:
        raise RequestInvalid({"ground": [_("Choose a refusal ground.")]})
    reasons = _required_text(reasons, field="reasons", message=_("Give the reasons for the refusal."))
    with transaction.atomic():
        request = _lock(request)
        fields = _close(request, transition="refuse", reasons=reasons, now=_now())
        request.refusal_ground = ground
        request.save(update_fields=[*fields, "refusal_ground"])
        audit_record(actor=actor, action=AuditAction.REQUEST_REFUSED, request=request, data={"ground": ground})
        webhook_event_emit(event_type=WebhookEvent.REQUEST_REFUSED, request=request)
        _closing(request)
        emails.email_refused(request)
    return request


def request_complete(
    *, request: Request, actor: Actor, reasons: str = "", partial: bool = False, download_token: str = ""
) -> Request:
    """Close the request as done, or partly done with the reasons for each part not done.

    ``download_token`` is the new download link of an access or portability export, for the email only.
    """
    if partial:
        reasons = _required_text(reasons, field="reasons", message=_("Say which parts were not done and why."))
    with transaction.atomic():
        request = _lock(request)
        transition = "complete_partially" if partial else "complete"
        fields = _close(request, transition=transition, reasons=(reasons or "").strip(), now=_now())
        request.save(update_fields=fields)
        audit_record(
            actor=actor, action=AuditAction.REQUEST_COMPLETED, request=request, data={"status": request.status}
        )
        # The outcome is recorded before the letter is queued: the letter is made from it.
        _closing(request)
        summary = Plan.objects.filter(request=request).values_list("outcome", flat=True).first() or {}
        if not summary and not request.outcome_reasons and not download_token:
            # Say only what happened: with no source's report and no export to send, the letter has nothing
            # true to say but what the privacy team writes.
            raise RequestInvalid(
                {
                    "reasons": [
                        _(
                            "No source reported doing anything for this request. Write what was done: "
                            "the requester's letter says it."
                        )
                    ]
                }
            )
        webhook_event_emit(
            event_type=WebhookEvent.REQUEST_COMPLETED, request=request, data={"outcome": summary.get("summary")}
        )
        if partial:
            emails.email_partially_completed(request)
        else:
            emails.email_completed(request, download_token=download_token)
    return request


def request_cancel(*, request: Request, actor: Actor, reasons: str = "") -> Request:
    """Cancel an open request (withdrawn by the requester, or a duplicate)."""
    with transaction.atomic():
        request = _lock(request)
        fields = _close(request, transition="cancel", reasons=(reasons or "").strip()[:5000], now=_now())
        request.save(update_fields=fields)
        audit_record(actor=actor, action=AuditAction.REQUEST_CANCELLED, request=request, data={})
        _closing(request)
        emails.email_cancelled(request)
    return request


def request_expire(*, request: Request, actor: Actor) -> Request:
    """Close a request whose email was never confirmed, and tell the address it was sent from."""
    with transaction.atomic():
        request = _lock(request)
        fields = _close(request, transition="expire", reasons="", now=_now())
        request.save(update_fields=fields)
        request.challenges.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=_now())
        audit_record(actor=actor, action=AuditAction.REQUEST_EXPIRED, request=request, data={})
        emails.email_expired(request)
    return request


def requests_expire_unverified(*, now: datetime | None = None) -> int:
    """Expire every request left unconfirmed longer than DSR_UNVERIFIED_EXPIRY_DAYS; return how many."""
    cutoff = (now or _now()) - timedelta(days=settings.DSR_UNVERIFIED_EXPIRY_DAYS)
    ids = list(
        Request.objects.filter(status=Status.PENDING_VERIFICATION, created_at__lt=cutoff).values_list("pk", flat=True)
    )
    expired = 0
    for pk in ids:
        try:
            request_expire(request=Request(pk=pk), actor=Actor.system())
        except (TransitionError, Request.DoesNotExist):
            continue  # confirmed or closed meanwhile
        expired += 1
    return expired


# --- Steps of the work in the sources (dsr/engine/, dsr/rights/) ----------------------


def _step(request: Request, *, transition: str, action: str, actor: Actor, data: dict) -> Request:
    with transaction.atomic():
        request = _lock(request)
        fields = _transition_apply(request, transition)
        request.save(update_fields=fields)
        audit_record(actor=actor, action=action, request=request, data=data)
    return request


def request_await_staff(*, request: Request, actor: Actor, stage: str) -> Request:
    """Hand the request to the privacy team: a plan to approve or a balancing decision to make."""
    return _step(
        request, transition="plan_await", action=AuditAction.REQUEST_AWAITING_STAFF, actor=actor, data={"stage": stage}
    )


def request_approve(*, request: Request, actor: Actor) -> Request:
    """Record that the privacy team approved the plan waiting for them; the work goes on."""
    return _step(request, transition="plan_approve", action=AuditAction.REQUEST_APPROVED, actor=actor, data={})


def request_objection_decided(*, request: Request, upheld: bool, actor: Actor) -> Request:
    """Record the balancing decision on an objection (GDPR Art. 21(1)); the request is then closed by its right."""
    return _step(
        request,
        transition="objection_decide",
        action=AuditAction.OBJECTION_DECIDED,
        actor=actor,
        data={"upheld": upheld},
    )


def request_bundle_review(*, request: Request, bundle_id: int, actor: Actor) -> Request:
    """Hold the built export for the privacy team to preview and release (DSR_BUNDLE_REVIEW)."""
    return _step(
        request,
        transition="bundle_review",
        action=AuditAction.BUNDLE_AWAITING_REVIEW,
        actor=actor,
        data={"bundle": bundle_id},
    )


def request_bundle_released(*, request: Request, actor: Actor) -> Request:
    """Move a request whose reviewed export staff released back to work, so it can be completed."""
    with transaction.atomic():
        request = _lock(request)
        if request.status == Status.AWAITING_APPROVAL:
            request.save(update_fields=_transition_apply(request, "bundle_release"))
    return request


def request_job_failed(*, request: Request, job_id: int, actor: Actor) -> Request:
    """Put the request in "needs attention": a source failed for good (retry it, or close the request partly done)."""
    with transaction.atomic():
        request = _lock(request)
        if transition_allowed(request, "job_fail"):
            request.save(update_fields=_transition_apply(request, "job_fail"))
            audit_record(actor=actor, action=AuditAction.REQUEST_NEEDS_ATTENTION, request=request, data={"job": job_id})
    return request


def request_job_retried(*, request: Request, job_id: int, actor: Actor) -> Request:
    """Put a request that needed attention back to work once nothing has failed any more."""
    with transaction.atomic():
        request = _lock(request)
        if transition_allowed(request, "job_retry"):
            request.save(update_fields=_transition_apply(request, "job_retry"))
            audit_record(
                actor=actor, action=AuditAction.REQUEST_BACK_IN_PROGRESS, request=request, data={"job": job_id}
            )
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


def requests_remind_staff(*, today: date | None = None) -> int:
    """Email staff one digest of open requests due within DSR_REMINDER_DAYS_BEFORE days or overdue."""
    today = today or _today()
    horizon = today + timedelta(days=settings.DSR_REMINDER_DAYS_BEFORE)
    due = list(
        Request.objects.filter(status__in=_WORKING)
        .filter(Q(extended_due_date__isnull=True, due_date__lte=horizon) | Q(extended_due_date__lte=horizon))
        .order_by("due_date", "id")
    )
    if not due:
        return 0
    with transaction.atomic():
        emails.email_deadline_reminder(requests=due, today=today)
        audit_record(
            actor=Actor.system(),
            action=AuditAction.REMINDERS_SENT,
            data={"count": len(due), "overdue": sum(1 for r in due if r.effective_due_date < today)},
        )
    return len(due)


def request_purge(*, request: Request, actor: Actor) -> Request:
    """Erase the requester's details from a closed request; keep dates, outcome and the audit trail."""
    with transaction.atomic():
        request = _lock(request)
        if request.status not in CLOSED_STATUSES:
            raise TransitionError(
                _("Request %(reference)s is still open; only closed requests are purged.")
                % {"reference": request.reference}
            )
        if request.purged_at is not None:
            return request
        request.email = ""
        request.name = ""
        request.phone = ""
        request.customer_number = ""
        request.details = {}
        # Free text written about the person may hold personal data; the grounds stay.
        request.outcome_reasons = ""
        request.extension_reasons = ""
        request.purged_at = _now()
        request.save(
            update_fields=[
                "email",
                "name",
                "phone",
                "customer_number",
                "details",
                "outcome_reasons",
                "extension_reasons",
                "purged_at",
                "updated_at",
            ]
        )
        request.suspensions.update(note="")
        request.challenges.all().delete()
        # Files staff uploaded to manual tasks (the person's chats, letters) go too, once the purge commits.
        uploads = list(request.manual_tasks.exclude(uploaded_file="").values_list("uploaded_file", flat=True))
        request.manual_tasks.update(uploaded_file="")
        transaction.on_commit(lambda: _uploads_delete(uploads))
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_PURGED,
            request=request,
            data={"status": request.status, "files": len(uploads)},
        )
    return request


def _uploads_delete(names: list[str]) -> None:
    storage = sealed_storage()
    for name in names:
        if storage.exists(name):
            storage.delete(name)


def requests_purge_closed(*, now: datetime | None = None) -> int:
    """Purge every request closed longer than DSR_RECORD_RETENTION_DAYS ago; return how many."""
    cutoff = (now or _now()) - timedelta(days=settings.DSR_RECORD_RETENTION_DAYS)
    ids = list(
        Request.objects.filter(status__in=CLOSED_STATUSES, closed_at__lt=cutoff, purged_at__isnull=True).values_list(
            "pk", flat=True
        )[:1000]
    )
    for pk in ids:
        request_purge(request=Request(pk=pk), actor=Actor.system())
    return len(ids)


# --- The privacy team's work on a request (dashboard) -------------------------------


def _assignee_check(assignee) -> None:
    if assignee is not None and not (assignee.is_active and assignee.has_perm("dsr.handle_request")):
        raise RequestInvalid({"assignee": [_("Assign to an active member of the team who handles requests.")]})


def request_assign(*, request: Request, assignee, actor: Actor) -> Request:
    """Give an open request to a team member who handles requests (or to no one, with None)."""
    _assignee_check(assignee)
    with transaction.atomic():
        request = _lock(request)
        if request.status not in OPEN_STATUSES:
            raise TransitionError(
                _("Request %(reference)s is closed; only open requests are assigned.")
                % {"reference": request.reference}
            )
        request.assignee = assignee
        request.save(update_fields=["assignee", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.REQUEST_ASSIGNED,
            request=request,
            data={"assignee": assignee.pk if assignee is not None else None},
        )
    return request


def requests_assign_bulk(*, request_ids: list[int], assignee, actor: Actor) -> int:
    """Assign every open request among `request_ids` in one transaction; return how many were assigned."""
    _assignee_check(assignee)
    if len(request_ids) > 500:
        raise RequestInvalid({"requests": [_("Assign at most 500 requests at a time.")]})
    with transaction.atomic():
        requests = list(
            Request.objects.select_for_update().filter(pk__in=request_ids, status__in=OPEN_STATUSES).order_by("pk")
        )
        for request in requests:
            request.assignee = assignee
            request.save(update_fields=["assignee", "updated_at"])
            audit_record(
                actor=actor,
                action=AuditAction.REQUEST_ASSIGNED,
                request=request,
                data={"assignee": assignee.pk if assignee is not None else None, "bulk": True},
            )
    return len(requests)


def request_note_add(*, request: Request, text: str, actor: Actor, author=None) -> RequestNote:
    """Add an internal note for colleagues; the audit records that a note was added, never its text."""
    text = _required_text(text, field="text", message=_("Write the note."))
    with transaction.atomic():
        request = _lock(request)
        note = RequestNote.objects.create(request=request, author=author, text=text)
        audit_record(actor=actor, action=AuditAction.REQUEST_NOTE_ADDED, request=request, data={"note": note.pk})
    return note


def staff_action_deny(*, user, action: str, request: Request | None = None) -> None:
    """Record that a staff member tried an action beyond their role; nothing else changes."""
    audit_record(actor=Actor.staff(user), action=AuditAction.STAFF_DENIED, request=request, data={"attempted": action})

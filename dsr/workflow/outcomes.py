"""Closing a request: refused, completed (fully or partly), cancelled, or expired unconfirmed."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.models import (
    AgentFiling,
    AuditAction,
    Plan,
    RefusalGround,
    Request,
    Status,
    WebhookEvent,
)
from dsr.requests import RequestInvalid, refusal_reasons_own
from dsr.webhooks import webhook_event_emit
from dsr.workflow.base import (
    TransitionError,
    _close,
    _closing,
    _lock,
    _now,
    _required_text,
)

# --- Outcomes ----------------------------------------------------------------------


def request_refuse(*, request: Request, ground: str, reasons: str, actor: Actor) -> Request:
    """Refuse the request with a ground and reasons; the letter names Datatilsynet and the courts (Art. 12(4))."""
    if ground not in RefusalGround.values:
        raise RequestInvalid({"ground": [_("Choose a refusal ground.")]})
    reasons = _required_text(reasons, field="reasons", message=_("Give the reasons for the refusal."))
    if not refusal_reasons_own(reasons):
        # GDPR Art. 12(4): the person is told why, not only on which ground.
        raise RequestInvalid({"reasons": [_("Write this request's own reasons after the template's opening words.")]})
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
        agent_language = AgentFiling.objects.filter(request=request).values_list("agent_language", flat=True).first()
        if agent_language:
            # An agent who never confirmed their address: the consumer was never asked, so nothing goes to them.
            emails.email_agent_notice(request, event="expired", language=agent_language)
        else:
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

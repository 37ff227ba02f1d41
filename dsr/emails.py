"""One small function per message; the templates do the wording.

Each function records a Message against its request and hands it to the
worker after commit; dsr.outbox renders it at send time in the requester's
language from templates/dsr/emails/<kind>/{subject,body}.<lang>.{txt,html},
or from a privacy admin's override of one of them (dsr/message_templates.py).
"""

from collections.abc import Callable
from datetime import date
from email.utils import parseaddr

from django.conf import settings

from dsr import crypto
from dsr.audit_checkpoints import Checkpoint
from dsr.datamap.selectors import controller_current
from dsr.jurisdictions import authority_for
from dsr.models import Fee, Message, Request, Suspension

# Datatilsynet, the Danish supervisory authority (GDPR Art. 77; Art. 12(4)).
DATATILSYNET = {
    "name": "Datatilsynet",
    "address": "Carl Jacobsens Vej 35, 2500 Valby",
    "phone": "33 19 32 00",
    "email": "dt@datatilsynet.dk",
    "url": "https://www.datatilsynet.dk",
}

SEAL_PURPOSE = "message-context"
# Sends one recorded message (dsr.tasks.message_send.delay), registered by dsr.apps.
_message_starter: Callable[[int], object] | None = None


def message_starter_set(starter: Callable[[int], object] | None) -> None:
    """Register the function that hands a recorded message to the worker (the Celery task's ``delay``)."""
    global _message_starter
    _message_starter = starter


def absolute_url(path: str) -> str:
    """Return `path` on the public base URL."""
    return settings.DSR_BASE_URL + path


def controller_context(request: Request | None = None) -> dict:
    """Return the controller as the active data map describes it, or a minimal one before any map is loaded.

    For a ``request``, the authority is the one of the law it is answered under (dsr/jurisdictions/).
    """
    controller = controller_current() or _controller_minimal()
    if request is not None:
        controller = {
            **controller,
            "authority": authority_for(request.jurisdiction, configured=controller.get("authority")),
        }
    return controller


def _controller_minimal() -> dict:
    return {
        "name": settings.DSR_CONTROLLER_NAME,
        "address": "",
        "cvr": "",
        "email": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "phone": "",
        "dpo_email": "",
        "authority": DATATILSYNET,
    }


def message_task() -> str | None:
    """Return the task the registered starter records a "go" for, or None if it records none."""
    return getattr(_message_starter, "task", None)


def _message(
    request: Request | None, kind: str, *, language: str, secret: dict | None = None, to_staff: bool = False
) -> Message:
    return Message(
        request=request,
        kind=kind,
        language=language,
        to_staff=to_staff,
        sealed_context=crypto.seal(secret, purpose=SEAL_PURPOSE) if secret else "",
    )


def _queue(
    request: Request | None, kind: str, *, language: str, secret: dict | None = None, to_staff: bool = False
) -> Message:
    message = _message(request, kind, language=language, secret=secret, to_staff=to_staff)
    message.save(force_insert=True)
    starter = _message_starter
    if starter is not None:
        starter(message.pk)
    return message


def email_verification(request: Request, *, code: str, link_token: str) -> Message:
    """Send the one-time code and link that confirm the requester controls the address."""
    return _queue(request, "verification", language=request.language, secret={"code": code, "link_token": link_token})


def verification_message(request: Request, *, code: str, link_token: str) -> Message:
    """Return email_verification's message, not saved, for a caller that writes it and its "go" itself."""
    return _message(request, "verification", language=request.language, secret={"code": code, "link_token": link_token})


def email_verification_locked(request: Request) -> Message:
    """Tell the address's owner that codes stopped working for it after many wrong ones, and staff will verify."""
    return _queue(request, "verification_locked", language=request.language)


def email_preference_code(*, email: str, language: str, code: str, link_token: str) -> Message:
    """Send the code and link that open the preference centre for ``email`` (no request: the address is sealed)."""
    return _queue(
        None, "preference_code", language=language, secret={"email": email, "code": code, "link_token": link_token}
    )


def email_receipt(request: Request) -> Message:
    """Confirm receipt with the reference, the due date and the status link."""
    return _queue(request, "receipt", language=request.language)


def email_access_confirmation(request: Request, *, search: dict) -> Message:
    """Tell the person at once whether data about them was found, before the full answer (LGPD Art. 19 I).

    ``search`` is what the sources had reported when it was queued (dsr.rights.confirmation): system and
    category names, no values; sealed until sent so the email says what the audit event counted.
    """
    return _queue(request, "access_confirmation", language=request.language, secret={"search": search})


def email_suspended(request: Request, *, suspension: Suspension) -> Message:
    """Ask for identity information or a clarification; the clock is stopped meanwhile."""
    return _queue(request, "suspended", language=request.language, secret={"suspension_id": suspension.pk})


def email_extended(request: Request) -> Message:
    """Tell the requester the deadline is extended, and why (GDPR Art. 12(3))."""
    return _queue(request, "extended", language=request.language)


def email_refused(request: Request) -> Message:
    """Refuse with reasons, the right to complain to Datatilsynet and to a judicial remedy (Art. 12(4))."""
    return _queue(request, "refused", language=request.language)


def email_fee(request: Request, *, fee: Fee) -> Message:
    """Ask the reasonable fee: amount, ground, reasons, how to pay, what happens unpaid (Art. 12(5), 15(3))."""
    return _queue(request, "fee", language=request.language, secret={"fee_id": fee.pk})


def email_completed(request: Request, *, download_token: str = "") -> Message:
    """Tell the requester the request is done: what was done, or the link to their export."""
    secret = {"download_token": download_token} if download_token else None
    return _queue(request, "completed", language=request.language, secret=secret)


def email_partially_completed(request: Request) -> Message:
    """Tell the requester what was done and, for each part not done, why."""
    return _queue(request, "partially_completed", language=request.language)


def email_cancelled(request: Request) -> Message:
    """Confirm that the request was cancelled."""
    return _queue(request, "cancelled", language=request.language)


def email_expired(request: Request) -> Message:
    """Tell the address that an unconfirmed request was closed and how to file again."""
    return _queue(request, "expired", language=request.language)


def email_status_link(request: Request, *, salt: str = "") -> Message:
    """Send a new status link: the current salt's (old links are dead), or a pending salt's (old links live on)."""
    return _queue(request, "status_link", language=request.language, secret={"status_salt": salt} if salt else None)


def email_download_link(request: Request, *, token: str) -> Message:
    """Send a new link to the requester's export; the old links no longer work."""
    return _queue(request, "download_link", language=request.language, secret={"download_token": token})


def email_restriction_lift(request: Request, *, reasons: str = "", lift_date: date | None = None) -> Message:
    """Tell the requester, before it happens, that the restriction will be lifted (GDPR Art. 18(3))."""
    secret = {"reasons": reasons, "lift_date": lift_date.isoformat() if lift_date else ""}
    return _queue(request, "restriction_lift", language=request.language, secret=secret)


def email_recipient_notification(request: Request, *, notification, person: dict[str, list[str]]) -> Message:
    """Tell a recipient of the person's data about a rectification, erasure or restriction (GDPR Art. 19).

    ``person`` holds only the identifiers, by kind, that the recipient already holds; sealed until sent.
    """
    secret = {"notification_id": notification.pk, "person": person}
    return _queue(request, "recipient_notification", language=settings.LANGUAGE_CODE[:2], secret=secret)


def email_transmission(request: Request, *, transmission_id: int, token: str) -> Message:
    """Send the receiving controller its link to the person's export (GDPR Art. 20(2)); the token sealed until sent."""
    return _queue(
        request, "transmission", language=request.language, secret={"transmission_id": transmission_id, "token": token}
    )


def email_transmission_outcome(request: Request) -> Message:
    """Tell the person whether their data was sent to the company they named, or why not."""
    return _queue(request, "transmission_outcome", language=request.language)


def email_agent_verification(request: Request, *, token: str, language: str) -> Message:
    """Send an authorised agent the link that confirms their address (CCPA regs § 7063); the token sealed."""
    return _queue(request, "agent_verification", language=language, secret={"link_token": token})


def email_agent_consumer_confirm(request: Request, *, token: str) -> Message:
    """Ask the consumer, in their language, to confirm they gave the agent permission (CCPA regs § 7063(a)(2))."""
    return _queue(request, "agent_consumer_confirm", language=request.language, secret={"link_token": token})


def email_agent_notice(request: Request, *, event: str, language: str) -> Message:
    """Tell the authorised agent where the request stands (accepted, closed, expired): never the consumer's data."""
    return _queue(request, "agent_notice", language=language, secret={"event": event})


def email_audit_checkpoint(checkpoint: Checkpoint) -> Message | None:
    """Send a new audit checkpoint, its file attached, to DSR_AUDIT_CHECKPOINT_EMAILS (none set: nothing)."""
    if not settings.DSR_AUDIT_CHECKPOINT_EMAILS:
        return None
    document = checkpoint.path.read_text(encoding="ascii")
    return _queue(
        None,
        "audit_checkpoint",
        language=settings.LANGUAGE_CODE[:2],
        secret={
            "checkpoint": {"seq": checkpoint.seq, "hash": checkpoint.hash, "at": checkpoint.at, "key": checkpoint.key},
            "file": {"name": checkpoint.path.name, "text": document},
        },
    )


def email_deadline_reminder(*, requests: list[Request], today: date) -> Message:
    """Send staff one digest of requests due soon or overdue."""
    return _queue(
        None,
        "deadline_reminder",
        language=settings.LANGUAGE_CODE[:2],
        to_staff=True,
        secret={"request_ids": [r.pk for r in requests], "today": today.isoformat()},
    )

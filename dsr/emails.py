"""One small function per message; the templates do the wording.

Each function records a Message against its request and hands it to Celery
after commit; `message_render` builds it at send time in the requester's
language from templates/dsr/emails/<kind>/{subject,body}.<lang>.{txt,html},
or from a privacy admin's override of one of them (dsr/message_templates.py).
"""

from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from dsr import crypto
from dsr.message_templates import message_parts_render
from dsr.models import Message, RefusalGround, Request, Right, Suspension

# Datatilsynet, the Danish supervisory authority (GDPR Art. 77; Art. 12(4)).
DATATILSYNET = {
    "name": "Datatilsynet",
    "address": "Carl Jacobsens Vej 35, 2500 Valby",
    "phone": "33 19 32 00",
    "email": "dt@datatilsynet.dk",
    "url": "https://www.datatilsynet.dk",
}

_SEAL_PURPOSE = "message-context"


def controller_context() -> dict:
    """Return the controller as the active data map describes it, or a minimal one before any map is loaded."""
    from dsr.datamap.selectors import controller_current

    controller = controller_current()
    if controller:
        return controller
    return {
        "name": settings.DSR_CONTROLLER_NAME,
        "address": "",
        "cvr": "",
        "email": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "phone": "",
        "dpo_email": "",
        "authority": DATATILSYNET,
    }


def _queue(
    request: Request | None, kind: str, *, language: str, secret: dict | None = None, to_staff: bool = False
) -> Message:
    message = Message.objects.create(
        request=request,
        kind=kind,
        language=language,
        to_staff=to_staff,
        sealed_context=crypto.seal(secret, purpose=_SEAL_PURPOSE) if secret else "",
    )
    from dsr.tasks import message_send

    transaction.on_commit(lambda: message_send.delay(message.pk))
    return message


def email_verification(request: Request, *, code: str, link_token: str) -> Message:
    """Send the one-time code and link that confirm the requester controls the address."""
    return _queue(request, "verification", language=request.language, secret={"code": code, "link_token": link_token})


def email_receipt(request: Request) -> Message:
    """Confirm receipt with the reference, the due date and the status link."""
    return _queue(request, "receipt", language=request.language)


def email_suspended(request: Request, *, suspension: Suspension) -> Message:
    """Ask for identity information or a clarification; the clock is stopped meanwhile."""
    return _queue(request, "suspended", language=request.language, secret={"suspension_id": suspension.pk})


def email_extended(request: Request) -> Message:
    """Tell the requester the deadline is extended, and why (GDPR Art. 12(3))."""
    return _queue(request, "extended", language=request.language)


def email_refused(request: Request) -> Message:
    """Refuse with reasons, the right to complain to Datatilsynet and to a judicial remedy (Art. 12(4))."""
    return _queue(request, "refused", language=request.language)


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


def email_status_link(request: Request) -> Message:
    """Send a new status link (the old ones no longer work)."""
    return _queue(request, "status_link", language=request.language)


def email_download_link(request: Request, *, token: str) -> Message:
    """Send a new link to the requester's export; the old links no longer work."""
    return _queue(request, "download_link", language=request.language, secret={"download_token": token})


def email_restriction_lift(request: Request, *, reasons: str = "", lift_date: date | None = None) -> Message:
    """Tell the requester, before it happens, that the restriction will be lifted (GDPR Art. 18(3))."""
    secret = {"reasons": reasons, "lift_date": lift_date.isoformat() if lift_date else ""}
    return _queue(request, "restriction_lift", language=request.language, secret=secret)


def email_recipient_notification(request: Request, *, notification) -> Message:
    """Tell a recipient of the person's data about a rectification, erasure or restriction (GDPR Art. 19)."""
    secret = {"notification_id": notification.pk}
    return _queue(request, "recipient_notification", language=settings.LANGUAGE_CODE[:2], secret=secret)


def email_deadline_reminder(*, requests: list[Request], today: date) -> Message:
    """Send staff one digest of requests due soon or overdue."""
    return _queue(
        None,
        "deadline_reminder",
        language=settings.LANGUAGE_CODE[:2],
        to_staff=True,
        secret={"request_ids": [r.pk for r in requests], "today": today.isoformat()},
    )


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    to: list[str]
    # (file name, content, MIME type): the formal letter for refusals, extensions and erasures.
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


def absolute_url(path: str) -> str:
    """Return `path` on the public base URL."""
    return settings.DSR_BASE_URL + path


def message_render(message: Message) -> RenderedMessage:
    """Render the message in its language with the request's current state."""
    from dsr.selectors import request_deadline
    from dsr.workflow import request_status_token

    secret = crypto.unseal(message.sealed_context, purpose=_SEAL_PURPOSE) if message.sealed_context else {}
    context: dict = {"controller": controller_context(), "base_url": settings.DSR_BASE_URL}
    request = message.request
    with translation.override(message.language):
        if request is not None:
            context.update(
                request=request,
                reference=request.reference,
                right_label=Right(request.right).label,
                deadline=request_deadline(request),
                reasons=request.outcome_reasons,
                status_url=absolute_url(
                    reverse(
                        "dsr:status_link",
                        kwargs={"reference": request.reference, "token": request_status_token(request)},
                    )
                ),
            )
            to = [request.email]
        else:
            to = _staff_addresses()
        if message.kind == "verification":
            context.update(
                code=secret["code"],
                verify_url=absolute_url(reverse("dsr:verify_link", kwargs={"token": secret["link_token"]})),
                expires_minutes=settings.DSR_VERIFICATION_TTL_MINUTES,
            )
        elif message.kind == "suspended":
            context["suspension"] = Suspension.objects.get(pk=secret["suspension_id"])
        elif message.kind == "extended":
            context["reasons"] = request.extension_reasons
        elif message.kind == "refused":
            context["ground_label"] = RefusalGround(request.refusal_ground).label if request.refusal_ground else ""
        elif message.kind == "restriction_lift":
            context["reasons"] = secret.get("reasons", "")
            context["lift_date"] = date.fromisoformat(secret["lift_date"]) if secret.get("lift_date") else None
        elif message.kind == "recipient_notification":
            # GDPR Art. 19: this one goes to the recipient, not to the requester.
            from dsr.models import RecipientNotification

            notification = RecipientNotification.objects.get(pk=secret["notification_id"])
            context["notification"] = notification
            to = [notification.contact_email]
        if secret.get("download_token") and request is not None:
            from dsr.exports.delivery import link_by_token

            link = link_by_token(secret["download_token"])
            context.update(
                download_url=absolute_url(reverse("dsr:download", kwargs={"token": secret["download_token"]})),
                download_link=link,
                download_bundle=link.bundle if link else None,
            )
        if message.kind in ("completed", "partially_completed") and request is not None:
            # What erasure removed and what it kept, why and until when (GDPR Art. 17(3), 12(1)).
            from dsr.orchestration import erasure_summary

            context["erasure_summary"] = erasure_summary(request, language=message.language)
        if message.kind == "deadline_reminder":
            today = date.fromisoformat(secret["today"])
            reminded = Request.objects.filter(pk__in=secret["request_ids"]).order_by("due_date", "id")
            context.update(
                today=today,
                requests=[(r, request_deadline(r, today=today)) for r in reminded],
                dashboard_url=absolute_url(reverse("dashboard")),
            )
        # A privacy admin's override where there is one, else the file (dsr/message_templates.py).
        subject, text, html = message_parts_render(kind=message.kind, language=message.language, context=context)
        subject = " ".join(subject.split())
        attachments = _letter_attachments(message, context)
    return RenderedMessage(subject=subject, text=text, html=html, to=to, attachments=attachments)


def _letter_attachments(message: Message, context: dict) -> list[tuple[str, bytes, str]]:
    """Return the formal letter that goes with the message as a PDF, if it has one."""
    from dsr.letters import letter_filename, letter_pdf

    request = message.request
    if request is None:
        return []
    if message.kind in ("refused", "extended"):
        kind, letter_context = message.kind, context
    elif message.kind in ("completed", "partially_completed") and context.get("erasure_summary"):
        kind, letter_context = "erasure_confirmation", {**context, **_erasure_letter_context(request, context)}
    else:
        return []
    pdf = letter_pdf(kind, letter_context, message.language)
    return [(letter_filename(kind, request.reference, message.language), pdf, "application/pdf")]


def _erasure_letter_context(request: Request, context: dict) -> dict:
    """Turn the engine's erasure summary into the letter's rows, in the message's language (Art. 17(3), 19)."""
    from django.utils.translation import gettext as _

    from dsr.recipients import request_recipient_notifications

    summary = context["erasure_summary"]
    erased = [
        {"source": row["source"], "what": _("%(table)s: %(count)d deleted") % row} for row in summary["erased"]
    ] + [{"source": row["source"], "what": _("%(table)s: %(count)d anonymised") % row} for row in summary["anonymised"]]
    kept = [
        {
            "what": f"{row['source']}: {row['table']} ({row['count']})",
            "why": " — ".join(part for part in (row.get("hold"), row.get("law")) if part),
            "until": date.fromisoformat(row["until"]) if isinstance(row.get("until"), str) else row.get("until"),
        }
        for row in summary["kept"]
    ]
    recipients = sorted({n.recipient_name for n in request_recipient_notifications(request)})
    return {"erased": erased, "kept": kept, "recipients": recipients}


def _staff_addresses() -> list[str]:
    if settings.DSR_STAFF_NOTIFY_EMAILS:
        return list(settings.DSR_STAFF_NOTIFY_EMAILS)
    from django.contrib.auth import get_user_model

    return list(
        get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="").values_list("email", flat=True)
    )

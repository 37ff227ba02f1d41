"""Render and send the recorded messages: each in its language, at send time, from the request's state.

A message is rendered from templates/dsr/emails/<kind>/{subject,body}.<lang>.{txt,html}
(or a privacy admin's override, dsr/message_templates.py). What a closing
letter says about the work in the sources comes from the request's recorded
outcome (dsr.rights.outcome): only what the sources reported doing.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone, translation

from dsr import crypto
from dsr.audit import Actor, audit_record
from dsr.emails import SEAL_PURPOSE, absolute_url, controller_context
from dsr.engine.connectors import datamap_current
from dsr.exports.delivery import link_by_token
from dsr.exports.transmission import transmission_message_context
from dsr.jurisdictions import profile_get
from dsr.letters import letter_filename, letter_kind_for, letter_pdf
from dsr.message_templates import message_parts_render
from dsr.models import (
    AgentFiling,
    AuditAction,
    Fee,
    FeeGround,
    Message,
    MessageStatus,
    RecipientNotification,
    RefusalGround,
    Request,
    Right,
    Status,
    Suspension,
)
from dsr.rights.confirmation import access_search_localise
from dsr.rights.outcome import outcome_of, outcome_view
from dsr.rights.rectification import corrections_resolve
from dsr.selectors import request_deadline
from dsr.workflow import agent_details, request_status_token

# Messages that say what happened to a direct transmission (dsr.exports.transmission).
_TRANSMISSION_KINDS = ("completed", "transmission", "transmission_outcome")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    to: list[str]
    # (file name, content, MIME type): the formal letter for refusals, extensions and erasures.
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


# CCPA regs § 7063 (dsr/workflow/agents.py): the agent's link and notices go to the agent, the permission question
# to the consumer.
_AGENT_KINDS = ("agent_verification", "agent_consumer_confirm", "agent_notice")


def _agent_context(request: Request, kind: str, secret: dict) -> tuple[dict, list[str]]:
    """Return what an agent's message says, and the agent's address where the message goes to the agent."""
    filing = AgentFiling.objects.get(request=request)
    agent = agent_details(filing)
    context = {
        "filing": filing,
        "agent": agent,
        "event": secret.get("event", ""),
        "status_label": Status(request.status).label,
        "work_started": request.status == Status.IN_PROGRESS,
        "agent_expires_minutes": settings.DSR_VERIFICATION_TTL_MINUTES,
        "consumer_expires_days": settings.DSR_UNVERIFIED_EXPIRY_DAYS,
    }
    if kind == "agent_verification":
        context["confirm_url"] = absolute_url(reverse("dsr:agent_confirm", kwargs={"token": secret["link_token"]}))
    elif kind == "agent_consumer_confirm":
        context["confirm_url"] = absolute_url(
            reverse("dsr:agent_consumer_confirm", kwargs={"token": secret["link_token"]})
        )
        return context, []
    return context, [agent["email"]]


def _outcome_context(request: Request, language: str) -> dict:
    """Return what the closing letter says about the work in the sources, from the recorded outcome."""
    outcome = outcome_of(request)
    if outcome is None:
        return {}
    return {"outcome": outcome_view(outcome, language=language, datamap=datamap_current(), request=request)}


def _notice_context(request: Request, notification: RecipientNotification, person: dict[str, list[str]]) -> dict:
    """Return what an Art. 19 notice may say: only identifiers and changed data of kinds the recipient had."""
    datamap = datamap_current()
    corrections = []
    outcome = outcome_of(request)
    if notification.operation == "rectification" and datamap is not None and outcome is not None:
        # Only corrections that changed data, of kinds the recipient received: not those already right.
        made = {item["key"] for item in outcome.items if item.get("state") == "corrected"}
        for correction in corrections_resolve(datamap, request.details.get("corrections", [])):
            key = correction["key"]
            entry = datamap.corrections.get(key)
            # A correction is listed only where its change reached data this recipient received (GDPR Art. 19).
            if (
                entry
                and key in made
                and key in notification.corrections
                and entry["category"] in notification.categories
            ):
                corrections.append({"label": entry["name"], "correct": correction.get("correct", "")})
    # The identifiers were sealed with the message when it was recorded (the plan forgets them when the request
    # closes), and only those of kinds the recipient already holds.
    shown = {kind: ", ".join(values) for kind, values in person.items() if kind in notification.identifier_kinds}
    return {"notification": notification, "person": shown, "corrections": corrections}


def message_render(message: Message, *, letter_date: date | None = None) -> RenderedMessage:
    """Render the message in its language with the request's current state.

    ``letter_date`` dates the formal letter (default: today, the day the email is sent).
    """
    secret = crypto.unseal(message.sealed_context, purpose=SEAL_PURPOSE) if message.sealed_context else {}
    context: dict = {"controller": controller_context(), "base_url": settings.DSR_BASE_URL}
    if letter_date is not None:
        context["letter_date"] = letter_date
    request = message.request
    with translation.override(message.language):
        if request is not None:
            profile = profile_get(request.jurisdiction)
            context.update(
                # The law the request is answered under: its authority, its periods and its wording.
                controller=controller_context(request),
                jurisdiction=profile,
                law=profile.wording_in(message.language),
                request=request,
                reference=request.reference,
                # The law's own name for the right where it has one (CCPA: "Right to know").
                right_label=profile.right_name(request.right, request.details) or Right(request.right).label,
                deadline=request_deadline(request),
                reasons=request.outcome_reasons,
                status_url=absolute_url(
                    reverse(
                        "dsr:status_link",
                        kwargs={
                            "reference": request.reference,
                            "token": request_status_token(request, salt=secret.get("status_salt", "")),
                        },
                    )
                ),
            )
            # A "lost link" answer: the link is the pending one, earlier links work until it is opened.
            context["earlier_links_kept"] = bool(secret.get("status_salt"))
            to = [request.email]
        else:
            to = _staff_addresses()
        if message.kind == "verification":
            context.update(
                code=secret["code"],
                verify_url=absolute_url(reverse("dsr:verify_link", kwargs={"token": secret["link_token"]})),
                expires_minutes=settings.DSR_VERIFICATION_TTL_MINUTES,
            )
        elif message.kind == "preference_code":
            # The preference centre's code goes to the address typed there; no request is behind it.
            context.update(
                code=secret["code"],
                verify_url=absolute_url(reverse("dsr:preferences_link", kwargs={"token": secret["link_token"]})),
                expires_minutes=settings.DSR_VERIFICATION_TTL_MINUTES,
            )
            to = [secret["email"]]
        elif message.kind == "suspended":
            context["suspension"] = Suspension.objects.get(pk=secret["suspension_id"])
        elif message.kind == "access_confirmation":
            context["search"] = access_search_localise(secret["search"], message.language)
        elif message.kind == "extended":
            context["reasons"] = request.extension_reasons
        elif message.kind == "refused":
            context["ground_label"] = RefusalGround(request.refusal_ground).label if request.refusal_ground else ""
        elif message.kind == "fee":
            fee = Fee.objects.get(pk=secret["fee_id"])
            context.update(fee=fee, ground_label=FeeGround(fee.ground).label, reasons=fee.reasons)
        elif message.kind == "restriction_lift":
            context["reasons"] = secret.get("reasons", "")
            context["lift_date"] = date.fromisoformat(secret["lift_date"]) if secret.get("lift_date") else None
        elif message.kind in _AGENT_KINDS:
            told, addressee = _agent_context(request, message.kind, secret)
            context.update(told)
            to = addressee or to
        elif message.kind == "recipient_notification":
            # GDPR Art. 19: this one goes to the recipient, not to the requester.
            notification = RecipientNotification.objects.get(pk=secret["notification_id"])
            context.update(_notice_context(request, notification, secret.get("person", {})))
            to = [notification.contact_email]
        if secret.get("download_token") and request is not None:
            link = link_by_token(secret["download_token"])
            context.update(
                download_url=absolute_url(reverse("dsr:download", kwargs={"token": secret["download_token"]})),
                download_link=link,
                download_bundle=link.bundle if link else None,
            )
        if message.kind in ("completed", "partially_completed") and request is not None:
            context.update(_outcome_context(request, message.language))
        if message.kind in _TRANSMISSION_KINDS and request is not None:
            # GDPR Art. 20(2): what happened to the transmission the person asked for; "transmission" goes to the
            # receiving controller.
            told, addressee = transmission_message_context(kind=message.kind, request=request, secret=secret)
            context.update(told)
            to = addressee or to
        if message.kind == "audit_checkpoint":
            # To the addresses the operator named for checkpoints, not to staff (docs/security.md).
            context["checkpoint"] = secret["checkpoint"]
            to = list(settings.DSR_AUDIT_CHECKPOINT_EMAILS)
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
        # Optional sections leave blank lines behind; a plain-text reader sees one blank line between parts.
        text = re.sub(r"\n[ \t]*(?:\n[ \t]*){2,}", "\n\n", text).strip() + "\n"
        attachments = _letter_attachments(message, context)
        if message.kind == "audit_checkpoint":
            attachments.append((secret["file"]["name"], secret["file"]["text"].encode("ascii"), "application/json"))
    return RenderedMessage(subject=subject, text=text, html=html, to=to, attachments=attachments)


def _letter_attachments(message: Message, context: dict) -> list[tuple[str, bytes, str]]:
    """Return the formal letter that goes with the message as a PDF, if it has one."""
    request = message.request
    if request is None:
        return []
    kind = letter_kind_for(message.kind, right=request.right, has_outcome=bool(context.get("outcome")))
    if kind is None:
        return []
    pdf = letter_pdf(kind, context, message.language)
    return [(letter_filename(kind, request.reference, message.language), pdf, "application/pdf")]


# The letters a closed request's status page offers again: the closing ones (an extension's or a fee's letter
# belongs to a request still open, and a fee's context is forgotten once its email is sent).
_CLOSING_LETTERS = ("refused", "completed", "partially_completed")


def status_letter_message(request: Request) -> Message | None:
    """Return the sent closing email of a closed request whose letter the status page may offer, or None."""
    if request.is_open or request.purged_at is not None:
        return None
    message = (
        Message.objects.filter(request=request, kind__in=_CLOSING_LETTERS, status=MessageStatus.SENT)
        .order_by("-sent_at", "-id")
        .first()
    )
    if message is None:
        return None
    if message.kind != "refused" and (request.right != Right.ERASURE or outcome_of(request) is None):
        return None
    return message


def status_letter_render(*, request: Request, actor: Actor) -> tuple[str, bytes] | None:
    """Render again the letter the closing email carried, dated the day it was sent; record the download.

    Returns (file name, PDF) or None when the request has no such letter.
    """
    message = status_letter_message(request)
    if message is None:
        return None
    letter_date = timezone.localdate(message.sent_at)
    rendered = message_render(message, letter_date=letter_date)
    if not rendered.attachments:
        return None
    filename, pdf, _mimetype = rendered.attachments[0]
    audit_record(actor=actor, action=AuditAction.LETTER_DOWNLOADED, request=request, data={"message_id": message.pk})
    return filename, pdf


def _staff_addresses() -> list[str]:
    if settings.DSR_STAFF_NOTIFY_EMAILS:
        return list(settings.DSR_STAFF_NOTIFY_EMAILS)
    return list(
        get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="").values_list("email", flat=True)
    )

"""An authorised agent files a request for a Californian consumer (Cal. Civ. Code § 1798.130(a)(3); regs § 7063).

The agent gives who they are (a business: its name and Secretary of State entity number), who the consumer
is, what the consumer asks, and the proof of authority: the consumer's signed permission or a power of
attorney under Cal. Prob. Code §§ 4121-4130. Then:

1. the agent confirms their own address by an emailed link (as a requester does);
2. the request waits for the privacy team, who accept the proof or refuse it (§ 7063(b));
3. unless the proof is a power of attorney (§ 7063(c)), the consumer is emailed, in their language, who filed
   what for them, and confirms directly with us that they gave the permission (§ 7063(a)(2)); that link also
   confirms the consumer's address;
4. accepted and confirmed, the request goes on as any other: the answer goes to the consumer.

The CCPA clock runs from receipt throughout (§ 7021(b)): nothing here stops it. See
docs/decisions/0017-authorised-agents.md.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import EmailValidator
from django.db import transaction
from django.forms import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from dsr import crypto, deadlines, emails
from dsr.audit import Actor, audit_record
from dsr.challenges import link_hash
from dsr.jurisdictions import PROFILES, Profile
from dsr.models import (
    ActorType,
    AgentDecision,
    AgentDocumentKind,
    AgentFiling,
    AnswerFileKind,
    AuditAction,
    Channel,
    IdentityLevel,
    Language,
    RefusalGround,
    Request,
    Status,
    VerificationMethod,
    WebhookEvent,
)
from dsr.requests import RequestInvalid, details_clean, jurisdiction_clean, jurisdictions_offered, requester_clean
from dsr.webhooks import webhook_event_emit
from dsr.workflow.answers import answer_file_kind
from dsr.workflow.base import TransitionError, _lock, _now, _required_text, _transition_apply, _work_start
from dsr.workflow.filing import reference_new
from dsr.workflow.outcomes import request_refuse

AGENT_SEAL = "agent"
AGENT_DOCUMENT_BYTES_LIMIT = 10 * 1024 * 1024
# A signature is on paper or in a signed PDF: a scan or the PDF itself, never a text file.
AGENT_DOCUMENT_KINDS = {
    AnswerFileKind.PDF: (".pdf",),
    AnswerFileKind.JPEG: (".jpg", ".jpeg"),
    AnswerFileKind.PNG: (".png",),
}
# What an agent may ask for the consumer: the law's request, as dsr's right and details.
AGENT_REQUESTS = {
    "know": ("access", {}),
    "delete": ("erasure", {}),
    "correct": ("rectification", {}),
    "opt_out": ("objection", {"scope": "direct_marketing"}),
    "limit": ("objection", {"scope": "sensitive"}),
}


class AgentLinkError(Exception):
    """An emailed agent or consumer link cannot be used; ``code`` says why, str() says it to a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AgentFiled:
    filing: AgentFiling
    # The agent's link token, for tests and the email only; stored hashed.
    token: str


def agent_profiles_offered() -> list[Profile]:
    """Return the profiles under which the portal lets an authorised agent file, in the order offered."""
    return [profile for profile in jurisdictions_offered() if profile.authorised_agents]


def agent_details(filing: AgentFiling) -> dict:
    """Return the agent's sealed details: name, email, business name and entity number."""
    return crypto.unseal(filing.sealed_agent, purpose=AGENT_SEAL) if filing.sealed_agent else {}


def agent_document_check(document: UploadedFile | None) -> tuple[UploadedFile, str]:
    """Return the document with its kind (by content); raise RequestInvalid saying what is wrong with it."""
    if document is None or not document.name:
        raise RequestInvalid({"document": [_("Add the signed permission or the power of attorney.")]})
    name = document.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if document.size > AGENT_DOCUMENT_BYTES_LIMIT:
        raise RequestInvalid(
            {
                "document": [
                    _("%(name)s is larger than %(limit)d MB.")
                    % {"name": name, "limit": AGENT_DOCUMENT_BYTES_LIMIT // (1024 * 1024)}
                ]
            }
        )
    if document.size == 0:
        raise RequestInvalid({"document": [_("%(name)s is empty.") % {"name": name}]})
    document.seek(0)
    head = document.read(4096)
    document.seek(0)
    kind = answer_file_kind(head)
    if kind not in AGENT_DOCUMENT_KINDS or not name.lower().endswith(AGENT_DOCUMENT_KINDS[kind]):
        raise RequestInvalid(
            {
                "document": [
                    _("%(name)s is not a PDF, JPG or PNG file (we look at the content, not only the name).")
                    % {"name": name}
                ]
            }
        )
    return document, kind


def _agent_clean(*, name: str, email: str, business: bool, entity_name: str, entity_number: str) -> dict:
    errors: dict[str, list[str]] = {}
    name, email = (name or "").strip(), (email or "").strip()
    entity_name, entity_number = (entity_name or "").strip(), (entity_number or "").strip()
    if not name:
        errors["agent_name"] = [_("Give your name.")]
    elif len(name) > 200:
        errors["agent_name"] = [_("Must be at most %(limit)d characters.") % {"limit": 200}]
    try:
        EmailValidator()(email)
    except ValidationError:
        errors["agent_email"] = [_("Enter a valid email address.")]
    if business:
        # CCPA regs § 7001(d): an authorised agent that is a business is registered with the Secretary of State.
        if not entity_name or len(entity_name) > 200:
            errors["entity_name"] = [_("Give the business's name as registered with the Secretary of State.")]
        if not entity_number or len(entity_number) > 64:
            errors["entity_number"] = [_("Give the business's Secretary of State entity number.")]
    if errors:
        raise RequestInvalid(errors)
    agent = {"name": name, "email": email}
    if business:
        agent.update(entity_name=entity_name, entity_number=entity_number)
    return agent


def agent_filing_submit(
    *,
    agent_name: str,
    agent_email: str,
    consumer_email: str,
    consumer_name: str,
    kind: str,
    document: UploadedFile | None,
    actor: Actor,
    business: bool = False,
    entity_name: str = "",
    entity_number: str = "",
    power_of_attorney: bool = False,
    corrections: list[dict] | None = None,
    consumer_language: str = Language.EN,
    agent_language: str = Language.EN,
    jurisdiction: str = "us-ca",
    idempotency_key: str | None = None,
) -> AgentFiled:
    """File the consumer's request for the agent and email the agent a link to confirm their address.

    Raises RequestInvalid naming every field that is wrong (a law that knows no agents, a missing or refused
    document); nothing is stored then. The consumer hears nothing until the agent has confirmed.
    """
    now = _now()
    errors: dict[str, list[str]] = {}
    profile = PROFILES.get(jurisdiction)
    if profile is None or not profile.authorised_agents:
        errors["jurisdiction"] = [_("An authorised agent can file here only under a law that provides for agents.")]
    agent: dict = {}
    try:
        agent = _agent_clean(
            name=agent_name, email=agent_email, business=business, entity_name=entity_name, entity_number=entity_number
        )
    except RequestInvalid as exc:
        errors.update(exc.message_dict)
    right, details = AGENT_REQUESTS.get(kind, ("", {}))
    if not right:
        errors["kind"] = [_("Choose what the consumer asks for.")]
    if right == "rectification":
        details = {"corrections": corrections or []}
    fields: dict = {}
    try:
        fields = requester_clean(
            right=right or "access",
            email=consumer_email,
            name=consumer_name,
            phone="",
            customer_number="",
            language=consumer_language,
            channel=Channel.WEB,
            received_at=None,
            now=now,
        )
    except RequestInvalid as exc:
        errors.update({f"consumer_{key}": messages for key, messages in exc.message_dict.items()})
    if not (consumer_name or "").strip():
        errors.setdefault("consumer_name", []).append(_("Give the consumer's name."))
    clean_details: dict = {}
    if right:
        try:
            clean_details = details_clean(right, details)
            if "jurisdiction" not in errors:
                jurisdiction_clean(jurisdiction, right=right, details=clean_details)
        except RequestInvalid as exc:
            errors.update(exc.message_dict)
    checked = None
    try:
        checked = agent_document_check(document)
    except RequestInvalid as exc:
        errors.update(exc.message_dict)
    if errors:
        raise RequestInvalid(errors)
    if idempotency_key:
        # The same form posted twice files one request and sends one link.
        existing = AgentFiling.objects.filter(request__idempotency_key=idempotency_key).first()
        if existing is not None:
            return AgentFiled(filing=existing, token="")

    upload, file_kind = checked
    received = deadlines.local_date(fields["received_at"], settings.TIME_ZONE)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        request = Request.objects.create(
            **fields,
            reference=reference_new(),
            details=clean_details,
            status_salt=secrets.token_hex(16),
            jurisdiction=jurisdiction,
            # § 7021(b): 45 days from receipt, whatever the time needed to confirm the agent and the consumer.
            due_date=profile.due_date(received, right=fields["right"]),
            idempotency_key=idempotency_key or None,
        )
        filing = AgentFiling(
            request=request,
            sealed_agent=crypto.seal(agent, purpose=AGENT_SEAL),
            business=business,
            agent_language=agent_language if agent_language in Language.values else Language.EN,
            document_kind=AgentDocumentKind.POWER_OF_ATTORNEY if power_of_attorney else AgentDocumentKind.PERMISSION,
            document_name=upload.name.rsplit("/", 1)[-1][:255],
            document_type=file_kind,
            document_size=upload.size,
            agent_token_hash=link_hash(token),
            agent_link_expires_at=now + timedelta(minutes=settings.DSR_VERIFICATION_TTL_MINUTES),
        )
        filing.document.save("upload", upload, save=False)
        filing.save()
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_FILED,
            request=request,
            data={
                "right": request.right,
                "channel": request.channel,
                "status": request.status,
                "document_kind": filing.document_kind,
                "business": business,
            },
        )
        webhook_event_emit(event_type=WebhookEvent.REQUEST_RECEIVED, request=request)
        emails.email_agent_verification(request, token=token, language=filing.agent_language)
    return AgentFiled(filing=filing, token=token)


def _filing_by_token(token: str, *, consumer: bool) -> AgentFiling:
    if not token or len(token) > 100:
        raise AgentLinkError("invalid", _("This link is not valid."))
    lookup = {"consumer_token_hash": link_hash(token)} if consumer else {"agent_token_hash": link_hash(token)}
    filing = AgentFiling.objects.select_related("request").filter(**lookup).first()
    if filing is None:
        raise AgentLinkError("invalid", _("This link is not valid."))
    return filing


def _link_check(filing: AgentFiling, *, consumer: bool) -> None:
    stored = filing.consumer_token_hash if consumer else filing.agent_token_hash
    confirmed = (filing.consumer_confirmed_at or filing.consumer_denied_at) if consumer else filing.agent_confirmed_at
    expires = filing.consumer_link_expires_at if consumer else filing.agent_link_expires_at
    if confirmed is not None:
        raise AgentLinkError("used", _("This has already been confirmed. Thank you."))
    if not filing.request.is_open or filing.decision == AgentDecision.REFUSED:
        raise AgentLinkError("closed", _("This request has been closed; there is nothing more to confirm."))
    if expires is None or _now() >= expires:
        raise AgentLinkError("expired", _("This link has expired."))
    if not stored:
        raise AgentLinkError("invalid", _("This link is not valid."))


def agent_link_filing(*, token: str, consumer: bool = False) -> AgentFiling:
    """Return the filing an emailed agent (or consumer) link belongs to without using it (the GET page)."""
    filing = _filing_by_token(token, consumer=consumer)
    _link_check(filing, consumer=consumer)
    return filing


def _filing_lock(filing: AgentFiling) -> AgentFiling:
    return AgentFiling.objects.select_for_update().select_related("request").get(pk=filing.pk)


def agent_confirm(*, token: str, actor: Actor) -> AgentFiling:
    """Record that the agent controls their address; hand the filing to the team and ask the consumer (§ 7063)."""
    with transaction.atomic():
        filing = _filing_lock(_filing_by_token(token, consumer=False))
        if not hmac.compare_digest(filing.agent_token_hash, link_hash(token)):
            raise AgentLinkError("invalid", _("This link is not valid."))
        _link_check(filing, consumer=False)
        request = _lock(filing.request)
        now = _now()
        fields = _transition_apply(request, "agent_review")
        request.save(update_fields=fields)
        filing.request = request
        filing.agent_confirmed_at = now
        consumer_token = ""
        if filing.consumer_confirmation_needed:
            # § 7063(a)(2): the consumer confirms with us directly; the link lives as long as an unconfirmed request.
            consumer_token = secrets.token_urlsafe(32)
            filing.consumer_token_hash = link_hash(consumer_token)
            filing.consumer_link_expires_at = now + timedelta(days=settings.DSR_UNVERIFIED_EXPIRY_DAYS)
            filing.consumer_asked_at = now
        filing.save(
            update_fields=["agent_confirmed_at", "consumer_token_hash", "consumer_link_expires_at", "consumer_asked_at"]
        )
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_CONFIRMED,
            request=request,
            data={"status": request.status, "consumer_asked": bool(consumer_token)},
        )
        if consumer_token:
            emails.email_agent_consumer_confirm(request, token=consumer_token)
    return filing


def agent_consumer_confirm(*, token: str, actor: Actor) -> AgentFiling:
    """Record that the consumer gave the agent permission (and controls the address); go on if accepted."""
    with transaction.atomic():
        filing = _filing_lock(_filing_by_token(token, consumer=True))
        _link_check(filing, consumer=True)
        request = _lock(filing.request)
        now = _now()
        filing.consumer_confirmed_at = now
        filing.save(update_fields=["consumer_confirmed_at"])
        # The link went to the consumer's address: it confirms the address as a requester's link does.
        request.identity_level = max(request.identity_level, IdentityLevel.EMAIL)
        request.verified_at = request.verified_at or now
        request.verification_method = VerificationMethod.EMAIL_LINK
        request.save(update_fields=["identity_level", "verified_at", "verification_method", "updated_at"])
        filing.request = request
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_CONSUMER_CONFIRMED,
            request=request,
            data={"status": request.status, "decision": filing.decision},
        )
        if filing.decision == AgentDecision.ACCEPTED:
            _proceed(request, filing)
    return filing


def agent_consumer_deny(*, token: str, actor: Actor) -> AgentFiling:
    """Record that the consumer gave the agent no permission and refuse the request (§ 7063(a)(2), (b)); tell both."""
    with transaction.atomic():
        filing = _filing_lock(_filing_by_token(token, consumer=True))
        _link_check(filing, consumer=True)
        request = _lock(filing.request)
        now = _now()
        with translation.override(request.language):
            # Said to the consumer in the refusal letter, in their language.
            reasons = _("You told us directly that you did not give %(agent)s permission to act for you.") % {
                "agent": agent_details(filing).get("name", "")
            }
        filing.consumer_denied_at = now
        filing.decision = AgentDecision.REFUSED
        filing.decided_at = now
        filing.save(update_fields=["consumer_denied_at", "decision", "decided_at"])
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_CONSUMER_DENIED,
            request=request,
            data={"status": request.status, "document_kind": filing.document_kind},
        )
        filing.request = request_refuse(
            request=request, ground=RefusalGround.AGENT_NOT_AUTHORISED, reasons=reasons, actor=actor
        )
    return filing


def agent_filing_accept(*, request: Request, actor: Actor) -> AgentFiling:
    """Accept the agent's proof of authority; the work starts now if the consumer confirmed or it is a POA."""
    with transaction.atomic():
        request = _lock(request)
        filing = _filing_lock(_filing_of(request))
        _decision_open(request, filing)
        filing.decision = AgentDecision.ACCEPTED
        filing.decided_at = _now()
        filing.decided_by_id = _staff_id(actor)
        filing.save(update_fields=["decision", "decided_at", "decided_by"])
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_ACCEPTED,
            request=request,
            data={
                "document_kind": filing.document_kind,
                "consumer_confirmed": filing.consumer_confirmed_at is not None,
            },
        )
        emails.email_agent_notice(request, event="accepted", language=filing.agent_language)
        if filing.power_of_attorney or filing.consumer_confirmed_at is not None:
            _proceed(request, filing)
    return filing


def agent_filing_refuse(*, request: Request, reasons: str, actor: Actor) -> AgentFiling:
    """Refuse the request because the agent did not show the consumer's permission (§ 7063(b)); tell both."""
    reasons = _required_text(reasons, field="reasons", message=_("Give the reasons for the refusal."))
    with transaction.atomic():
        locked = _lock(request)
        filing = _filing_lock(_filing_of(locked))
        _decision_open(locked, filing)
        filing.decision = AgentDecision.REFUSED
        filing.decided_at = _now()
        filing.decided_by_id = _staff_id(actor)
        filing.refusal_reasons = reasons
        filing.save(update_fields=["decision", "decided_at", "decided_by", "refusal_reasons"])
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_REFUSED,
            request=locked,
            data={
                "document_kind": filing.document_kind,
                "consumer_confirmed": filing.consumer_confirmed_at is not None,
            },
        )
        # The consumer's refusal letter (the request's own) and the agent's notice (when it closes) say why.
        request_refuse(request=locked, ground=RefusalGround.AGENT_NOT_AUTHORISED, reasons=reasons, actor=actor)
    return filing


def _staff_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.type == ActorType.STAFF and actor.id.isdigit() else None


def _filing_of(request: Request) -> AgentFiling:
    filing = AgentFiling.objects.filter(request=request).first()
    if filing is None:
        raise TransitionError(_("Request %(reference)s was not filed by an agent.") % {"reference": request.reference})
    return filing


def _decision_open(request: Request, filing: AgentFiling) -> None:
    if filing.decision != AgentDecision.PENDING:
        raise TransitionError(_("The agent's proof of authority has already been decided."))
    if request.status != Status.AWAITING_APPROVAL or filing.agent_confirmed_at is None:
        raise TransitionError(
            _("Request %(reference)s is not waiting for a decision on the agent's proof of authority.")
            % {"reference": request.reference}
        )


def _proceed(request: Request, filing: AgentFiling) -> None:
    """Start the work once the proof is accepted and the consumer confirmed it (or it is a POA, § 7063(c))."""
    fields = _transition_apply(request, "agent_proceed")
    if filing.power_of_attorney and filing.consumer_confirmed_at is None:
        # § 7063(c): the team checked the power of attorney; the consumer is not asked to confirm.
        request.identity_level = IdentityLevel.ENHANCED
        request.verified_at = _now()
        request.verification_method = VerificationMethod.STAFF_CHECK
        fields += ["identity_level", "verified_at", "verification_method"]
    request.save(update_fields=fields)
    webhook_event_emit(event_type=WebhookEvent.REQUEST_VERIFIED, request=request)
    # The receipt, with the status link, goes to the consumer: the answer is theirs (docs/decisions/0017).
    _work_start(request)
    emails.email_receipt(request)


def agent_document_open(*, filing: AgentFiling, actor: Actor):
    """Open the agent's proof of authority for a member of staff; record that it was opened."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.AGENT_DOCUMENT_OPENED,
            request=filing.request,
            data={"document_kind": filing.document_kind},
        )
    return filing.document.open("rb")

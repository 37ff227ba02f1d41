"""An authorised agent's filing for a Californian consumer (Cal. Civ. Code § 1798.130(a)(3); CCPA regs § 7063).

The request itself holds the consumer (its email and name: the person the answer goes to); this row holds who
the agent is, sealed at rest with dsr.crypto, the proof of authority they sent (a sealed upload), and the three
facts the request waits for: the agent confirmed their address, the consumer confirmed the permission (or the
proof is a power of attorney, § 7063(c)), and the privacy team accepted the proof (§ 7063(b)).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.answers import AnswerFileKind
from dsr.models.requests import Language, Request
from dsr.storage import sealed_storage


class AgentDocumentKind(models.TextChoices):
    """What the agent's proof of authority is (CCPA regs § 7063(a), (c))."""

    PERMISSION = "permission", _("The consumer's signed permission")
    POWER_OF_ATTORNEY = "power_of_attorney", _("A power of attorney (Cal. Prob. Code §§ 4121-4130)")


class AgentDecision(models.TextChoices):
    PENDING = "pending", _("Waiting for the privacy team")
    ACCEPTED = "accepted", _("Proof of authority accepted")
    REFUSED = "refused", _("Proof of authority refused (CCPA regs § 7063(b))")


def agent_document_path(filing: "AgentFiling", filename: str) -> str:
    """Store the proof under agents/<request id>/<random>: never the name the agent gave it."""
    return f"agents/{filing.request_id}/{uuid.uuid4().hex}"


class AgentFiling(models.Model):
    """Who filed a request for the consumer, their proof of authority, and what was confirmed and decided."""

    request = models.OneToOneField(
        Request, on_delete=models.CASCADE, related_name="agent_filing", verbose_name=_("request")
    )
    # The agent's name, email and, for a business, its name and Secretary of State entity number (dsr.crypto).
    sealed_agent = models.TextField(verbose_name=_("agent (sealed)"))
    business = models.BooleanField(default=False, verbose_name=_("business entity"))
    # The agent's messages go in the language the agent used on the portal; the consumer's in the consumer's.
    agent_language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.EN, verbose_name=_("agent's language")
    )
    document_kind = models.CharField(max_length=24, choices=AgentDocumentKind.choices, verbose_name=_("document"))
    # The name the agent gave the file: shown to staff, never used as a storage path.
    document_name = models.CharField(max_length=255, verbose_name=_("file name"))
    document_type = models.CharField(max_length=8, choices=AnswerFileKind.choices, verbose_name=_("file type"))
    document_size = models.PositiveIntegerField(verbose_name=_("size"))
    document = models.FileField(
        upload_to=agent_document_path, storage=sealed_storage, max_length=255, verbose_name=_("file")
    )
    # The agent's own address confirmation, as a requester's (docs/decisions/0003-tokens.md): random, hashed.
    agent_token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("agent link hash"))
    agent_link_expires_at = models.DateTimeField(verbose_name=_("agent link expires at"))
    agent_confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("agent confirmed at"))
    # CCPA regs § 7063(a)(2): the consumer confirms directly with us that they gave the agent permission.
    consumer_token_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, verbose_name=_("consumer link hash")
    )
    consumer_link_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consumer link expires at"))
    consumer_asked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consumer asked at"))
    consumer_confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consumer confirmed at"))
    # The consumer told us directly that they gave the agent no permission: the request is refused (§ 7063(b)).
    consumer_denied_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consumer denied at"))
    decision = models.CharField(
        max_length=16, choices=AgentDecision.choices, default=AgentDecision.PENDING, verbose_name=_("decision")
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    refusal_reasons = models.TextField(blank=True, verbose_name=_("refusal reasons"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("authorised agent's filing")
        verbose_name_plural = _("authorised agents' filings")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"agent filing for request {self.request_id}"

    @property
    def power_of_attorney(self) -> bool:
        return self.document_kind == AgentDocumentKind.POWER_OF_ATTORNEY

    @property
    def consumer_confirmation_needed(self) -> bool:
        """Whether the consumer must confirm the permission: not under a power of attorney (§ 7063(c))."""
        return not self.power_of_attorney

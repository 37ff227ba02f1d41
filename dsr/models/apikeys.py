"""API keys: how other systems (the company's account pages, a CRM) authenticate to the integration API."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    REQUESTS_CREATE = "requests:create", _("File requests (and consent withdrawals) for logged-in customers")
    REQUESTS_READ = "requests:read", _("List requests and read their status and outcome")
    REQUESTS_ACT = "requests:act", _("Take the privacy team's actions on requests")
    REGISTERS_READ = "registers:read", _("Ask the restriction register and the suppression list")


class ApiKey(models.Model):
    """One integration's key; the secret itself is never stored, only its SHA-256 (docs/decisions/0009-api-keys.md)."""

    name = models.CharField(
        max_length=100, help_text=_("Which system uses this key, e.g. 'shop account pages'."), verbose_name=_("name")
    )
    # Public part of the token, shown in lists and written to the audit trail as the integration's id.
    prefix = models.CharField(max_length=16, unique=True, editable=False, verbose_name=_("prefix"))
    secret_hash = models.CharField(max_length=64, editable=False, verbose_name=_("secret hash"))
    scopes = models.JSONField(default=list, verbose_name=_("scopes"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("revoked at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} (dsr_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

"""One-time codes and links that prove control of an email address."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Request


class VerificationChallenge(models.Model):
    """An emailed code and link; only their hashes are stored (see docs/decisions/0003)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="challenges", verbose_name=_("request"))
    code_hash = models.CharField(max_length=64, verbose_name=_("code hash"))
    link_token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("link token hash"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("email confirmation")
        verbose_name_plural = _("email confirmations")
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"challenge {self.pk} for request {self.request_id}"

"""One-time codes and links that prove control of an email address."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Request


class VerificationChallenge(models.Model):
    """An emailed code and link; only their hashes are stored (see docs/decisions/0003)."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="challenges")
    code_hash = models.CharField(max_length=64)
    link_token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("email confirmation")
        verbose_name_plural = _("email confirmations")
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"challenge {self.pk} for request {self.request_id}"

"""Internal notes the privacy team writes on a request, and the staff permissions the roles are built from."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Request


class RequestNote(models.Model):
    """A note for colleagues on a request; never sent to the requester and never copied into the audit."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="notes", verbose_name=_("request"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(verbose_name=_("text"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at", "id"]
        default_permissions = ("view",)
        # The staff roles (dsr/roles.py) are groups of these and Django's model permissions.
        permissions = [
            ("view_dashboard", _("Can see the queue, requests and statistics")),
            ("handle_request", _("Can act on requests")),
            ("export_audit", _("Can export the audit trail")),
        ]

    def __str__(self) -> str:
        return f"note {self.pk} on request {self.request_id}"

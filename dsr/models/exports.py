"""The person's export: an encrypted bundle in storage and the emailed links that download it."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Request


class BundleKind(models.TextChoices):
    ACCESS = "access", _("Access (Art. 15)")
    PORTABILITY = "portability", _("Portability (Art. 20)")


class BundleStatus(models.TextChoices):
    BUILDING = "building", _("Being built")
    REVIEW = "review", _("Waiting for staff to release it")
    RELEASED = "released", _("Sent to the person")
    DISCARDED = "discarded", _("Discarded")
    PURGED = "purged", _("Deleted after expiry")


class Bundle(models.Model):
    """One export of a request's data: a ZIP sealed with authenticated encryption, kept until it expires."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="bundles", verbose_name=_("request"))
    kind = models.CharField(max_length=16, choices=BundleKind.choices, verbose_name=_("kind"))
    status = models.CharField(
        max_length=16, choices=BundleStatus.choices, default=BundleStatus.BUILDING, verbose_name=_("status")
    )
    language = models.CharField(max_length=2, verbose_name=_("language"))
    # The name in the bundle storage (dsr.storage); never derived from the person's data.
    storage_name = models.CharField(max_length=255, blank=True, verbose_name=_("storage name"))
    # Of the sealed file as stored: checked before a single byte is sent.
    size = models.BigIntegerField(default=0, verbose_name=_("size"))
    sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("SHA-256"))
    # Of the ZIP's plaintext, and the manifest written into it: [{"path", "size", "sha256"}, ...].
    plain_size = models.BigIntegerField(default=0, verbose_name=_("size before encryption"))
    manifest = models.JSONField(default=list, blank=True, verbose_name=_("manifest"))
    records = models.PositiveIntegerField(default=0, verbose_name=_("records"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    built_at = models.DateTimeField(null=True, blank=True, verbose_name=_("built at"))
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released at"))
    released_by = models.CharField(
        max_length=160, blank=True, help_text=_("Actor type and id; never a subject."), verbose_name=_("released by")
    )
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    purged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("purged at"))

    class Meta:
        verbose_name = _("export bundle")
        verbose_name_plural = _("export bundles")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="dsr_bundle_status_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} bundle of {self.request.reference} ({self.status})"

    @property
    def files(self) -> int:
        return len(self.manifest)


class DownloadLink(models.Model):
    """An emailed link to a bundle: a random token stored as its SHA-256, with an expiry and a download limit."""

    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="links", verbose_name=_("export bundle"))
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("token hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    max_downloads = models.PositiveIntegerField(verbose_name=_("max downloads"))
    downloads = models.PositiveIntegerField(default=0, verbose_name=_("downloads"))
    last_download_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last download at"))
    # A new link replaces the old ones: only the newest link of a bundle works.
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))

    class Meta:
        verbose_name = _("download link")
        verbose_name_plural = _("download links")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"download link {self.pk} of bundle {self.bundle_id}"

    @property
    def downloads_left(self) -> int:
        return max(self.max_downloads - self.downloads, 0)

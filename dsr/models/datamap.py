"""The data map: the Art. 30 record of processing that also feeds the Art. 15 answer.

Every load of the YAML file is kept as a DataMapVersion; the normalised rows
below belong to one version, and exactly one version is active.
"""

import json

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderedJSONField(models.TextField):
    """JSON stored as text, so its keys keep their order.

    The data map's order is part of what it says: letters and answers list systems, purposes and recipients
    in the map's order, and PostgreSQL's jsonb would sort an object's keys.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def value_to_string(self, obj) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""


class LegalBasis(models.TextChoices):
    """GDPR Art. 6(1)(a)-(f)."""

    CONSENT = "a", _("Consent (Art. 6(1)(a))")
    CONTRACT = "b", _("Contract (Art. 6(1)(b))")
    LEGAL_OBLIGATION = "c", _("Legal obligation (Art. 6(1)(c))")
    VITAL_INTERESTS = "d", _("Vital interests (Art. 6(1)(d))")
    PUBLIC_TASK = "e", _("Public task (Art. 6(1)(e))")
    LEGITIMATE_INTERESTS = "f", _("Legitimate interests (Art. 6(1)(f))")


class RecipientRole(models.TextChoices):
    PROCESSOR = "processor", _("Processor (Art. 28)")
    CONTROLLER = "controller", _("Controller")


class DataMapVersion(models.Model):
    """One loaded version of the data map file, kept for the history."""

    yaml_text = models.TextField(editable=False, verbose_name=_("YAML text"))
    sha256 = models.CharField(max_length=64, editable=False, verbose_name=_("SHA-256"))
    # The validated, normalised document (plain JSON) the selectors read.
    snapshot = OrderedJSONField(editable=False, verbose_name=_("snapshot"))
    source_path = models.CharField(max_length=500, blank=True, editable=False, verbose_name=_("source path"))
    loaded_at = models.DateTimeField(editable=False, verbose_name=_("loaded at"))
    loaded_by = models.CharField(
        max_length=150,
        blank=True,
        editable=False,
        help_text=_("Staff username or 'system'; never a data subject."),
        verbose_name=_("loaded by"),
    )
    active = models.BooleanField(default=False, editable=False, verbose_name=_("active"))

    class Meta:
        verbose_name = _("data map version")
        verbose_name_plural = _("data map versions")
        ordering = ["-loaded_at", "-id"]
        get_latest_by = "loaded_at"
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="dsr_datamap_one_active")
        ]

    def __str__(self) -> str:
        state = "active" if self.active else "superseded"
        return f"data map {self.sha256[:12]} loaded {self.loaded_at:%Y-%m-%d %H:%M} ({state})"


class DataCategory(models.Model):
    version = models.ForeignKey(
        DataMapVersion, on_delete=models.CASCADE, related_name="categories", verbose_name=_("data map version")
    )
    key = models.SlugField(max_length=64, verbose_name=_("key"))
    name_da = models.CharField(max_length=200, verbose_name=_("name (Danish)"))
    name_en = models.CharField(max_length=200, verbose_name=_("name (English)"))
    description_da = models.TextField(blank=True, verbose_name=_("description (Danish)"))
    description_en = models.TextField(blank=True, verbose_name=_("description (English)"))

    class Meta:
        verbose_name = _("data category")
        verbose_name_plural = _("data categories")
        ordering = ["version", "key"]
        verbose_name_plural = "data categories"
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="dsr_category_key_per_version")]

    def __str__(self) -> str:
        return self.name_en


class Purpose(models.Model):
    version = models.ForeignKey(
        DataMapVersion, on_delete=models.CASCADE, related_name="purposes", verbose_name=_("data map version")
    )
    key = models.SlugField(max_length=64, verbose_name=_("key"))
    name_da = models.CharField(max_length=200, verbose_name=_("name (Danish)"))
    name_en = models.CharField(max_length=200, verbose_name=_("name (English)"))
    legal_basis = models.JSONField(
        help_text=_("Letters of Art. 6(1), e.g. ['b', 'f'].'"), verbose_name=_("legal basis")
    )
    legitimate_interest_da = models.TextField(blank=True, verbose_name=_("legitimate interest (Danish)"))
    legitimate_interest_en = models.TextField(blank=True, verbose_name=_("legitimate interest (English)"))
    retention_da = models.TextField(verbose_name=_("retention (Danish)"))
    retention_en = models.TextField(verbose_name=_("retention (English)"))
    retention_rule = models.JSONField(
        help_text=_("A computable rule, e.g. {after: account_deactivated, months: 36}."),
        verbose_name=_("retention rule"),
    )
    profiling = models.BooleanField(
        default=False, help_text=_("Profiling or automated decisions (Art. 22)."), verbose_name=_("profiling")
    )
    profiling_description_da = models.TextField(blank=True, verbose_name=_("profiling description (Danish)"))
    profiling_description_en = models.TextField(blank=True, verbose_name=_("profiling description (English)"))
    categories = models.JSONField(default=list, verbose_name=_("categories"))
    consent_key = models.SlugField(max_length=64, blank=True, verbose_name=_("consent key"))

    class Meta:
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        ordering = ["version", "key"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="dsr_purpose_key_per_version")]

    def __str__(self) -> str:
        return self.name_en


class Recipient(models.Model):
    version = models.ForeignKey(
        DataMapVersion, on_delete=models.CASCADE, related_name="recipients", verbose_name=_("data map version")
    )
    key = models.SlugField(max_length=64, verbose_name=_("key"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    role = models.CharField(max_length=16, choices=RecipientRole.choices, verbose_name=_("role"))
    country = models.CharField(
        max_length=2, help_text=_("ISO 3166-1 alpha-2 code where the data is processed."), verbose_name=_("country")
    )
    countries = models.JSONField(default=list, verbose_name=_("countries"))
    safeguard_da = models.CharField(max_length=300, verbose_name=_("safeguard (Danish)"))
    safeguard_en = models.CharField(max_length=300, verbose_name=_("safeguard (English)"))
    contact_email = models.EmailField(
        blank=True, help_text=_("Where Art. 19 notifications go."), verbose_name=_("contact email")
    )
    purposes = models.JSONField(default=list, verbose_name=_("purposes"))

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["version", "key"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="dsr_recipient_key_per_version")]

    def __str__(self) -> str:
        return self.name


class LegalHold(models.Model):
    version = models.ForeignKey(
        DataMapVersion, on_delete=models.CASCADE, related_name="legal_holds", verbose_name=_("data map version")
    )
    key = models.SlugField(max_length=64, verbose_name=_("key"))
    name_da = models.CharField(max_length=200, verbose_name=_("name (Danish)"))
    name_en = models.CharField(max_length=200, verbose_name=_("name (English)"))
    # GDPR Art. 17(3)(b): the law that requires keeping the rows, as the letters name it in each language.
    law_da = models.CharField(max_length=300, verbose_name=_("law (Danish)"))
    law_en = models.CharField(max_length=300, verbose_name=_("law (English)"))
    period_rule = models.JSONField(verbose_name=_("period rule"))
    description_da = models.TextField(blank=True, verbose_name=_("description (Danish)"))
    description_en = models.TextField(blank=True, verbose_name=_("description (English)"))

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["version", "key"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="dsr_hold_key_per_version")]

    def __str__(self) -> str:
        return self.name_en


class Source(models.Model):
    version = models.ForeignKey(
        DataMapVersion, on_delete=models.CASCADE, related_name="sources", verbose_name=_("data map version")
    )
    key = models.SlugField(max_length=64, verbose_name=_("key"))
    name_da = models.CharField(max_length=200, verbose_name=_("name (Danish)"))
    name_en = models.CharField(max_length=200, verbose_name=_("name (English)"))
    kind = models.CharField(max_length=32, verbose_name=_("kind"))
    purposes = models.JSONField(default=list, verbose_name=_("purposes"))
    recipients = models.JSONField(default=list, verbose_name=_("recipients"))
    # Per record group: its purposes and recipients (or the source's), its data categories (dsr.datamap.lineage).
    groups = models.JSONField(default=dict, verbose_name=_("record groups"))
    origin_da = models.TextField(verbose_name=_("origin (Danish)"))
    origin_en = models.TextField(verbose_name=_("origin (English)"))
    provided_by_subject = models.JSONField(default=list, verbose_name=_("provided by the person"))
    config = models.JSONField(default=dict, verbose_name=_("configuration"))

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["version", "key"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="dsr_source_key_per_version")]

    def __str__(self) -> str:
        return f"{self.name_en} ({self.kind})"

"""Retention sweeps: one row per run of a retention rule, its batches, and which rules run on a schedule."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SweepStatus(models.TextChoices):
    PLANNED = "planned", _("Dry run ready: waiting for approval")
    APPROVED = "approved", _("Approved: waiting for a worker")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SweepRuleSetting(models.Model):
    """Whether the scheduled sweeps run a rule (off until the privacy admin turns it on)."""

    # "purpose:<key>" or "hold:<key>" of the data map.
    rule = models.CharField(max_length=80, unique=True, verbose_name=_("rule"))
    enabled = models.BooleanField(default=False, verbose_name=_("scheduled"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("updated by")
    )

    class Meta:
        verbose_name = _("retention sweep setting")
        verbose_name_plural = _("retention sweep settings")
        ordering = ["rule"]

    def __str__(self) -> str:
        return f"{self.rule} ({'on' if self.enabled else 'off'})"


class RetentionSweep(models.Model):
    """One run of one retention rule: its dry run, its approval, its progress and what it did."""

    rule = models.CharField(max_length=80, verbose_name=_("rule"))
    status = models.CharField(
        max_length=16, choices=SweepStatus.choices, default=SweepStatus.PLANNED, verbose_name=_("status")
    )
    # The day the periods were counted to: the dry run and the execution use the same day.
    as_of = models.DateField(verbose_name=_("as of"))
    scheduled = models.BooleanField(default=False, verbose_name=_("started by the schedule"))
    # The dry run: per source, root table and table, the counts and the holds still running (no values).
    report = models.JSONField(default=dict, verbose_name=_("dry-run report"))
    # What the sources reported doing, summed per source and table, as the batches finished.
    counts = models.JSONField(default=dict, verbose_name=_("counts"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("approved by")
    )
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("retention sweep")
        verbose_name_plural = _("retention sweeps")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sweep {self.pk} of {self.rule} ({self.status})"


class SweepBatch(models.Model):
    """One batch of a sweep in one source: the root keys it covers, written before the source is changed.

    A batch found started but not done after a crash is run again with the same keys; erasing is idempotent,
    so nothing is done twice, and the source's one transaction per batch means nothing is half done.
    """

    sweep = models.ForeignKey(
        RetentionSweep, on_delete=models.CASCADE, related_name="batches", verbose_name=_("retention sweep")
    )
    source = models.CharField(max_length=64, verbose_name=_("source"))
    root = models.CharField(max_length=128, verbose_name=_("root table"))
    number = models.PositiveIntegerField(verbose_name=_("number"))
    # The root rows' keys while the batch runs; emptied once it is done.
    keys = models.JSONField(default=list, verbose_name=_("row keys"))
    last_key = models.JSONField(null=True, verbose_name=_("last key"))
    people = models.PositiveIntegerField(default=0, verbose_name=_("people"))
    skipped_restricted = models.PositiveIntegerField(default=0, verbose_name=_("skipped under restriction"))
    planned = models.JSONField(default=dict, verbose_name=_("planned"))
    counts = models.JSONField(default=dict, verbose_name=_("counts"))
    done = models.BooleanField(default=False, verbose_name=_("done"))
    resumed = models.BooleanField(default=False, verbose_name=_("run again after an interruption"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("retention sweep batch")
        verbose_name_plural = _("retention sweep batches")
        ordering = ["sweep", "source", "root", "number"]
        constraints = [
            models.UniqueConstraint(fields=["sweep", "source", "root", "number"], name="dsr_sweep_batch_unique")
        ]

    def __str__(self) -> str:
        return f"batch {self.number} of sweep {self.sweep_id} in {self.source}.{self.root}"

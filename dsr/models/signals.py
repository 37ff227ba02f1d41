"""A "go" signal recorded with the change it is about, until it reaches the broker."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskSignal(models.Model):
    """One task's "go" (its name and primary keys), written in the transaction that made the work.

    The row commits or rolls back with that work, so a broker that is down
    loses nothing: dsr.signals hands the row to the broker and deletes it.
    """

    task = models.CharField(max_length=100, verbose_name=_("task"))
    # Primary keys only (a task takes ids, never data).
    args = models.JSONField(default=list, verbose_name=_("arguments"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("task signal")
        verbose_name_plural = _("task signals")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"

"""The app's composition root: where the layers are connected once the app is ready.

Lower layers never import upper ones (docs/architecture.md, import-linter).
Where a lower layer must call up, the upper layer's function is registered
here: the Celery tasks that send "go" signals, the rights that the job
engine runs and that record a request's outcome when it closes, and the
engine that starts a verified request's work.
"""

from django.apps import AppConfig


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data subject requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: models must not be imported before the app registry is ready.
        from dsr import (
            checks,  # noqa: F401  (registers system checks)
            checks_sources,  # noqa: F401  (registers the sources' checks)
            emails,
            rights,
            roles,  # noqa: F401  (registers the staff roles' check)
            signals,
            sweeps,
            tasks,
            webhooks,
            workflow,
        )
        from dsr.engine import dispatch
        from dsr.exports import transmission

        rights.rights_register()
        workflow.work_starter_set(dispatch.plan_start_on_commit)
        # Every "go" is recorded with its work and reaches the broker after commit (dsr/signals.py).
        signals.publisher_set(tasks.signal_publish, at_commit=tasks.signals_at_commit)
        dispatch.job_starter_set(signals.signals_starter(tasks.job_run.name))
        dispatch.jobs_together_starter_set(
            lambda batches: signals.signals_record(tasks.jobs_run.name, [[batch] for batch in batches])
        )
        dispatch.plan_starter_set(signals.signal_starter(tasks.plan_start.name))
        emails.message_starter_set(signals.signal_starter(tasks.message_send.name))
        webhooks.delivery_starter_set(signals.signal_starter(tasks.webhook_delivery_attempt.name))
        transmission.attempt_starter_set(signals.signal_starter(tasks.transmission_attempt.name))
        sweeps.sweep_starter_set(signals.signal_starter(tasks.retention_sweep_run.name))

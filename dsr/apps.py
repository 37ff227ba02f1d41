from django.apps import AppConfig


class DsrConfig(AppConfig):
    name = "dsr"
    verbose_name = "Data subject requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dsr import (
            checks,  # noqa: F401  (registers system checks)
            checks_sources,  # noqa: F401  (registers the sources' checks)
            roles,  # noqa: F401  (registers the staff roles' check)
        )

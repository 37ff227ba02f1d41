"""The `django` connector kind: models of this Django project (README.md says how to configure it)."""

from dsr.sources.django_models.connector import DjangoConnector

__all__ = ["DjangoConnector"]

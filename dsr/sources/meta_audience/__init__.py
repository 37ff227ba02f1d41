"""The `meta_audience` connector kind: removing people from Meta custom audiences (README.md says how)."""

from dsr.sources.meta_audience.connector import MetaAudienceConnector

__all__ = ["MetaAudienceConnector"]

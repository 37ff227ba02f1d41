"""The `manual` connector kind: a system worked by hand by a named owner (README.md says how to configure it)."""

from dsr.sources.manual.connector import ManualConnector

__all__ = ["ManualConnector"]

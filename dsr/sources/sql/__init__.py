"""The `sql` connector kind: a relational database reached by URL (README.md says how to configure it)."""

from dsr.sources.sql.connection import engines_dispose
from dsr.sources.sql.connector import SqlConnector

__all__ = ["SqlConnector", "engines_dispose"]

"""The active data map and its connectors, kept per worker process.

Building a connector is cheap, but a SQL connector reflects its tables on
first use: a worker keeps the connectors of the active map version for a
while instead of reflecting for every job.
"""

import logging
import time

from dsr.datamap.schema import DataMap
from dsr.datamap.selectors import active_version_key
from dsr.models import DataMapVersion
from dsr.sources.base import Connector, SourceError
from dsr.sources.registry import connector_for
from dsr.sources.sql.connection import engines_connections_close

logger = logging.getLogger(__name__)

_CONNECTORS_TTL_SECONDS = 600
_cache: dict = {"key": None, "at": 0.0, "datamap": None, "connectors": {}}


def datamap_current() -> DataMap | None:
    """Return the active data map, cached per worker until the active version changes."""
    row = active_version_key()
    if row is None:
        return None
    if _cache["key"] != row or time.monotonic() - _cache["at"] > _CONNECTORS_TTL_SECONDS:
        snapshot = DataMapVersion.objects.values_list("snapshot", flat=True).get(pk=row[0])
        _cache.update(key=row, at=time.monotonic(), datamap=DataMap(snapshot), connectors={})
    return _cache["datamap"]


def connector_get(key: str, datamap: DataMap) -> Connector:
    """Return the connector of ``key`` in ``datamap``, reusing this process's instance for the active map."""
    if datamap is not _cache["datamap"]:
        return connector_for(key, datamap)
    connectors = _cache["connectors"]
    if key not in connectors:
        connectors[key] = connector_for(key, datamap)
    return connectors[key]


def connectors_warm() -> None:
    """Read the active map and ready each of its connectors (a worker at start, before its pool forks).

    A SQL source's tables are reflected here once instead of in each pool process's first job; the pooled
    connections are closed again, so no pool process shares one. A source that cannot be reached now is
    left for its first job, which reports it where staff see it.
    """
    datamap = datamap_current()
    if datamap is None:
        return
    try:
        for key in datamap.sources:
            try:
                connector_get(key, datamap).warm()
            except SourceError as exc:
                logger.warning("worker: source %s was not readied at start: %s", key, exc.problem)
    finally:
        engines_connections_close()

"""The active data map and its connectors, kept per worker process.

Building a connector is cheap, but a SQL connector reflects its tables on
first use: a worker keeps the connectors of the active map version for a
while instead of reflecting for every job.
"""

import time

from dsr.datamap.schema import DataMap
from dsr.models import DataMapVersion
from dsr.sources.base import Connector
from dsr.sources.registry import connector_for

_CONNECTORS_TTL_SECONDS = 600
_cache: dict = {"key": None, "at": 0.0, "datamap": None, "connectors": {}}


def datamap_current() -> DataMap | None:
    """Return the active data map, cached per worker until the active version changes."""
    row = DataMapVersion.objects.filter(active=True).values_list("pk", "sha256").first()
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

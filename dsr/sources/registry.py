"""Connector kinds by name. Adding a kind is one folder in dsr/sources/, one line here and its test folder."""

from django.utils.module_loading import import_string

from dsr.datamap.schema import DataMap
from dsr.datamap.selectors import datamap_active
from dsr.sources.base import Connector, SourcePermanentError

CONNECTORS = {
    "sql": "dsr.sources.sql.connector.SqlConnector",
    "django": "dsr.sources.django_models.connector.DjangoConnector",
    "http": "dsr.sources.http.connector.HttpConnector",
    "manual": "dsr.sources.manual.connector.ManualConnector",
}


def connector_kinds() -> list[str]:
    """Return the known connector kinds."""
    return sorted(CONNECTORS)


def connector_class(kind: str) -> type[Connector] | None:
    """Return the connector class for ``kind``, or None if the kind is unknown."""
    path = CONNECTORS.get(kind)
    return import_string(path) if path else None


def connector_for(source_key: str, datamap: DataMap | None = None) -> Connector:
    """Return the connector for a source of ``datamap`` (default: the active map)."""
    if datamap is None:
        datamap = datamap_active()
    if datamap is None:
        raise SourcePermanentError(source_key, "no data map has been loaded")
    source = datamap.sources.get(source_key)
    if source is None:
        raise SourcePermanentError(source_key, "the active data map has no such source")
    cls = connector_class(source["kind"])
    if cls is None:
        raise SourcePermanentError(source_key, f"unknown connector kind {source['kind']!r}")
    return cls(source, datamap)


def connectors_all(datamap: DataMap | None = None) -> list[Connector]:
    """Return a connector for every source of ``datamap`` (default: the active map), in map order."""
    if datamap is None:
        datamap = datamap_active()
    if datamap is None:
        return []
    return [connector_for(key, datamap) for key in datamap.sources]

"""Connector kinds by name. Adding a kind is one folder in dsr/sources/, one line here and its test folder."""

from django.utils.module_loading import import_string
from django.utils.translation import gettext

from dsr.datamap.schema import DataMap, DataMapError
from dsr.datamap.selectors import datamap_active
from dsr.sources.base import Connector, SourceError, SourcePermanentError

CONNECTORS = {
    "sql": "dsr.sources.sql.connector.SqlConnector",
    "django": "dsr.sources.django_models.connector.DjangoConnector",
    "http": "dsr.sources.http.connector.HttpConnector",
    "manual": "dsr.sources.manual.connector.ManualConnector",
    "meta_audience": "dsr.sources.meta_audience.connector.MetaAudienceConnector",
    "google_ads": "dsr.sources.google_ads.connector.GoogleAdsConnector",
    "saas": "dsr.sources.saas.connector.SaasConnector",
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


def datamap_live_errors(datamap: DataMap) -> tuple[list[DataMapError], list[str]]:
    """Check a map against the sources as they are now, before it is loaded.

    Return the problems (a delete the database's foreign keys forbid, a NOT NULL column to clear) and,
    for the sources that could not be reached, why they were not checked.
    """
    errors, unchecked = [], []
    for connector in connectors_all(datamap):
        try:
            errors += connector.live_map_errors()
        except SourceError as exc:
            note = gettext("%(source)s was not checked against the source itself: %(problem)s")
            unchecked.append(note % {"source": connector.key, "problem": exc.problem})
    return errors, unchecked

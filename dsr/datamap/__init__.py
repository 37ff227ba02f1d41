"""The data map: one YAML file describing controller, purposes, recipients, holds and sources."""

from dsr.datamap.loading import datamap_load, datamap_upload
from dsr.datamap.schema import DataMap, DataMapError, DataMapInvalid, datamap_parse
from dsr.datamap.selectors import (
    controller_current,
    datamap_active,
    datamap_version_active,
    datamap_versions,
    legal_holds_active,
    purposes_active,
    recipients_active,
    sources_active,
)

__all__ = [
    "DataMap",
    "DataMapError",
    "DataMapInvalid",
    "controller_current",
    "datamap_active",
    "datamap_load",
    "datamap_parse",
    "datamap_upload",
    "datamap_version_active",
    "datamap_versions",
    "legal_holds_active",
    "purposes_active",
    "recipients_active",
    "sources_active",
]

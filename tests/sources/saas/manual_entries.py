"""The catalogue's manual entries (dsr/sources/saas/catalogue/manual/<system>.yaml), loaded as a map's sources."""

from pathlib import Path

import yaml

from dsr.sources.manual import ManualConnector
from tests.sources.maps import map_build

MANUAL_DIR = Path(__file__).resolve().parents[3] / "dsr" / "sources" / "saas" / "catalogue" / "manual"


def manual_entry(system: str) -> dict:
    """Return the source keys a manual entry gives, as written in its file."""
    return yaml.safe_load((MANUAL_DIR / f"{system}.yaml").read_text(encoding="utf-8"))


def manual_connector(system: str) -> ManualConnector:
    """Return the connector of a source made of the manual entry plus what the map adds (name, purposes, origin)."""
    source = {
        **manual_entry(system),
        "name": f"{system} (worked by hand)",
        "purposes": ["account"],
        "origin": {"da": "Fra dig", "en": "From you"},
    }
    datamap = map_build({system: source})
    return ManualConnector(datamap.sources[system], datamap)

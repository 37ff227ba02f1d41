"""A connector kind for the data map's tests, registered with monkeypatch in dsr.sources.registry.CONNECTORS.

DescribedConnector lists record groups and says what each serves; it checks the shape of its
configuration and nothing else, so the parser's own checks of what a connector describes are what
the tests see.
"""

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import Connector

GROUP_KEYS = ("purposes", "recipients", "categories", "records_consents")


class DescribedConnector(Connector):
    """``tables: {name: {purposes?, recipients?, categories?, records_consents?}}``."""

    kind = "described"

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        tables = config.get("tables")
        if not isinstance(tables, dict):
            return [DataMapError(f"{path}.tables", "must map record groups to what they serve")]
        return [
            DataMapError(f"{path}.tables.{name}", "must be a mapping")
            for name, entry in tables.items()
            if entry is not None and not isinstance(entry, dict)
        ]

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        tables = config.get("tables")
        return set(tables) if isinstance(tables, dict) else set()

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        return {
            name: {key: (entry or {}).get(key) for key in GROUP_KEYS if key in (entry or {})}
            for name, entry in config["tables"].items()
        }

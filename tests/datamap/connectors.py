"""Connector kinds for the data map's tests, registered with monkeypatch in dsr.sources.registry.CONNECTORS.

DescribedConnector lists record groups and says what each serves; it checks the shape of its
configuration and nothing else, so the parser's own checks of what a connector describes are what
the tests see. SqlTablesConnector is the sql kind reading a table's own purposes and recipients.
"""

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import Connector
from dsr.sources.sql import SqlConnector

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


class SqlTablesConnector(SqlConnector):
    """The sql kind as it reads a table's own ``purposes:`` and ``recipients:``, for maps written for it.

    The sql connector describes its tables from the change that adds groups_describe to every kind;
    until then the demo map's table purposes are checked with this.
    """

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        tables = config.get("tables")
        if isinstance(tables, dict):
            tables = {
                name: {key: value for key, value in table.items() if key not in ("purposes", "recipients")}
                if isinstance(table, dict)
                else table
                for name, table in tables.items()
            }
            config = {**config, "tables": tables}
        return super().config_errors(config, path=path, datamap=datamap)

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        return {
            name: {
                "purposes": table.get("purposes"),
                "recipients": table.get("recipients"),
                "categories": sorted(set(table.get("categories", {}).values())),
                "records_consents": "consent" in table,
            }
            for name, table in config["tables"].items()
        }


def sql_describes_tables() -> bool:
    """Return whether the sql connector itself reads a table's purposes (once connectors describe their groups)."""
    config = {
        "url": "sqlite://",
        "tables": {"t": {"identifiers": {"email": "email"}, "erasure": {"strategy": "delete"}, "purposes": ["p"]}},
    }
    return SqlConnector.groups_describe(config).get("t", {}).get("purposes") == ["p"]

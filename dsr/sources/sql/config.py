"""Checking a `sql` source's configuration: every problem, each with its path in the map file."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import ANONYMISE, DELETE, KEEP, config_placeholder_errors
from dsr.sources.groups import corrections_errors, group_lineage_errors

ANONYMISE_METHODS = ("clear", "redact", "hash")
TABLE_KEYS = {
    "primary_key",
    "identifiers",
    "link",
    "categories",
    "exclude",
    "erasure",
    "rectify",
    "restriction",
    "consent",
    "purposes",
    "recipients",
}
CONFIG_KEYS = {"url", "schema", "tables", "redaction_text", "connect_timeout", "batch_size"}
ERASURE_KEYS = {"strategy", "fields", "hold", "date_column"}
RESTRICTION_KEYS = {"column"}
CONSENT_KEYS = {"key_column", "state_column", "withdrawn_value", "withdrawn_at_column"}


def pairs(value: Any) -> dict:
    """Return ``value`` if it is a mapping, else an empty one (for reading a configuration not yet checked)."""
    return value if isinstance(value, dict) else {}


def config_errors(config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
    """Return every problem in a sql source's configuration, each with its path."""
    return _TableConfigReader(config, path, datamap).read()


class _TableConfigReader:
    """Validate one sql source's table configuration, collecting errors with paths."""

    def __init__(self, config: dict, path: str, datamap: DataMap):
        self.config, self.path, self.datamap = config, path, datamap
        self.errors: list[DataMapError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(DataMapError(path, message))

    def unknown_keys(self, value: dict, allowed: set[str], path: str) -> None:
        for key in value:
            if key not in allowed:
                self.error(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def columns(self, value: Any, path: str) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
            return value
        self.error(path, "must be a column name or a list of column names")
        return []

    def read(self) -> list[DataMapError]:
        config, path = self.config, self.path
        self.unknown_keys(config, CONFIG_KEYS, path)
        url = config.get("url")
        if not isinstance(url, str) or not url:
            self.error(f"{path}.url", "is required: a database URL such as sqlite:///${VAR_DIR}/shop.sqlite3")
        else:
            for problem in config_placeholder_errors(url):
                self.error(f"{path}.url", problem)
            try:
                if "${" not in url:
                    make_url(url)
            except sa.exc.ArgumentError:
                self.error(f"{path}.url", "is not a database URL (dialect+driver://user@host/database)")
        tables = config.get("tables")
        if not isinstance(tables, dict) or not tables:
            self.error(f"{path}.tables", "is required: at least one table")
            return self.errors
        for name, table in tables.items():
            self.table_read(name, table, tables)
        self.links_check(tables)
        return self.errors

    def table_read(self, name: str, table: Any, tables: dict) -> None:
        path = f"{self.path}.tables.{name}"
        if not isinstance(table, dict):
            self.error(path, "must be a mapping")
            return
        self.unknown_keys(table, TABLE_KEYS, path)
        if "primary_key" in table:
            self.columns(table["primary_key"], f"{path}.primary_key")
        identifiers = table.get("identifiers", {})
        if not isinstance(identifiers, dict) or not all(isinstance(v, str) for v in identifiers.values()):
            self.error(f"{path}.identifiers", "must map identifier types to columns, e.g. {email: email}")
        link = table.get("link")
        if link is not None:
            link = pairs(link)
            if link.get("table") not in tables:
                self.error(f"{path}.link", f'unknown table "{link.get("table")}"')
            on = link.get("columns")
            if not isinstance(on, dict) or not on or not all(isinstance(v, str) for v in on.values()):
                example = "e.g. {customer_id: id}"
                self.error(f"{path}.link.columns", f"must map this table's columns to the linked table's, {example}")
        if not identifiers and link is None:
            self.error(path, "give identifiers (columns to find the person by) or a link to another table")
        categories = table.get("categories", {})
        if not isinstance(categories, dict):
            self.error(f"{path}.categories", "must map columns to data categories")
        else:
            for column, category in categories.items():
                if category not in self.datamap.categories:
                    self.error(f"{path}.categories.{column}", f'unknown category "{category}"')
        if "exclude" in table:
            self.columns(table["exclude"], f"{path}.exclude")
        self.errors += group_lineage_errors(table, path=path, datamap=self.datamap)
        self.erasure_read(table.get("erasure"), f"{path}.erasure")
        rectify = table.get("rectify", {})
        if not isinstance(rectify, dict) or not all(isinstance(v, str) for v in rectify.values()):
            self.error(f"{path}.rectify", "must map correction fields to columns, e.g. {address: street}")
        self.errors += corrections_errors(rectify, path=f"{path}.rectify", datamap=self.datamap)
        restriction = table.get("restriction")
        if restriction is not None:
            self.unknown_keys(pairs(restriction), RESTRICTION_KEYS, f"{path}.restriction")
            if not isinstance(pairs(restriction).get("column"), str):
                self.error(f"{path}.restriction.column", "is required: the boolean column that marks restriction")
        consent = table.get("consent")
        if consent is not None:
            consent = pairs(consent)
            self.unknown_keys(consent, CONSENT_KEYS, f"{path}.consent")
            for key in ("key_column", "state_column"):
                if not isinstance(consent.get(key), str):
                    self.error(f"{path}.consent.{key}", "is required")

    def erasure_read(self, erasure: Any, path: str) -> None:
        if not isinstance(erasure, dict):
            self.error(path, "is required: {strategy: delete | anonymise | keep, ...}")
            return
        strategy = erasure.get("strategy")
        if strategy not in (DELETE, ANONYMISE, KEEP):
            self.error(f"{path}.strategy", f"must be delete, anonymise or keep (got {strategy!r})")
        fields = erasure.get("fields", {})
        if not isinstance(fields, dict):
            self.error(f"{path}.fields", "must map columns to clear, redact or hash")
            fields = {}
        for column, method in fields.items():
            if (method or "clear") not in ANONYMISE_METHODS:
                self.error(f"{path}.fields.{column}", f"method must be clear, redact or hash (got {method!r})")
        if strategy == ANONYMISE and not fields:
            self.error(f"{path}.fields", "name the columns to anonymise")
        if strategy == DELETE and fields:
            self.error(f"{path}.fields", "a deleted row has no fields to anonymise")
        if strategy == KEEP:
            hold = erasure.get("hold")
            if hold not in self.datamap.legal_holds:
                self.error(f"{path}.hold", f'unknown legal hold "{hold}"')
        elif "hold" in erasure:
            self.error(f"{path}.hold", "only rows that are kept are kept under a hold")
        self.unknown_keys(erasure, ERASURE_KEYS, path)

    def links_check(self, tables: dict) -> None:
        for name in tables:
            seen, current = [name], name
            while True:
                link = pairs(pairs(tables.get(current)).get("link"))
                parent = link.get("table")
                if parent not in tables:
                    break
                if parent in seen:
                    circle = " -> ".join([*seen, parent])
                    self.error(f"{self.path}.tables.{name}.link", f"links go round in a circle: {circle}")
                    break
                seen.append(parent)
                current = parent
        # Deleting a row its linked children still point at would break their foreign keys.
        for name, table in tables.items():
            link = pairs(pairs(table).get("link"))
            parent = link.get("table")
            child_strategy = pairs(pairs(table).get("erasure")).get("strategy")
            parent_strategy = pairs(pairs(tables.get(parent)).get("erasure")).get("strategy")
            if parent_strategy == DELETE and child_strategy in (ANONYMISE, KEEP):
                self.error(
                    f"{self.path}.tables.{parent}.erasure.strategy",
                    f'cannot delete rows that "{name}" keeps pointing at ({child_strategy}); anonymise them instead',
                )

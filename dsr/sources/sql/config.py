"""Checking a `sql` source's configuration: every problem, each with its path in the map file."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dsr.datamap.rules import RULE_EVENTS
from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import ANONYMISE, DELETE, KEEP
from dsr.sources.groups import corrections_errors, group_lineage_errors, labels_errors
from dsr.sources.placeholders import config_placeholder_errors

ANONYMISE_METHODS = ("clear", "null", "redact", "hash")
TRUNCATE_UNITS = ("year", "month")
SHARED_MODES = ("skip", "unlink")
TABLE_KEYS = {
    "primary_key",
    "identifiers",
    "link",
    "links",
    "shared",
    "context",
    "categories",
    "exclude",
    "erasure",
    "rectify",
    "restriction",
    "consent",
    "withdrawal",
    "purposes",
    "recipients",
    "label",
    "labels",
    "events",
}
CONFIG_KEYS = {"url", "schema", "tables", "redaction_text", "connect_timeout", "batch_size"}
ERASURE_KEYS = {"strategy", "fields", "hold", "date_column", "after_hold"}
CONTEXT_TABLE_KEYS = {"primary_key", "context"}
CONTEXT_KEYS = {"label"}
RESTRICTION_KEYS = {"column"}
CONSENT_KEYS = {
    "key_column",
    "state_column",
    "withdrawn_value",
    "withdrawn_at_column",
    # For recording a consent the person gives (dsr/sources/sql/consents.py): when, and through which channel.
    "given_at_column",
    "channel_column",
}
WITHDRAWAL_KEYS = {"consents", "action", "give"}
# The one placeholder a row written when a consent is given again may use: the moment it was given.
GIVE_NOW = "{now}"
WITHDRAWAL_ACTIONS = (DELETE,)


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
        timeout = config.get("connect_timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300
        ):
            self.error(f"{path}.connect_timeout", "must be a number of seconds above 0 and at most 300")
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
        if "context" in table:
            self.context_read(table, path)
            return
        self.unknown_keys(table, TABLE_KEYS - {"context"}, path)
        if "primary_key" in table:
            self.columns(table["primary_key"], f"{path}.primary_key")
        identifiers = table.get("identifiers", {})
        if not isinstance(identifiers, dict):
            identifiers = {}
            self.error(f"{path}.identifiers", "must map identifier types to columns, e.g. {email: [email, alt_email]}")
        for kind, columns in identifiers.items():
            self.columns(columns, f"{path}.identifiers.{kind}")
        if "link" in table and "links" in table:
            self.error(path, "give link (one path) or links (a list of paths), not both")
        if "links" in table and (not isinstance(table["links"], list) or not table["links"]):
            self.error(f"{path}.links", "must be a list of {table: ..., columns: {this_column: other_column}}")
        for link_path, link in link_entries(table, path):
            self.link_read(name, link, link_path, tables)
        if not identifiers and not link_entries(table, path):
            self.error(path, "give identifiers (columns to find the person by) or links to other tables")
        shared = table.get("shared")
        if shared is not None and shared not in SHARED_MODES:
            self.error(f"{path}.shared", f"must be skip or unlink (got {shared!r})")
        if shared is not None and identifiers:
            self.error(
                f"{path}.shared", "a table with identifiers holds the person's own rows; only linked rows are shared"
            )
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
        self.errors += labels_errors(table, path=path)
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
            for key in ("withdrawn_at_column", "given_at_column", "channel_column"):
                if key in consent and not isinstance(consent[key], str):
                    self.error(f"{path}.consent.{key}", "must name a column")
        withdrawal = table.get("withdrawal")
        if withdrawal is not None:
            self.withdrawal_read(pairs(withdrawal), pairs(table), f"{path}.withdrawal")
        if "events" in table:
            self.events_read(table["events"], f"{path}.events")

    def events_read(self, events: Any, path: str) -> None:
        """Check the columns that date a table's rows for retention sweeps: {account_deactivated: deactivated_at}."""
        if not isinstance(events, dict) or not events:
            self.error(path, "must map retention events to the column that dates them, e.g. {last_activity: seen_at}")
            return
        for event, column in events.items():
            if event not in RULE_EVENTS:
                self.error(f"{path}.{event}", f"unknown event; use one of {', '.join(sorted(RULE_EVENTS))}")
            if not isinstance(column, str) or not column:
                self.error(f"{path}.{event}", "must name the column that dates the event")

    def withdrawal_read(self, withdrawal: dict, table: dict, path: str) -> None:
        """Check what withdrawing a consent does to a table's rows (GDPR Art. 7(3)): {consents: [...], action}."""
        self.unknown_keys(withdrawal, WITHDRAWAL_KEYS, path)
        known = {purpose["consent_key"] for purpose in self.datamap.purposes.values() if purpose.get("consent_key")}
        consents = withdrawal.get("consents")
        if not isinstance(consents, list) or not consents:
            self.error(f"{path}.consents", "must list the consent keys whose withdrawal changes these rows")
        else:
            for index, key in enumerate(consents):
                if key not in known:
                    self.error(f"{path}.consents.{index}", f'unknown consent key "{key}"; no purpose has it')
        if withdrawal.get("action") not in WITHDRAWAL_ACTIONS:
            self.error(f"{path}.action", f"must be one of {', '.join(WITHDRAWAL_ACTIONS)}")
        if "give" in withdrawal:
            self.withdrawal_give_read(withdrawal["give"], table, f"{path}.give")

    def withdrawal_give_read(self, give: Any, table: dict, path: str) -> None:
        """Check the row written when one of the consents is given again: {column: value or "{now}"}."""
        if not isinstance(give, dict):
            self.error(path, 'must map columns to values ("{now}" for the moment the consent is given)')
            return
        links = table.get("links") or ([table["link"]] if table.get("link") else [])
        if len(links) != 1:
            self.error(path, "needs a table with exactly one link: the new row belongs to the person's row there")
        for column, value in give.items():
            if not isinstance(column, str) or not column:
                self.error(path, "column names must be text")
            elif isinstance(value, str) and value.startswith("{") and value != GIVE_NOW:
                self.error(f"{path}.{column}", f'unknown placeholder "{value}"; only "{GIVE_NOW}" is known')
            elif value is not None and not isinstance(value, str | int | float | bool):
                self.error(f"{path}.{column}", "must be a single value")

    def link_read(self, name: str, link: Any, path: str, tables: dict) -> None:
        if not isinstance(link, dict):
            self.error(path, "must be a mapping {table: ..., columns: {this_column: other_column}}")
            return
        self.unknown_keys(link, {"table", "columns"}, path)
        other = link.get("table")
        if other not in tables:
            self.error(f"{path}.table", f'unknown table "{other}"')
        elif other == name:
            self.error(f"{path}.table", "a table cannot link to itself; its own rows are found by its identifiers")
        elif "context" in pairs(tables[other]):
            self.error(f"{path}.table", f'"{other}" is a context table: it holds labels, not the person\'s rows')
        on = link.get("columns")
        if not isinstance(on, dict) or not on or not all(isinstance(v, str) for v in on.values()):
            example = "e.g. {customer_id: id}"
            self.error(f"{path}.columns", f"must map this table's columns to the linked table's, {example}")

    def context_read(self, table: dict, path: str) -> None:
        # A lookup table: its label is shown beside the ids that point at it; it is never exported or erased.
        self.unknown_keys(table, CONTEXT_TABLE_KEYS, path)
        context = table["context"]
        if not isinstance(context, dict) or not isinstance(context.get("label"), str) or not context["label"]:
            self.error(f"{path}.context", "must name the column that labels a row: {label: name}")
            return
        self.unknown_keys(context, CONTEXT_KEYS, f"{path}.context")
        if "primary_key" in table:
            self.columns(table["primary_key"], f"{path}.primary_key")

    def erasure_read(self, erasure: Any, path: str) -> None:
        if not isinstance(erasure, dict):
            self.error(path, "is required: {strategy: delete | anonymise | keep, ...}")
            return
        strategy = erasure.get("strategy")
        if strategy not in (DELETE, ANONYMISE, KEEP):
            self.error(f"{path}.strategy", f"must be delete, anonymise or keep (got {strategy!r})")
        fields = erasure.get("fields", {})
        if not isinstance(fields, dict):
            self.error(f"{path}.fields", "must map columns to an anonymiser: clear, redact, hash, {set: ...}")
            fields = {}
        for column, method in fields.items():
            if problem := method_error(method):
                self.error(f"{path}.fields.{column}", problem)
        if strategy == ANONYMISE and not fields:
            self.error(f"{path}.fields", "name the columns to anonymise")
        if strategy == DELETE and fields:
            self.error(f"{path}.fields", "a deleted row has no fields to anonymise")
        if strategy == KEEP:
            hold = erasure.get("hold")
            if hold not in self.datamap.legal_holds:
                self.error(f"{path}.hold", f'unknown legal hold "{hold}"')
            after = erasure.get("after_hold")
            if after is not None and after not in (DELETE, ANONYMISE):
                self.error(f"{path}.after_hold", f"must be delete or anonymise (got {after!r})")
            if erasure.get("date_column") and after is None:
                self.error(
                    f"{path}.after_hold",
                    "is required with date_column: what happens to rows whose hold has ended (delete or anonymise)",
                )
            if after is not None and not erasure.get("date_column"):
                self.error(f"{path}.date_column", "is required with after_hold: the column each row's hold runs from")
            if after == ANONYMISE and not fields:
                self.error(f"{path}.fields", "name the columns to anonymise when the hold has ended")
        else:
            for key in ("hold", "after_hold"):
                if key in erasure:
                    self.error(f"{path}.{key}", "only rows that are kept are kept under a hold")
        self.unknown_keys(erasure, ERASURE_KEYS, path)

    def links_check(self, tables: dict) -> None:
        # Rows are found by following links to tables found by identifiers; a circle would never end.
        graph = {
            name: [pairs(link).get("table") for _, link in link_entries(pairs(table), "")]
            for name, table in tables.items()
        }
        for name in tables:
            circle = _circle_from(name, graph)
            if circle:
                self.error(f"{self.path}.tables.{name}", f"links go round in a circle: {' -> '.join(circle)}")


def _circle_from(start: str, graph: dict[str, list]) -> list[str]:
    """Return a path of links from ``start`` back to itself, or an empty list."""
    stack, seen = [(start, [start])], set()
    while stack:
        current, trail = stack.pop()
        for other in graph.get(current, []):
            if other == start:
                return [*trail, other]
            if other in graph and other not in seen:
                seen.add(other)
                stack.append((other, [*trail, other]))
    return []


def link_entries(table: dict, path: str) -> list[tuple[str, Any]]:
    """Return a table's links with their paths: its `links` list, or its one `link`."""
    if isinstance(table.get("links"), list):
        return [(f"{path}.links[{i}]", link) for i, link in enumerate(table["links"])]
    if table.get("link") is not None:
        return [(f"{path}.link", table["link"])]
    return []


def method_error(method: Any) -> str | None:
    """Return what is wrong with an anonymiser as the map gives it, or None."""
    if method is None or method in ANONYMISE_METHODS:
        return None
    if isinstance(method, dict) and len(method) == 1:
        if "set" in method:
            value = method["set"]
            if value is None or isinstance(value, str | int | float | bool):
                return None
            return "{set: ...} takes one value: true, false, a number or a text"
        if "truncate" in method:
            if method["truncate"] in TRUNCATE_UNITS:
                return None
            return "{truncate: ...} takes year or month"
    return f"must be clear, redact, hash, {{set: VALUE}} or {{truncate: year | month}} (got {method!r})"


def method_normalise(method: Any) -> Any:
    """Return an anonymiser in one spelling: "clear", "redact", "hash", {"set": v} or {"truncate": unit}."""
    if method is None or method == "null" or method == {"set": None}:
        return "clear"
    return method


def tables_normalise(tables: dict) -> dict[str, dict]:
    """Return a validated map's tables in one shape, every optional key present (docs/decisions/0014)."""
    normal = {}
    for name, table in tables.items():
        erasure = table.get("erasure")
        identifiers = table.get("identifiers") or {}
        normal[name] = {
            "identifiers": {kind: [c] if isinstance(c, str) else list(c) for kind, c in identifiers.items()},
            "links": [dict(link) for _, link in link_entries(table, "")],
            "shared": table.get("shared"),
            "context": table.get("context"),
            "erasure": None
            if erasure is None
            else {
                "strategy": erasure["strategy"],
                "fields": {column: method_normalise(m) for column, m in (erasure.get("fields") or {}).items()},
                "hold": erasure.get("hold"),
                "date_column": erasure.get("date_column"),
                "after_hold": erasure.get("after_hold"),
            },
            "categories": dict(table.get("categories") or {}),
            "rectify": dict(table.get("rectify") or {}),
            "restriction": table.get("restriction"),
            "consent": table.get("consent"),
            "withdrawal": table.get("withdrawal"),
            "events": dict(table.get("events") or {}),
            "primary_key": [table["primary_key"]]
            if isinstance(table.get("primary_key"), str)
            else table.get("primary_key"),
            "exclude": list(table.get("exclude") or []),
            "purposes": table.get("purposes"),
            "recipients": table.get("recipients"),
        }
    return normal

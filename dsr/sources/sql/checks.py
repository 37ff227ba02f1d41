"""Checking a sql source's map against its live schema: every way the map would break the database.

Each problem names the table, the column and, where one applies, the constraint, and says what
to do instead. The rules are listed in docs/datamap.md ("Checked against the database").
"""

import difflib
from collections.abc import Iterable, Iterator

from dsr.datamap.schema import DataMapError
from dsr.sources.base import ANONYMISE, DEFAULT_REDACTION, DELETE, KEEP
from dsr.sources.sql.anonymise import method_problem
from dsr.sources.sql.schema import LiveForeignKey, LiveSchema, LiveTable


def _erasure_deletes(config: dict) -> str | None:
    """Return the erasure key under which a mapped table deletes rows ("strategy" or "after_hold"), or None."""
    erasure = config.get("erasure") or {}
    if erasure.get("strategy") == DELETE:
        return "strategy"
    return "after_hold" if erasure.get("after_hold") == DELETE else None


def _listed(columns: str | list[str] | None) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns or [])


def _named_columns(config: dict) -> Iterator[tuple[str, str]]:
    """Yield (path under the table, column) for every column of its own that a table's map names."""
    for kind, columns in (config.get("identifiers") or {}).items():
        yield from ((f"identifiers.{kind}", column) for column in _listed(columns))
    for i, link in enumerate(config.get("links") or []):
        yield from ((f"links.{i}.columns.{column}", column) for column in link.get("columns") or {})
    yield from ((f"categories.{column}", column) for column in config.get("categories") or {})
    erasure = config.get("erasure") or {}
    yield from ((f"erasure.fields.{column}", column) for column in erasure.get("fields") or {})
    if erasure.get("date_column"):
        yield "erasure.date_column", erasure["date_column"]
    yield from ((f"rectify.{name}", column) for name, column in (config.get("rectify") or {}).items())
    if (config.get("restriction") or {}).get("column"):
        yield "restriction.column", config["restriction"]["column"]
    for key, column in (config.get("consent") or {}).items():
        if key.endswith("_column") and column:
            yield f"consent.{key}", column
    yield from ((f"events.{event}", column) for event, column in (config.get("events") or {}).items())
    if (config.get("context") or {}).get("label"):
        yield "context.label", config["context"]["label"]
    yield from (("primary_key", column) for column in _listed(config.get("primary_key")))
    yield from (("exclude", column) for column in _listed(config.get("exclude")))


def _missing(kind: str, name: str, where: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f'no {kind} "{name}" {where}' + (f' (did you mean "{close[0]}"?)' if close else "")


def live_errors(
    tables: dict, live: LiveSchema, *, path: str, redaction_text: str = DEFAULT_REDACTION
) -> list[DataMapError]:
    """Return every way the (normalised) table map would break the live database, naming table, column and key."""
    return _LiveCheck(tables, live, path, redaction_text).run()


class _LiveCheck:
    """Check one source's table map against its live schema, collecting errors with paths."""

    def __init__(self, tables: dict, live: LiveSchema, path: str, redaction: str):
        self.tables, self.live, self.path, self.redaction = tables, live, path, redaction
        self.errors: list[DataMapError] = []

    def error(self, name: str, where: str, message: str) -> None:
        self.errors.append(DataMapError(f"{self.path}.tables.{name}" + (f".{where}" if where else ""), message))

    def mapped(self, table: str) -> str | None:
        """Return the mapped table whose rows include ``table``'s: itself, or a parent it is a partition of."""
        return next((name for name in [table, *self.live.ancestors(table)] if name in self.tables), None)

    def nullable(self, fk: LiveForeignKey) -> bool:
        columns = self.live.tables[fk.table].columns
        return all(columns[c].nullable for c in fk.columns if c in columns)

    def run(self) -> list[DataMapError]:
        for name, config in self.tables.items():
            table = self.live.tables.get(name)
            if table is None:
                self.error(name, "", _missing("table", name, "in the database", self.live.tables))
                continue
            parent = self.mapped(table.parent) if table.parent else None
            if parent:  # its rows are read and erased through the parent's
                kind = "an inheritance child" if table.inherited else "a partition"
                self.error(name, "", f'"{name}" is {kind} of "{parent}", which the map lists too; map "{parent}" only')
                continue
            self.columns_check(name, config, table)
            erasure = config.get("erasure") or {}
            for column, method in (erasure.get("fields") or {}).items():
                if column in table.columns:
                    problem = method_problem(method, table.columns[column], redaction=self.redaction)
                    if problem:
                        self.error(name, f"erasure.fields.{column}", f'{problem} (table "{name}")')
            date = table.columns.get(erasure.get("date_column") or "")
            # Dates may be kept as ISO text, as SQLite does; a value that is no date then dates nothing.
            if date is not None and date.type and not (date.is_date or date.is_text):
                self.error(name, "erasure.date_column", f'"{name}.{date.name}" ({date.type}) is not a date or datetime')
            if (where := _erasure_deletes(config)) and not config.get("context"):
                for fk in self.live.referencing(name):
                    if problem := self.delete_problem(name, config, fk):
                        self.error(name, f"erasure.{where}", problem)
            if config.get("shared") == "unlink":
                self.unlink_check(name)
        return self.errors

    def columns_check(self, name: str, config: dict, table: LiveTable) -> None:
        where = f'in table "{name}"'
        for at, column in _named_columns(config):
            if column not in table.columns:
                self.error(name, at, _missing("column", column, where, table.columns))
        for i, link in enumerate(config.get("links") or []):
            other = self.live.tables.get(link.get("table"))
            if other is None and link.get("table") not in self.tables:
                self.error(name, f"links.{i}.table", _missing("table", link.get("table"), "in the database", ()))
            for column, other_column in (link.get("columns") or {}).items() if other else ():
                if other_column not in other.columns:
                    at, there = f"links.{i}.columns.{column}", f'in table "{other.name}"'
                    self.error(name, at, _missing("column", other_column, there, other.columns))
        if not table.primary_key and not config.get("primary_key"):
            message = f'"{name}" has no primary key; name the columns that tell its rows apart in primary_key'
            self.error(name, "", message)

    def delete_problem(self, name: str, config: dict, fk: LiveForeignKey) -> str | None:
        """Return why deleting ``name``'s rows would break ``fk``, or None when the database allows it."""
        referrer = self.mapped(fk.table)
        other = self.tables[referrer] if referrer else {}
        strategy = "context" if other.get("context") else (other.get("erasure") or {}).get("strategy")
        nullable, key = self.nullable(fk), fk.describe()
        if fk.on_delete == "CASCADE":
            if strategy == KEEP:
                hold = (other.get("erasure") or {}).get("hold")
                kept = f'would delete rows "{referrer}" keeps ({hold}); anonymise "{name}" instead'
                return f'cannot delete "{name}": {key} is ON DELETE CASCADE, so deleting it {kept}'
            return None
        if fk.on_delete == "SET NULL" and nullable:
            return None
        itself = referrer == name
        pairs = set(zip(fk.columns, fk.referred_columns, strict=True))
        followed = any(
            link.get("table") == name and set((link.get("columns") or {}).items()) == pairs
            for link in other.get("links") or []
        )
        if strategy == DELETE and not itself and followed:
            return None  # every row pointing along this key is the person's, and is deleted first
        after_hold = (config.get("erasure") or {}).get("strategy") == KEEP
        if after_hold and strategy == KEEP and not itself:
            return None  # a row whose hold has ended stays while a kept row still points at it
        points_kept = strategy in (ANONYMISE, KEEP) and not nullable
        if config.get("shared") and (nullable or referrer) and not points_kept:
            return None  # rows still pointed at from outside are left as shared when it runs
        advice = [f'anonymise "{name}" instead']
        if itself:
            reason = "other rows of the same table point at the deleted rows"
        elif referrer is None:
            reason = f'"{fk.table}" is not in the map, so its rows stay and point at the deleted rows'
        elif strategy == DELETE:
            reason = f'"{referrer}" deletes only the rows it finds, and no link of it follows this key'
            columns = ", ".join(f"{a}: {b}" for a, b in zip(fk.columns, fk.referred_columns, strict=True))
            advice.insert(0, f'link "{referrer}" to "{name}" by {{{columns}}}')
        elif strategy == "context":
            reason = f'"{referrer}" is a context table, never erased, and points at the deleted rows'
        else:
            reason = f'"{referrer}" keeps pointing at the deleted rows ({strategy or "not erased"})'
        if not config.get("shared") and (nullable or referrer) and not points_kept:
            advice.append("set shared: skip")
        return f'cannot delete "{name}": {reason}, through {key}; ' + ", or ".join(advice)

    def unlink_check(self, name: str) -> None:
        for fk in self.live.referencing(name):
            referrer = self.mapped(fk.table)
            if referrer and not self.tables[referrer].get("context") and not self.nullable(fk):
                columns = self.live.tables[fk.table].columns
                fixed = ", ".join(c for c in fk.columns if c in columns and not columns[c].nullable)
                message = f'cannot unlink: "{fk.table}.{fixed}" is NOT NULL, through {fk.describe()}; use shared: skip'
                self.error(name, "shared", message)

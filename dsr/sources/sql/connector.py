"""The `sql` connector: any database SQLAlchemy reaches by URL (SQLite and PostgreSQL tested).

Tables are found from the person's identifiers and followed through their links,
transitively (customer.email -> customer.id -> invoice.customer_id ->
invoice_line.invoice_id). Table and column names come from the validated map
and are quoted by SQLAlchemy; values are always bound parameters. Every change
is written only where a value differs, so each operation reports the rows it
really changed and a second run reports none.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from django.utils import timezone
from sqlalchemy.engine import URL, Connection, make_url

from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    CONSENT_WITHDRAWAL,
    DELETE,
    DISCOVER,
    ERASURE,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ChangeResult,
    Connector,
    Correction,
    Fact,
    Identifiers,
    Record,
    SourceError,
)
from dsr.sources.groups import categories_of, group_describe, group_labels
from dsr.sources.placeholders import config_expand
from dsr.sources.resolution import identifier_normalise, phone_variants
from dsr.sources.sql.config import config_errors, pairs, tables_normalise
from dsr.sources.sql.connection import error_describe, transaction_open
from dsr.sources.sql.consents import SqlConsents
from dsr.sources.sql.erasure import SqlErasure
from dsr.sources.sql.key_arrays import array_fits, key_array_condition
from dsr.sources.sql.reading import SqlReading
from dsr.sources.sql.schema import LiveSchema, live_schema_current, schema_fingerprint
from dsr.sources.sql.sweep import SqlSweep

CHUNK = 500  # bound parameters per IN list
_TRUE_TEXTS, _FALSE_TEXTS = ("true", "1", "yes"), ("false", "0", "no")


class SqlConnector(SqlConsents, SqlErasure, SqlReading, SqlSweep, Connector):
    """A relational database holding the person's data in linked tables."""

    kind = "sql"
    reads_in_place = True

    def __init__(self, source: dict, datamap: DataMap):
        super().__init__(source, datamap)
        self.tables_config: dict[str, dict] = self.config["tables"]
        self.tables = tables_normalise(self.tables_config)
        self._reflected: dict[str, sa.Table] = {}
        self._metadata = sa.MetaData(schema=self.config.get("schema"))
        self._live_schema: LiveSchema | None = None
        self._roots: dict[str, list] | None = None
        # The conditions _match built in this operation, by table and identifiers: a table reached through
        # several links is matched once, and each statement that names it reuses the same condition.
        self._matched: dict[tuple, sa.ColumnElement[bool]] = {}
        # A retention sweep reads and checks the schema once for all its batches (``schema_held``).
        self._schema_held = False
        self._schema_checked = False
        self._fingerprint: str | None = None
        self._dialect = ""

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        return config_errors(config, path=path, datamap=datamap)

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        tables = config.get("tables")
        if not isinstance(tables, dict):
            return set()
        # Context tables hold labels, not anybody's data: they are no record group.
        return {name for name, table in tables.items() if "context" not in pairs(table)}

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        return {
            name: group_describe(table, identifiers_key="identifiers")
            for name, table in config["tables"].items()
            if "context" not in table
        }

    @classmethod
    def column_labels(cls, config: dict) -> dict[str, dict]:
        return {name: group_labels(table) for name, table in config["tables"].items() if "context" not in table}

    def capabilities(self) -> frozenset[str]:
        found = {ACCESS, DISCOVER, ERASURE}
        tables = self.tables_config.values()
        if any(table.get("rectify") for table in tables):
            found.add(RECTIFICATION)
        if any(table.get("restriction") for table in tables):
            found.add(RESTRICTION)
        if any(table.get("consent") or table.get("withdrawal") for table in tables):
            found.add(CONSENT_WITHDRAWAL)
        found |= self.consent_capabilities()
        return frozenset(found)

    # --- connection ------------------------------------------------------------

    def _url(self) -> str:
        url = config_expand(self.config["url"], source=self.key)
        parsed: URL = make_url(url)
        # SQLite would silently create an empty database for a mistyped path.
        on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
        if on_disk and not Path(parsed.database).is_file():
            raise self.error("the SQLite database file does not exist")
        return url

    @contextmanager
    def _connect(self, doing: str, *, read_only: bool) -> Iterator[Connection]:
        url = self._url()
        try:
            timeout = self.config.get("connect_timeout")
            with transaction_open(url, read_only=read_only, connect_timeout=timeout) as conn:
                self._dialect = conn.dialect.name
                self._matched.clear()
                if not self._schema_held:
                    self._schema_refresh(conn)
                yield conn
        except SourceError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            detail, transient = error_describe(exc)
            raise self.error(f"{doing}: {detail}", permanent=not transient) from None

    def _schema_refresh(self, conn: Connection) -> None:
        """Keep the tables reflected and the live schema read while the schema is unchanged; else forget them.

        The schema may change between operations: each compares its fingerprint (one cheap query) with the one
        they were read at. Reflecting the tables again for every operation cost more than the operation itself,
        and new Table objects also miss SQLAlchemy's cache of compiled statements.
        """
        fingerprint = schema_fingerprint(conn, self.config.get("schema"))
        if fingerprint is None or fingerprint != self._fingerprint:
            self._schema_forget()
            self._fingerprint = fingerprint

    def _schema_forget(self) -> None:
        self._matched.clear()
        self._fingerprint = None
        self._live_schema = None
        self._reflected.clear()
        self._metadata = sa.MetaData(schema=self.config.get("schema"))
        self._schema_checked = False

    @contextmanager
    def schema_held(self) -> Iterator[None]:
        """Read and check the live schema once for the operations inside (a retention sweep's batches).

        Each batch still runs in a transaction of its own; a schema changed meanwhile fails the statement
        that meets it, and the batch's transaction rolls back.
        """
        self._schema_forget()
        self._schema_held = True
        try:
            yield
        finally:
            self._schema_held = False
            self._schema_forget()

    def _table(self, conn: Connection, name: str) -> sa.Table:
        table = self._reflected.get(name)
        if table is None:
            table = sa.Table(name, self._metadata, autoload_with=conn)
            self._reflected[name] = table
        return table

    def _live(self, conn: Connection) -> LiveSchema:
        """Return the live schema, read once per operation (``_connect`` forgets it afterwards)."""
        if self._live_schema is None:
            self._live_schema = live_schema_current(conn, self.config.get("schema"))
        return self._live_schema

    def _column(self, table: sa.Table, name: str) -> sa.Column:
        if name not in table.c:
            raise self.error(f'table "{table.name}" has no column "{name}"')
        return table.c[name]

    def _primary_key(self, table: sa.Table) -> list[sa.Column]:
        return self._primary_key_of(table, table.name)

    def _primary_key_of(self, table: sa.FromClause, name: str) -> list[sa.Column]:
        """Return the key columns of ``table`` (maybe an alias of table ``name``): the map's, else the database's."""
        configured = (self.tables.get(name) or {}).get("primary_key")
        if configured:
            return [self._column(table, column) for column in configured]
        live = self._reflected.get(name)
        if live is None or not live.primary_key.columns:
            raise self.error(f'table "{name}" has no primary key; name one with primary_key')
        return [table.c[column.name] for column in live.primary_key.columns]

    def warm(self) -> None:
        """Reflect every mapped table, read the live schema and compile the first reads, as the first request would.

        The tables and the live schema are kept while the schema's fingerprint holds: the tables on this connector,
        the live schema in the process (dsr.sources.sql.schema.live_schema_current), the compiled reads in the
        engine's cache (reads_warm, which reads no row), so a pool process forked afterwards does none of it again.
        """
        with self._connect("reading the schema", read_only=True) as conn:
            for name in self.tables:
                self._table(conn, name)
            self._live(conn)
        self.reads_warm()

    def test_connection(self) -> None:
        """Connect, then check the map against the live schema: every table, column, key and constraint it meets."""
        with self._connect("connection test", read_only=True) as conn:
            self._live_check(conn)
            for name in self.tables:
                table = self._table(conn, name)
                self._primary_key(table)
                conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).all()

    def live_map_errors(self) -> list[DataMapError]:
        with self._connect("reading the schema", read_only=True) as conn:
            return self._live_errors(conn)

    # --- finding the person ----------------------------------------------------

    def _identity_condition(self, column: sa.Column, kind: str, values: set[str]) -> sa.ColumnElement[bool]:
        values = {normal for value in values if (normal := identifier_normalise(kind, value))}
        if kind == "email":
            # Emails match case-insensitively and without surrounding spaces.
            return sa.func.lower(sa.func.trim(column)).in_(sorted(values))
        if kind == "phone":
            variants = set().union(*(phone_variants(value) for value in values))
            return column.in_(sorted(variants))
        return sa.cast(column, sa.String).in_(sorted(values))

    def _match(self, conn: Connection, name: str, identifiers: Identifiers) -> sa.ColumnElement[bool]:
        """Return the condition selecting the person's rows of table ``name``: by its identifiers or any link.

        A row reached by several paths (the home address and an order's shipping address) matches once.
        """
        if self._roots is not None:
            # A retention sweep learns rows' keys as it goes (``_rows_known``): its conditions change.
            return self._match_build(conn, name, identifiers)
        key = (name, *sorted((kind, *sorted(values)) for kind, values in identifiers.items() if values))
        condition = self._matched.get(key)
        if condition is None:
            condition = self._matched[key] = self._match_build(conn, name, identifiers)
        return condition

    def _match_build(self, conn: Connection, name: str, identifiers: Identifiers) -> sa.ColumnElement[bool]:
        config = self.tables[name]
        table = self._table(conn, name)
        # A retention sweep (dsr/sources/sql/sweep.py) names its people by their rows' keys in one table.
        if self._roots is not None and name in self._roots:
            return self._key_condition(self._primary_key(table), self._roots[name])
        conditions = []
        for kind, columns in config["identifiers"].items():
            if identifiers.get(kind):
                conditions += [
                    self._identity_condition(self._column(table, column), kind, identifiers[kind]) for column in columns
                ]
        for link in config["links"]:
            other = self._table(conn, link["table"])
            own = [self._column(table, column) for column in link["columns"]]
            theirs = [self._column(other, column) for column in link["columns"].values()]
            known = (self._roots or {}).get(link["table"])
            by_key = [column.name for column in self._primary_key(other)] == [column.name for column in theirs]
            if known is not None and len(own) == 1 and by_key and self._keys_as_array(own, known):
                # A sweep knows the linked rows by key: matching the link's own column by them uses its index,
                # where a join back to the other table lets PostgreSQL read the whole table for every batch.
                conditions.append(self._key_condition(own, known))
                continue
            other_rows = sa.select(*theirs).where(self._match(conn, link["table"], identifiers))
            if len(own) == 1:
                conditions.append(own[0].in_(other_rows.where(theirs[0].is_not(None))))
            else:
                conditions.append(sa.tuple_(*own).in_(other_rows))
        return sa.or_(*conditions) if conditions else sa.false()

    def _order(self) -> list[str]:
        """Return the mapped tables (never the context ones), each after the tables it is found through."""
        ordered: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            for link in self.tables[name]["links"]:
                visit(link["table"])
            ordered.append(name)

        for name, config in self.tables.items():
            if not config["context"]:
                visit(name)
        return ordered

    def _count(self, conn: Connection, name: str, identifiers: Identifiers, *conditions: Any) -> int:
        """Return how many of the person's rows of table ``name`` meet ``conditions``."""
        table = self._table(conn, name)
        query = sa.select(sa.func.count()).select_from(table).where(self._match(conn, name, identifiers), *conditions)
        return conn.execute(query).scalar_one()

    def _update(self, conn: Connection, name: str, identifiers: Identifiers, values: dict, *conditions: Any) -> int:
        """Set ``values`` on the person's rows of table ``name`` that meet ``conditions``; return how many."""
        table = self._table(conn, name)
        statement = sa.update(table).where(self._match(conn, name, identifiers), *conditions).values(**values)
        return conn.execute(statement).rowcount

    def discover_identifiers(self, identifiers: Identifiers) -> Identifiers:
        found: Identifiers = {}
        with self._connect("identity discovery", read_only=True) as conn:
            for name in self._order():
                pairs_ = [(kind, column) for kind, cols in self.tables[name]["identifiers"].items() for column in cols]
                if not pairs_:
                    continue
                table = self._table(conn, name)
                query = sa.select(*(self._column(table, column) for _, column in pairs_)).where(
                    self._match(conn, name, identifiers)
                )
                for row in conn.execute(query):
                    for (kind, _), value in zip(pairs_, row, strict=True):
                        normal = identifier_normalise(kind, value) if value is not None else None
                        if normal:
                            found.setdefault(kind, set()).add(normal)
        return found

    def consent_given(self, record: Record) -> str | None:
        consent = self.tables_config.get(record.table, {}).get("consent")
        if record.source != self.key or not consent:
            return None
        key, state = record.row.get(consent["key_column"]), record.row.get(consent["state_column"])
        # A state that is unknown (NULL, or left out of the export) is no consent given.
        if key is None or state is None or state == consent.get("withdrawn_value", False):
            return None
        return str(key)

    def consents_recorded(self, identifiers: Identifiers) -> set[str]:
        found: set[str] = set()
        with self._connect("reading consents", read_only=True) as conn:
            for name in self._order():
                consent = self.tables_config[name].get("consent")
                if not consent:
                    continue
                table = self._table(conn, name)
                # Given at some time: given now, or marked withdrawn since (a row that only records a refusal is not).
                given = self._consent_given_condition(table, consent)
                if consent.get("withdrawn_at_column"):
                    given = sa.or_(given, self._column(table, consent["withdrawn_at_column"]).is_not(None))
                key = self._column(table, consent["key_column"])
                query = sa.select(key).distinct().where(self._match(conn, name, identifiers), given)
                found.update(str(value) for value in conn.execute(query).scalars() if value is not None)
        return found

    # --- erasure: dsr/sources/sql/erasure.py ----------------------------------

    def _keys_as_array(self, key_columns: list[sa.Column], keys: list) -> bool:
        return len(key_columns) == 1 and self._dialect == "postgresql" and array_fits(key_columns[0], keys)

    def _key_condition(self, key_columns: list[sa.Column], keys: list) -> sa.ColumnElement[bool]:
        if self._keys_as_array(key_columns, keys):
            # One array parameter instead of one per key: far less to compile and send for a batch of keys.
            return key_array_condition(key_columns[0], keys)
        if len(key_columns) == 1:
            return key_columns[0].in_(keys)
        return sa.tuple_(*key_columns).in_([tuple(key) for key in keys])

    def _key_chunks(self, key_columns: list[sa.Column], keys: list) -> Iterator[list]:
        """Yield ``keys`` in lists one statement takes: all of them as one PostgreSQL array, else CHUNK at a time."""
        size = max(len(keys), 1) if self._keys_as_array(key_columns, keys) else CHUNK
        for start in range(0, len(keys), size):
            yield keys[start : start + size]

    def _keys_present(self, conn: Connection, table: sa.Table, key_columns: list, keys: list) -> int:
        present = 0
        for chunk in self._key_chunks(key_columns, keys):
            condition = self._key_condition(key_columns, chunk)
            present += conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one()
        return present

    # --- rectification, restriction, consent -----------------------------------

    def _correct_value(self, table: sa.Table, column: sa.Column, text: str) -> Any:
        """Return the correct value as the column stores it; the error names the column, never the value."""
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            return text
        if isinstance(text, python_type) and not (python_type is int and isinstance(text, bool)):
            return text
        text = str(text).strip()
        try:
            if python_type is bool and text.lower() in (*_TRUE_TEXTS, *_FALSE_TEXTS):
                return text.lower() in _TRUE_TEXTS
            if python_type is dt.datetime:
                return dt.datetime.fromisoformat(text)
            if python_type is dt.date:
                return dt.date.fromisoformat(text)
            if python_type in (int, float, Decimal):
                return python_type(text)
        except (ValueError, InvalidOperation):
            pass
        raise self.error(f'the correct value does not fit column "{table.name}.{column.name}" ({python_type.__name__})')

    def _corrections_apply(
        self, conn: Connection, identifiers: Identifiers, corrections: list[Correction], *, write: bool
    ) -> tuple[list[Fact], list[str]]:
        """Return a Fact per table and correction this source maps, and the corrections it does not map."""
        facts, applied = [], set()
        for name in self._order():
            mapping = self.tables_config[name].get("rectify", {})
            table = self._table(conn, name)
            for correction in corrections:
                column_name = mapping.get(correction["field"])
                if column_name is None:
                    continue
                column = self._column(table, column_name)
                value = self._correct_value(table, column, correction["correct"])
                found = self._count(conn, name, identifiers)
                differs = column.is_distinct_from(value)
                if write:
                    # Only rows whose value differs are written: a second run changes nothing and says so.
                    changed = self._update(conn, name, identifiers, {column_name: value}, differs)
                else:
                    changed = self._count(conn, name, identifiers, differs)
                category = self.datamap.corrections.get(correction["field"], {}).get("category")
                facts.append(
                    Fact(
                        table=name,
                        action=UPDATE,
                        found=found,
                        changed=changed,
                        item=correction["field"],
                        columns=[column_name],
                        categories=[category] if category and changed else [],
                    )
                )
                applied.add(correction["field"])
        return facts, list(dict.fromkeys(c["field"] for c in corrections if c["field"] not in applied))

    def rectification_preview(self, identifiers: Identifiers, corrections: list[Correction]) -> list[Fact]:
        if RECTIFICATION not in self.capabilities():
            raise self.unsupported("rectification")
        with self._connect("previewing rectification", read_only=True) as conn:
            facts, _ = self._corrections_apply(conn, identifiers, corrections, write=False)
        return facts

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 16: correct inaccurate data; a field this source does not hold is reported, not guessed.
        if RECTIFICATION not in self.capabilities():
            raise self.unsupported("rectification")
        with self._connect("rectifying", read_only=False) as conn:
            facts, not_applicable = self._corrections_apply(conn, identifiers, corrections, write=True)
        return ChangeResult(source=self.key, operation=RECTIFICATION, facts=facts, not_applicable=not_applicable)

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        # GDPR Art. 18(2): restricted data is only stored; systems read the flag.
        if RESTRICTION not in self.capabilities():
            raise self.unsupported("restriction")
        result = ChangeResult(source=self.key, operation=RESTRICTION)
        with self._connect("restricting", read_only=False) as conn:
            for name in self._order():
                config = self.tables_config[name]
                if not config.get("restriction"):
                    continue
                column_name = config["restriction"]["column"]
                column = self._column(self._table(conn, name), column_name)
                found = self._count(conn, name, identifiers)
                changed = self._update(
                    conn, name, identifiers, {column_name: restricted}, column.is_distinct_from(restricted)
                )
                result.facts.append(
                    Fact(
                        table=name,
                        action=UPDATE,
                        found=found,
                        changed=changed,
                        columns=[column_name],
                        categories=categories_of(config.get("categories")) if changed else [],
                    )
                )
        return result

    def _consent_given_condition(self, table: sa.Table, consent: dict) -> sa.ColumnElement[bool]:
        state = self._column(table, consent["state_column"])
        withdrawn = consent.get("withdrawn_value", False)
        return sa.and_(state.is_not(None), state.is_distinct_from(withdrawn))

    def consent_withdraw(self, identifiers: Identifiers, consents: list[str], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 7(3): withdrawing is as easy as giving; earlier processing stays lawful.
        if CONSENT_WITHDRAWAL not in self.capabilities():
            raise self.unsupported("consent withdrawal")
        result = ChangeResult(source=self.key, operation=CONSENT_WITHDRAWAL)
        now = timezone.now()
        with self._connect("withdrawing consent", read_only=False) as conn:
            for name in self._order():
                config = self.tables_config[name]
                consent = config.get("consent")
                if not consent:
                    continue
                table = self._table(conn, name)
                values: dict[str, Any] = {consent["state_column"]: consent.get("withdrawn_value", False)}
                if consent.get("withdrawn_at_column"):
                    values[consent["withdrawn_at_column"]] = now
                key_column = self._column(table, consent["key_column"])
                given = self._consent_given_condition(table, consent)
                for key in dict.fromkeys(consents):
                    # found=0: the person never had this consent here; found>0, changed=0: already withdrawn.
                    found = self._count(conn, name, identifiers, key_column == key)
                    changed = self._update(conn, name, identifiers, values, key_column == key, given)
                    result.facts.append(
                        Fact(
                            table=name,
                            action=UPDATE,
                            found=found,
                            changed=changed,
                            item=key,
                            columns=list(values),
                            categories=categories_of(config.get("categories")) if changed else [],
                        )
                    )
            result.facts += self._withdrawal_deletes(conn, identifiers, consents)
        return result

    def _withdrawal_deletes(self, conn: Connection, identifiers: Identifiers, consents: list[str]) -> list[Fact]:
        """Delete the rows the map says exist only under the withdrawn consents (a newsletter subscription)."""
        facts = []
        # Children before the rows they are found through.
        for name in reversed(self._order()):
            config = self.tables_config[name]
            withdrawal = config.get("withdrawal")
            keys = [key for key in dict.fromkeys(consents) if withdrawal and key in withdrawal["consents"]]
            if not keys:
                continue
            table = self._table(conn, name)
            found = self._count(conn, name, identifiers)
            changed = conn.execute(sa.delete(table).where(self._match(conn, name, identifiers))).rowcount
            facts.append(
                Fact(
                    table=name,
                    action=DELETE,
                    found=found,
                    changed=changed,
                    item=keys[0],
                    categories=categories_of(config.get("categories")) if changed else [],
                )
            )
        return facts

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

from dsr.datamap.rules import rule_date_apply
from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    CONSENT_WITHDRAWAL,
    DEFAULT_REDACTION,
    DELETE,
    DISCOVER,
    ERASURE,
    KEEP,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ChangeResult,
    Connector,
    Correction,
    ErasurePlan,
    ErasureResult,
    Fact,
    Identifiers,
    Record,
    SourceError,
    TablePlan,
    config_expand,
    date_iso,
    value_anonymised,
    value_date,
    value_jsonable,
)
from dsr.sources.groups import categories_of, group_describe
from dsr.sources.resolution import identifier_normalise, phone_variants
from dsr.sources.sql.config import config_errors, pairs
from dsr.sources.sql.connection import error_describe, transaction_open

CHUNK = 500  # bound parameters per IN list
_PLAIN_PYTHON_TYPES = (str, int, float, bool)
_TRUE_TEXTS, _FALSE_TEXTS = ("true", "1", "yes"), ("false", "0", "no")


def _plain_column(column: sa.Column) -> bool:
    """Return whether the column's values reach JSON unchanged (text, numbers, booleans)."""
    try:
        return column.type.python_type in _PLAIN_PYTHON_TYPES
    except NotImplementedError:
        return False


class SqlConnector(Connector):
    """A relational database holding the person's data in linked tables."""

    kind = "sql"

    def __init__(self, source: dict, datamap: DataMap):
        super().__init__(source, datamap)
        self.tables_config: dict[str, dict] = self.config["tables"]
        self._reflected: dict[str, sa.Table] = {}
        self._metadata = sa.MetaData(schema=self.config.get("schema"))

    @classmethod
    def config_errors(cls, config: dict, *, path: str, datamap: DataMap) -> list[DataMapError]:
        return config_errors(config, path=path, datamap=datamap)

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        tables = config.get("tables")
        return set(tables) if isinstance(tables, dict) else set()

    @classmethod
    def groups_describe(cls, config: dict) -> dict[str, dict]:
        return {name: group_describe(table, identifiers_key="identifiers") for name, table in config["tables"].items()}

    def capabilities(self) -> frozenset[str]:
        found = {ACCESS, DISCOVER, ERASURE}
        tables = self.tables_config.values()
        if any(table.get("rectify") for table in tables):
            found.add(RECTIFICATION)
        if any(table.get("restriction") for table in tables):
            found.add(RESTRICTION)
        if any(table.get("consent") for table in tables):
            found.add(CONSENT_WITHDRAWAL)
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
            with transaction_open(url, read_only=read_only) as conn:
                yield conn
        except SourceError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            detail, transient = error_describe(exc)
            raise self.error(f"{doing}: {detail}", permanent=not transient) from None

    def _table(self, conn: Connection, name: str) -> sa.Table:
        table = self._reflected.get(name)
        if table is None:
            table = sa.Table(name, self._metadata, autoload_with=conn)
            self._reflected[name] = table
        return table

    def _column(self, table: sa.Table, name: str) -> sa.Column:
        if name not in table.c:
            raise self.error(f'table "{table.name}" has no column "{name}"')
        return table.c[name]

    def _primary_key(self, table: sa.Table) -> list[sa.Column]:
        configured = self.tables_config[table.name].get("primary_key")
        if configured:
            names = [configured] if isinstance(configured, str) else configured
            return [self._column(table, name) for name in names]
        if not table.primary_key.columns:
            raise self.error(f'table "{table.name}" has no primary key; name one with primary_key')
        return list(table.primary_key.columns)

    def test_connection(self) -> None:
        """Connect, then check that every table and column the map names exists and fits its use."""
        with self._connect("connection test", read_only=True) as conn:
            for name, config in self.tables_config.items():
                table = self._table(conn, name)
                self._primary_key(table)
                consent = pairs(config.get("consent"))
                named = [
                    *config.get("identifiers", {}).values(),
                    *config.get("categories", {}),
                    *pairs(config.get("link")).get("columns", {}),
                    *pairs(config.get("erasure")).get("fields", {}),
                    *config.get("rectify", {}).values(),
                    *([config["restriction"]["column"]] if config.get("restriction") else []),
                    *(consent[key] for key in ("key_column", "state_column", "withdrawn_at_column") if key in consent),
                ]
                date_column = pairs(config.get("erasure")).get("date_column")
                for column in [*named, *([date_column] if date_column else [])]:
                    self._column(table, column)
                parent = pairs(config.get("link")).get("table")
                for column in pairs(config.get("link")).get("columns", {}).values():
                    self._column(self._table(conn, parent), column)
                for column, method in pairs(config.get("erasure")).get("fields", {}).items():
                    if (method or "clear") == "clear" and not table.c[column].nullable:
                        raise self.error(f'column "{name}.{column}" cannot be cleared: it is NOT NULL')
                conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).all()

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
        """Return the condition selecting the person's rows of table ``name``, following links upwards."""
        config = self.tables_config[name]
        table = self._table(conn, name)
        conditions = []
        for kind, column in config.get("identifiers", {}).items():
            if identifiers.get(kind):
                conditions.append(self._identity_condition(self._column(table, column), kind, identifiers[kind]))
        link = config.get("link")
        if link:
            parent = self._table(conn, link["table"])
            own = [self._column(table, column) for column in link["columns"]]
            theirs = [self._column(parent, column) for column in link["columns"].values()]
            parent_rows = sa.select(*theirs).where(self._match(conn, link["table"], identifiers))
            target = own[0] if len(own) == 1 else sa.tuple_(*own)
            conditions.append(target.in_(parent_rows))
        return sa.or_(*conditions) if conditions else sa.false()

    def _order(self) -> list[str]:
        """Return the table names parents first."""
        ordered: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            parent = pairs(self.tables_config[name].get("link")).get("table")
            if parent:
                visit(parent)
            ordered.append(name)

        for name in self.tables_config:
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
                columns = self.tables_config[name].get("identifiers", {})
                if not columns:
                    continue
                table = self._table(conn, name)
                kinds = list(columns)
                query = sa.select(*(self._column(table, columns[kind]) for kind in kinds)).where(
                    self._match(conn, name, identifiers)
                )
                for row in conn.execute(query):
                    for kind, value in zip(kinds, row, strict=True):
                        normal = identifier_normalise(kind, value) if value is not None else None
                        if normal:
                            found.setdefault(kind, set()).add(normal)
        return found

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        provided = set(self.source.get("provided_by_subject", []))
        batch = int(self.config.get("batch_size", 1000))
        with self._connect("reading records", read_only=True) as conn:
            for name in self._order():
                config = self.tables_config[name]
                table = self._table(conn, name)
                excluded = set(config.get("exclude", []))
                columns = [column for column in table.c if column.name not in excluded]
                names = [column.name for column in columns]
                categories = config.get("categories", {})
                table_categories = {column: categories[column] for column in names if column in categories}
                # Only columns whose values JSON cannot carry as they are (dates, decimals, bytes) are converted.
                converted = [i for i, column in enumerate(columns) if not _plain_column(column)]
                is_provided = name in provided
                query = sa.select(*columns).where(self._match(conn, name, identifiers))
                query = query.order_by(*self._primary_key(table))
                result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
                for row in result:
                    values = list(row)
                    for i in converted:
                        values[i] = value_jsonable(values[i])
                    yield Record(
                        source=self.key,
                        table=name,
                        row=dict(zip(names, values, strict=True)),
                        categories=table_categories,
                        provided=is_provided,
                    )

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

    # --- erasure ---------------------------------------------------------------

    def _hold_until(self, hold_key: str, dates: list[dt.date]) -> str | None:
        hold = self.datamap.legal_holds[hold_key]
        if not dates:
            return None
        # The last kept row decides when the whole set may go.
        return date_iso(rule_date_apply(hold["period_rule"], max(dates), year_end=self.datamap.financial_year_end()))

    def erasure_plan(self, identifiers: Identifiers, *, reference: str = "") -> ErasurePlan:
        plans = []
        with self._connect("planning erasure", read_only=True) as conn:
            for name in self._order():
                config = self.tables_config[name]
                erasure = config["erasure"]
                table = self._table(conn, name)
                key_columns = self._primary_key(table)
                date_column = erasure.get("date_column")
                selected = [*key_columns] + ([self._column(table, date_column)] if date_column else [])
                query = sa.select(*selected).where(self._match(conn, name, identifiers)).order_by(*key_columns)
                keys, dates = [], []
                for row in conn.execute(query):
                    key = [value_jsonable(value) for value in row[: len(key_columns)]]
                    keys.append(key[0] if len(key) == 1 else key)
                    if date_column and (day := value_date(row[-1])) is not None:
                        dates.append(day)
                strategy = erasure["strategy"]
                fields = {column: method or "clear" for column, method in erasure.get("fields", {}).items()}
                plan = TablePlan(table=name, action=strategy, count=len(keys), keys=keys, fields=fields)
                # What would change: every category of a deleted row, only the anonymised columns' otherwise.
                plan.categories = categories_of(config.get("categories"), None if strategy == DELETE else fields)
                if strategy == KEEP:
                    plan.hold = erasure["hold"]
                    plan.hold_until = self._hold_until(erasure["hold"], dates)
                plans.append(plan)
        return ErasurePlan(source=self.key, kind=self.kind, tables=plans)

    def _new_value(self, table: sa.Table, column: str, method: str, key: Any) -> Any:
        return value_anonymised(
            method=method,
            where=f"{self.key}\x1f{table.name}\x1f{column}",
            key=key,
            max_length=getattr(table.c[column].type, "length", None),
            redaction=str(self.config.get("redaction_text", DEFAULT_REDACTION)),
        )

    def _key_condition(self, key_columns: list[sa.Column], keys: list) -> sa.ColumnElement[bool]:
        if len(key_columns) == 1:
            return key_columns[0].in_(keys)
        return sa.tuple_(*key_columns).in_([tuple(key) for key in keys])

    def _anonymise(self, conn: Connection, table: sa.Table, key_columns: list, plan: TablePlan) -> int:
        changed = 0
        for key in plan.keys:
            parts = key if len(key_columns) > 1 else [key]
            values = {column: self._new_value(table, column, method, key) for column, method in plan.fields.items()}
            statement = (
                sa.update(table)
                .where(*(column == part for column, part in zip(key_columns, parts, strict=True)))
                .where(sa.or_(*(table.c[column].is_distinct_from(value) for column, value in values.items())))
                .values(**values)
            )
            changed += conn.execute(statement).rowcount
        return changed

    def _keys_present(self, conn: Connection, table: sa.Table, key_columns: list, keys: list) -> int:
        present = 0
        for start in range(0, len(keys), CHUNK):
            condition = self._key_condition(key_columns, keys[start : start + CHUNK])
            present += conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one()
        return present

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        facts = []
        # One transaction: all of the source's changes, or none of them. Children first,
        # so no row is deleted while another still points at it.
        with self._connect("executing erasure", read_only=False) as conn:
            for table_plan in reversed(plan.tables):
                if table_plan.table not in self.tables_config:
                    raise self.error(f'the plan names table "{table_plan.table}", which the map no longer has')
                table = self._table(conn, table_plan.table)
                key_columns = self._primary_key(table)
                changed = 0
                if table_plan.action == DELETE:
                    for start in range(0, len(table_plan.keys), CHUNK):
                        chunk = table_plan.keys[start : start + CHUNK]
                        statement = sa.delete(table).where(self._key_condition(key_columns, chunk))
                        changed += conn.execute(statement).rowcount
                elif table_plan.fields:
                    changed = self._anonymise(conn, table, key_columns, table_plan)
                kept = 0
                if table_plan.action == KEEP:
                    # GDPR Art. 17(3)(b): the planned rows that are still there are the ones kept.
                    kept = self._keys_present(conn, table, key_columns, table_plan.keys)
                facts.append(
                    Fact(
                        table=table_plan.table,
                        action=table_plan.action,
                        found=table_plan.count,
                        changed=changed,
                        kept=kept,
                        hold=table_plan.hold,
                        hold_until=table_plan.hold_until if kept else None,
                        columns=list(table_plan.fields),
                        categories=list(table_plan.categories) if changed else [],
                    )
                )
        return ErasureResult(source=self.key, facts=list(reversed(facts)))

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
        return result

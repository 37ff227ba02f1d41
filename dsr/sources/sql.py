"""The `sql` connector: any database SQLAlchemy reaches by URL (SQLite and PostgreSQL tested).

Tables are found from the person's identifiers and followed through their links,
transitively (customer.email -> customer.id -> invoice.customer_id ->
invoice_line.invoice_id). Table and column names come from the validated map
and are quoted by SQLAlchemy; values are always bound parameters.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from django.utils import timezone
from sqlalchemy.engine import URL, Connection, Engine, make_url

from dsr.datamap.rules import rule_date_apply
from dsr.datamap.schema import DataMap, DataMapError
from dsr.sources.base import (
    ACCESS,
    ANONYMISE,
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
    config_placeholder_errors,
    date_iso,
    value_anonymised,
    value_date,
    value_jsonable,
)
from dsr.sources.resolution import identifier_normalise, phone_variants

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
}
CONFIG_KEYS = {"url", "schema", "tables", "redaction_text", "connect_timeout", "batch_size"}
CHUNK = 500  # bound parameters per IN list

_engines: dict[str, Engine] = {}


def _engine_get(url: str) -> Engine:
    engine = _engines.get(url)
    if engine is None:
        engine = sa.create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            # SQLite enforces foreign keys only when asked, per connection.
            @sa.event.listens_for(engine, "connect")
            def _foreign_keys_on(dbapi_connection, record):
                dbapi_connection.execute("PRAGMA foreign_keys = ON")

        _engines[url] = engine
    return engine


def engines_dispose() -> None:
    """Close every pooled connection (tests drop their databases after this)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def _pairs(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


_PLAIN_PYTHON_TYPES = (str, int, float, bool)


def _plain_column(column: sa.Column) -> bool:
    """Return whether the column's values reach JSON unchanged (text, numbers, booleans)."""
    try:
        return column.type.python_type in _PLAIN_PYTHON_TYPES
    except NotImplementedError:
        return False


class _TableConfigReader:
    """Validate one sql source's table configuration, collecting errors with paths."""

    def __init__(self, config: dict, path: str, datamap: DataMap):
        self.config, self.path, self.datamap = config, path, datamap
        self.errors: list[DataMapError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(DataMapError(path, message))

    def columns(self, value: Any, path: str) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
            return value
        self.error(path, "must be a column name or a list of column names")
        return []

    def read(self) -> list[DataMapError]:
        config, path = self.config, self.path
        for key in config:
            if key not in CONFIG_KEYS:
                self.error(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(CONFIG_KEYS))}")
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
        for key in table:
            if key not in TABLE_KEYS:
                self.error(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(TABLE_KEYS))}")
        if "primary_key" in table:
            self.columns(table["primary_key"], f"{path}.primary_key")
        identifiers = table.get("identifiers", {})
        if not isinstance(identifiers, dict) or not all(isinstance(v, str) for v in identifiers.values()):
            self.error(f"{path}.identifiers", "must map identifier types to columns, e.g. {email: email}")
        link = table.get("link")
        if link is not None:
            link = _pairs(link)
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
        self.erasure_read(table.get("erasure"), f"{path}.erasure")
        rectify = table.get("rectify", {})
        if not isinstance(rectify, dict) or not all(isinstance(v, str) for v in rectify.values()):
            self.error(f"{path}.rectify", "must map correction fields to columns, e.g. {address: street}")
        restriction = table.get("restriction")
        if restriction is not None and not isinstance(_pairs(restriction).get("column"), str):
            self.error(f"{path}.restriction.column", "is required: the boolean column that marks restriction")
        consent = table.get("consent")
        if consent is not None:
            consent = _pairs(consent)
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
        unknown = set(erasure) - {"strategy", "fields", "hold", "date_column"}
        for key in sorted(unknown):
            self.error(f"{path}.{key}", "unknown key; expected strategy, fields, hold, date_column")

    def links_check(self, tables: dict) -> None:
        for name in tables:
            seen, current = [name], name
            while True:
                link = _pairs(_pairs(tables.get(current)).get("link"))
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
            link = _pairs(_pairs(table).get("link"))
            parent = link.get("table")
            child_strategy = _pairs(_pairs(table).get("erasure")).get("strategy")
            parent_strategy = _pairs(_pairs(tables.get(parent)).get("erasure")).get("strategy")
            if parent_strategy == DELETE and child_strategy in (ANONYMISE, KEEP):
                self.error(
                    f"{self.path}.tables.{parent}.erasure.strategy",
                    f'cannot delete rows that "{name}" keeps pointing at ({child_strategy}); anonymise them instead',
                )


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
        return _TableConfigReader(config, path, datamap).read()

    @classmethod
    def record_groups(cls, config: dict) -> set[str] | None:
        tables = config.get("tables")
        return set(tables) if isinstance(tables, dict) else set()

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

    def _error(self, exc: Exception, doing: str) -> SourceError:
        """Translate a database error into a SourceError that carries no values from the rows."""
        orig = getattr(exc, "orig", None)
        diag = getattr(orig, "diag", None)
        if diag is not None and getattr(diag, "message_primary", None):
            detail = diag.message_primary
        else:
            detail = str(orig or exc).splitlines()[0] if str(orig or exc) else type(exc).__name__
        lowered = detail.lower()
        transient_markers = ("connection refused", "timeout", "timed out", "could not connect", "database is locked")
        transient_markers += ("server closed", "terminating connection", "too many connections", "deadlock")
        permanent_markers = ("authentication failed", "does not exist", "no such", "permission denied", "password")
        permanent_markers += ("read-only", "readonly")
        if isinstance(exc, sa.exc.NoSuchTableError):
            return self.error(f"{doing}: table {detail} does not exist")
        transient = isinstance(exc, sa.exc.OperationalError | sa.exc.DisconnectionError | sa.exc.TimeoutError)
        transient = (transient or any(marker in lowered for marker in transient_markers)) and not any(
            marker in lowered for marker in permanent_markers
        )
        return self.error(f"{doing}: {detail}", permanent=not transient)

    @contextmanager
    def _connect(self, doing: str, *, read_only: bool) -> Iterator[Connection]:
        url = self._url()
        try:
            engine = _engine_get(url)
            with engine.connect() as conn:
                dialect = conn.dialect.name
                if read_only and dialect in ("mysql", "mariadb"):
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.commit()
                if read_only and dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                    conn.commit()
                try:
                    with conn.begin():
                        if read_only and dialect == "postgresql":
                            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                        yield conn
                finally:
                    if read_only and dialect == "sqlite":
                        conn.rollback()
                        conn.exec_driver_sql("PRAGMA query_only = OFF")
                        conn.commit()
        except SourceError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            raise self._error(exc, doing) from None

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
                named = [
                    *config.get("identifiers", {}).values(),
                    *config.get("categories", {}),
                    *_pairs(config.get("link")).get("columns", {}),
                    *_pairs(config.get("erasure")).get("fields", {}),
                    *config.get("rectify", {}).values(),
                ]
                for column in named:
                    self._column(table, column)
                parent = _pairs(config.get("link")).get("table")
                for column in _pairs(config.get("link")).get("columns", {}).values():
                    self._column(self._table(conn, parent), column)
                for column, method in _pairs(config.get("erasure")).get("fields", {}).items():
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
            parent = _pairs(self.tables_config[name].get("link")).get("table")
            if parent:
                visit(parent)
            ordered.append(name)

        for name in self.tables_config:
            visit(name)
        return ordered

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
                erasure = self.tables_config[name]["erasure"]
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
                if strategy == KEEP:
                    hold = self.datamap.legal_holds[erasure["hold"]]
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

    def erasure_execute(self, plan: ErasurePlan) -> ErasureResult:
        if plan.source != self.key or plan.kind != self.kind:
            raise self.error("the plan belongs to another source")
        results = []
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
                results.append(
                    Fact(
                        table=table_plan.table,
                        action=table_plan.action,
                        found=table_plan.count,
                        changed=changed,
                        kept=table_plan.count if table_plan.action == KEEP else 0,
                        hold=table_plan.hold,
                        hold_until=table_plan.hold_until,
                        categories=table_plan.categories,
                    )
                )
        return ErasureResult(source=self.key, facts=list(reversed(results)))

    # --- rectification, restriction, consent -----------------------------------

    def _update_matched(self, conn: Connection, name: str, identifiers: Identifiers, values: dict, extra=None) -> int:
        table = self._table(conn, name)
        statement = sa.update(table).where(self._match(conn, name, identifiers))
        if extra is not None:
            statement = statement.where(extra(table))
        return conn.execute(statement.values(**values)).rowcount

    def rectify(self, identifiers: Identifiers, corrections: list[Correction], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 16: correct inaccurate data; a field this source does not hold is reported, not guessed.
        result = ChangeResult(source=self.key, operation=RECTIFICATION)
        applied = set()
        with self._connect("rectifying", read_only=False) as conn:
            for name in self._order():
                mapping = self.tables_config[name].get("rectify", {})
                for correction in corrections:
                    column = mapping.get(correction["field"])
                    if column is None:
                        continue
                    self._column(self._table(conn, name), column)
                    rows = self._update_matched(conn, name, identifiers, {column: correction["correct"]})
                    result.facts.append(
                        Fact(table=name, action=UPDATE, found=rows, changed=rows, item=correction["field"])
                    )
                    applied.add(correction["field"])
        result.not_applicable = [c["field"] for c in corrections if c["field"] not in applied]
        return result

    def restrict(
        self, identifiers: Identifiers, *, restricted: bool, purpose: str | None = None, reference: str = ""
    ) -> ChangeResult:
        # GDPR Art. 18(2): restricted data is only stored; systems read the flag.
        if RESTRICTION not in self.capabilities():
            raise self.unsupported("restriction")
        result = ChangeResult(source=self.key, operation=RESTRICTION)
        with self._connect("restricting", read_only=False) as conn:
            for name in self._order():
                restriction = self.tables_config[name].get("restriction")
                if restriction:
                    rows = self._update_matched(conn, name, identifiers, {restriction["column"]: restricted})
                    result.facts.append(
                        Fact(table=name, action=UPDATE, found=rows, changed=rows, item=restriction["column"])
                    )
        return result

    def consent_withdraw(self, identifiers: Identifiers, consents: list[str], *, reference: str = "") -> ChangeResult:
        # GDPR Art. 7(3): withdrawing is as easy as giving; earlier processing stays lawful.
        if CONSENT_WITHDRAWAL not in self.capabilities():
            raise self.unsupported("consent withdrawal")
        result = ChangeResult(source=self.key, operation=CONSENT_WITHDRAWAL)
        now = timezone.now()
        with self._connect("withdrawing consent", read_only=False) as conn:
            for name in self._order():
                consent = self.tables_config[name].get("consent")
                if not consent:
                    continue
                values: dict[str, Any] = {consent["state_column"]: consent.get("withdrawn_value", False)}
                if consent.get("withdrawn_at_column"):
                    values[consent["withdrawn_at_column"]] = now
                state_column, key_column = consent["state_column"], consent["key_column"]

                def still_given(table, state_column=state_column, key_column=key_column, values=values):
                    return sa.and_(
                        table.c[key_column].in_(consents),
                        table.c[state_column].is_distinct_from(values[state_column]),
                    )

                rows = self._update_matched(conn, name, identifiers, values, extra=still_given)
                result.facts.append(Fact(table=name, action=UPDATE, found=rows, changed=rows, item=key_column))
        return result

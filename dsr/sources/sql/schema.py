"""The live schema of a sql source: what the database itself says its tables, keys and constraints are.

The map names tables and columns; the database decides what erasure may do to
them. `live_schema_read` reads a database once with SQLAlchemy's inspector
into plain dataclasses, so the checks and the planner never reflect twice.
"""

import datetime as dt
import hashlib
import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_TEXT_TYPES = (sa.String, sa.Text, sa.Unicode, sa.UnicodeText)
_DATE_TYPES = (sa.Date, sa.DateTime)


@dataclass(frozen=True)
class LiveColumn:
    name: str
    type: str  # the type as the database names it (VARCHAR(120), INTEGER, ...)
    nullable: bool
    length: int | None = None  # the longest text the column takes; None: no limit or not text
    is_text: bool = False
    is_date: bool = False
    is_bool: bool = False
    is_number: bool = False
    unique: bool = False  # alone in a unique constraint or index, or the sole primary key column


@dataclass(frozen=True)
class LiveForeignKey:
    name: str  # the constraint's name, or "table(columns) -> referred(columns)" when it has none
    table: str  # the referencing table
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    on_delete: str = ""  # CASCADE, SET NULL, RESTRICT, NO ACTION or "" (the database's default)

    def describe(self) -> str:
        """Return the key as a message names it: its name and what points at what."""
        shape = f"{self.table}({', '.join(self.columns)}) -> {self.referred_table}({', '.join(self.referred_columns)})"
        return shape if self.name == shape else f"{self.name}: {shape}"


@dataclass
class LiveTable:
    name: str
    columns: dict[str, LiveColumn]
    primary_key: tuple[str, ...]
    foreign_keys: list[LiveForeignKey] = field(default_factory=list)
    # PostgreSQL: the table this one is a partition or inheritance child of, and its own children.
    parent: str | None = None
    partitions: list[str] = field(default_factory=list)
    inherited: bool = False  # the parent is an INHERITS parent, not a partitioned table


@dataclass
class LiveSchema:
    dialect: str
    tables: dict[str, LiveTable]

    def ancestors(self, table: str) -> list[str]:
        """Return the tables ``table`` is a partition or inheritance child of, its parent first."""
        found: list[str] = []
        parent = self.tables[table].parent if table in self.tables else None
        while parent is not None and parent not in found and parent != table:
            found.append(parent)
            parent = self.tables[parent].parent if parent in self.tables else None
        return found

    def root(self, table: str) -> str:
        """Return the topmost table ``table`` is a partition of (``table`` itself when it is none)."""
        return [table, *self.ancestors(table)][-1]

    def descendants(self, table: str) -> list[str]:
        """Return the partitions and inheritance children of ``table``, and theirs, depth first."""
        found: list[str] = []
        for child in self.tables[table].partitions if table in self.tables else ():
            if child not in found and child != table:
                found += [child, *(name for name in self.descendants(child) if name not in found)]
        return found

    def referencing(self, table: str) -> list[LiveForeignKey]:
        """Return every foreign key that points at ``table`` or its partitions, from any table (itself included).

        PostgreSQL copies a key declared on a partitioned table onto each partition, and a key that points at
        a partitioned table into one more per partition; such copies are left out, each key named once.
        """
        targets = {table, *self.descendants(table)}
        keys = [fk for live in self.tables.values() for fk in live.foreign_keys if fk.referred_table in targets]
        return [fk for fk in keys if not any(self._copied(fk, other) for other in keys)]

    def _copied(self, fk: LiveForeignKey, other: LiveForeignKey) -> bool:
        """Return whether ``fk`` is ``other`` copied down to a partition of its table or of the table it points at."""
        return (
            (fk.columns, fk.referred_columns, fk.on_delete) == (other.columns, other.referred_columns, other.on_delete)
            and (fk.table, fk.referred_table) != (other.table, other.referred_table)
            and other.table in (fk.table, *self.ancestors(fk.table))
            and other.referred_table in (fk.referred_table, *self.ancestors(fk.referred_table))
        )


def _column_read(column: dict, unique: bool) -> LiveColumn:
    kind = column["type"]
    try:
        python_type = kind.python_type
    except NotImplementedError:
        python_type = None
    is_text = isinstance(kind, _TEXT_TYPES) or python_type is str
    return LiveColumn(
        name=column["name"],
        type=str(kind.compile()) if not isinstance(kind, sa.types.NullType) else "",
        nullable=bool(column.get("nullable", True)),
        length=getattr(kind, "length", None) if is_text else None,
        is_text=is_text,
        is_date=isinstance(kind, _DATE_TYPES) or python_type in (dt.date, dt.datetime),
        is_bool=isinstance(kind, sa.Boolean) or python_type is bool,
        is_number=python_type in (int, float) or isinstance(kind, sa.Numeric),
        unique=unique,
    )


def live_table_read(inspector: sa.Inspector, name: str, schema: str | None = None) -> LiveTable:
    """Return what the database says of one table."""
    primary = tuple(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or ())
    singles = {tuple(c["column_names"]) for c in inspector.get_unique_constraints(name, schema=schema)}
    # SQLite keeps a column's own UNIQUE as an automatic index, which SQLAlchemy leaves out unless asked.
    automatic = {"include_auto_indexes": True} if inspector.dialect.name == "sqlite" else {}
    indexes = inspector.get_indexes(name, schema=schema, **automatic)
    singles |= {tuple(i["column_names"]) for i in indexes if i.get("unique")}
    if len(primary) == 1:
        singles.add(primary)
    columns = {
        column["name"]: _column_read(column, (column["name"],) in singles)
        for column in inspector.get_columns(name, schema=schema)
    }
    keys = []
    for fk in inspector.get_foreign_keys(name, schema=schema):
        if not fk.get("referred_table"):
            continue
        columns_, referred = tuple(fk["constrained_columns"]), tuple(fk["referred_columns"])
        shape = f"{name}({', '.join(columns_)}) -> {fk['referred_table']}({', '.join(referred)})"
        keys.append(
            LiveForeignKey(
                name=fk.get("name") or shape,
                table=name,
                columns=columns_,
                referred_table=fk["referred_table"],
                referred_columns=referred,
                on_delete=str((fk.get("options") or {}).get("ondelete") or "").upper(),
            )
        )
    return LiveTable(name=name, columns=columns, primary_key=primary, foreign_keys=keys)


def _sqlite_on_delete(conn: Connection, table: LiveTable, schema: str | None) -> None:
    """Fill in the ON DELETE rules SQLAlchemy misses on SQLite keys declared beside their column."""
    columns: dict[int, list[str]] = {}
    rules: dict[int, tuple[str, str]] = {}
    within = f'"{schema}".' if schema else ""
    for row in conn.exec_driver_sql(f'PRAGMA {within}foreign_key_list("{table.name}")').mappings():
        columns.setdefault(row["id"], []).append(row["from"])
        rules[row["id"]] = (row["table"], row["on_delete"])
    by_shape = {(tuple(columns[id_]), referred): rule for id_, (referred, rule) in rules.items() if rule != "NO ACTION"}
    table.foreign_keys = [
        fk if fk.on_delete else replace(fk, on_delete=by_shape.get((fk.columns, fk.referred_table), ""))
        for fk in table.foreign_keys
    ]


_POSTGRES_CHILDREN = sa.text("""
SELECT child.relname AS child, parent.relname AS parent, child.relispartition AS partition
FROM pg_inherits AS i
JOIN pg_class AS child ON child.oid = i.inhrelid
JOIN pg_class AS parent ON parent.oid = i.inhparent
JOIN pg_namespace AS ns ON ns.oid = child.relnamespace AND ns.oid = parent.relnamespace
WHERE ns.nspname = coalesce(:schema, current_schema()) AND child.relkind IN ('r', 'p')
ORDER BY i.inhseqno, parent.relname, child.relname
""")


def _postgres_children_read(conn: Connection, tables: dict[str, LiveTable], schema: str | None) -> None:
    """Fill in each table's parent and partitions: declarative partitions and INHERITS children alike."""
    for row in conn.execute(_POSTGRES_CHILDREN, {"schema": schema}).mappings():
        child, parent = tables.get(row["child"]), tables.get(row["parent"])
        if child is None or parent is None or child.parent is not None:
            continue  # a table of another schema, or the second parent of a multiple INHERITS
        child.parent, child.inherited = parent.name, not row["partition"]
        parent.partitions.append(child.name)


def live_schema_read(conn: Connection, schema: str | None = None) -> LiveSchema:
    """Return the whole live schema of the database ``conn`` is connected to."""
    inspector = sa.inspect(conn)
    tables = {name: live_table_read(inspector, name, schema) for name in inspector.get_table_names(schema=schema)}
    if conn.dialect.name == "sqlite":
        for table in tables.values():
            _sqlite_on_delete(conn, table, schema)
    elif conn.dialect.name == "postgresql":
        _postgres_children_read(conn, tables, schema)
    return LiveSchema(dialect=conn.dialect.name, tables=tables)


# The schema as last read, per database and schema name, with the fingerprint it was read at.
_read: dict[tuple[str, str | None], tuple[str, LiveSchema]] = {}

_POSTGRES_FINGERPRINT = sa.text("""
SELECT concat_ws('/',
  (SELECT count(*) || ':' || coalesce(sum(c.xmin::text::bigint), 0) FROM pg_class AS c WHERE c.relnamespace = ns.oid),
  (SELECT count(*) || ':' || coalesce(sum(k.xmin::text::bigint), 0) FROM pg_constraint AS k
   WHERE k.connamespace = ns.oid),
  (SELECT count(*) || ':' || coalesce(sum(a.xmin::text::bigint), 0) FROM pg_attribute AS a
   JOIN pg_class AS c ON c.oid = a.attrelid WHERE c.relnamespace = ns.oid))
FROM pg_namespace AS ns WHERE ns.nspname = coalesce(:schema, current_schema())
""")


def schema_fingerprint(conn: Connection, schema: str | None = None) -> str | None:
    """Return a value that changes whenever the schema does, cheaply; None where the dialect has none.

    SQLite keeps the schema as text in ``sqlite_master``; on PostgreSQL any change to a
    table, column or constraint rewrites its catalog row, which gets a new transaction id (xmin).
    """
    if conn.dialect.name == "sqlite":
        # The schema's own text, so that another file put in the same place is never taken for this one.
        within = f'"{schema}".' if schema else ""
        rows = conn.exec_driver_sql(f"SELECT type, name, sql FROM {within}sqlite_master ORDER BY name").all()  # noqa: S608
        return hashlib.sha256(repr(rows).encode()).hexdigest()
    if conn.dialect.name == "postgresql":
        return conn.execute(_POSTGRES_FINGERPRINT, {"schema": schema}).scalar()
    return None


def live_schema_current(conn: Connection, schema: str | None = None) -> LiveSchema:
    """Return the live schema as it is now: read again only when its fingerprint has changed since the last read.

    Reading a 200-table database takes a third of a second; checking the fingerprint, a millisecond.
    """
    key = (conn.engine.url.render_as_string(hide_password=False), schema)
    fingerprint = schema_fingerprint(conn, schema)
    known = _read.get(key)
    if fingerprint is not None and known is not None and known[0] == fingerprint:
        return known[1]
    live = live_schema_read(conn, schema)
    if fingerprint is not None:
        _read[key] = (fingerprint, live)
    return live


def deletion_order(names: Iterable[str], live: LiveSchema) -> tuple[list[str], list[LiveForeignKey]]:
    """Return ``names`` in an order that deletes every referencing row first, and the keys to clear beforehand.

    A table comes before every table it references, ties in the given order. Where
    foreign keys go round in a circle, nullable keys are cleared first (the second
    list) so the rest is acyclic; a key that is ON DELETE CASCADE, or SET NULL on
    nullable columns, needs no clearing: the database does it. A self-reference
    does not order anything; it is listed to clear when it is nullable and the
    database does not handle it. Raises ValueError naming a circle of keys none of
    which can be cleared.
    """
    names = list(dict.fromkeys(names))
    index = {name: i for i, name in enumerate(names)}

    def within(table: str) -> str | None:
        return next((name for name in [table, *live.ancestors(table)] if name in index), None)

    hard, soft, free, cleared, taken = [], [], [], [], set()
    for name in names:
        for table in [name, *live.descendants(name)] if name in live.tables else []:
            if within(table) != name:
                continue  # a partition the caller lists itself
            for fk in live.tables[table].foreign_keys:
                referred = within(fk.referred_table)
                if referred is None or (name, fk.columns, referred, fk.referred_columns) in taken:
                    continue  # not among the tables, or a partition's copy of a key already taken
                taken.add((name, fk.columns, referred, fk.referred_columns))
                columns = live.tables[table].columns
                nullable = all(columns[c].nullable for c in fk.columns if c in columns)
                handled = fk.on_delete == "CASCADE" or (fk.on_delete == "SET NULL" and nullable)
                if referred == name:
                    if nullable and not handled and fk not in cleared:
                        cleared.append(fk)
                    continue
                edge = (name, referred, fk)
                (free if handled else soft if nullable else hard).append(edge)

    after: dict[str, set[str]] = {name: set() for name in names}  # table -> the tables deleted after it
    through: dict[tuple[str, str], LiveForeignKey] = {}

    def path(start: str, goal: str) -> list[str] | None:
        """Return the tables from ``start`` to ``goal`` along the edges so far, or None."""
        stack, seen = [[start]], {start}
        while stack:
            trail = stack.pop()
            if trail[-1] == goal:
                return trail
            for nxt in sorted(after[trail[-1]] - seen, key=index.__getitem__, reverse=True):
                seen.add(nxt)
                stack.append([*trail, nxt])
        return None

    for group in (hard, soft, free):
        for referencing, referred, fk in group:
            circle = path(referred, referencing)
            if circle is None:
                after[referencing].add(referred)
                through.setdefault((referencing, referred), fk)
            elif group is hard:
                trail = [referencing, *circle]
                keys = ", ".join(through.get(pair, fk).describe() for pair in itertools.pairwise(trail))
                shown = " -> ".join(trail)
                raise ValueError(f"foreign keys go round in a circle with no nullable key to clear: {shown} ({keys})")
            elif group is soft and fk not in cleared:
                cleared.append(fk)
    waiting = {name: 0 for name in names}
    for targets in after.values():
        for target in targets:
            waiting[target] += 1
    ready = [index[name] for name in names if not waiting[name]]
    heapq.heapify(ready)
    order = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for target in after[name]:
            waiting[target] -= 1
            if not waiting[target]:
                heapq.heappush(ready, index[target])
    return order, cleared

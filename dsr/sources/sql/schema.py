"""The live schema of a sql source: what the database itself says its tables, keys and constraints are.

The map names tables and columns; the database decides what erasure may do to
them. `live_schema_read` reads a database once with SQLAlchemy's inspector
into plain dataclasses, so the checks and the planner never reflect twice.
"""

import datetime as dt
from dataclasses import dataclass, field

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


@dataclass
class LiveSchema:
    dialect: str
    tables: dict[str, LiveTable]

    def referencing(self, table: str) -> list[LiveForeignKey]:
        """Return every foreign key that points at ``table``, from any table (itself included)."""
        return [fk for live in self.tables.values() for fk in live.foreign_keys if fk.referred_table == table]


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
    singles |= {tuple(i["column_names"]) for i in inspector.get_indexes(name, schema=schema) if i.get("unique")}
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


def live_schema_read(conn: Connection, schema: str | None = None) -> LiveSchema:
    """Return the whole live schema of the database ``conn`` is connected to."""
    inspector = sa.inspect(conn)
    tables = {name: live_table_read(inspector, name, schema) for name in inspector.get_table_names(schema=schema)}
    return LiveSchema(dialect=conn.dialect.name, tables=tables)

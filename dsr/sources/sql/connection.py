"""Connections to sql sources: one pooled engine per URL, read-only transactions, errors told apart.

Errors are described without the values a driver may quote, and classed as
worth retrying (down, timed out, locked) or not (missing, refused, read-only).
"""

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

_engines: dict[tuple[str, float], Engine] = {}
# Seconds to wait for a source's server to answer a new connection (the map's connect_timeout overrides it):
# a server that never answers must not hold a worker's job, or its start, for the operating system's minutes.
CONNECT_TIMEOUT = 10

_TRANSIENT_MARKERS = (
    "connection refused",
    "timeout",
    "timed out",
    "could not connect",
    "database is locked",
    "server closed",
    "terminating connection",
    "too many connections",
    "deadlock",
)
_PERMANENT_MARKERS = (
    "authentication failed",
    "does not exist",
    "no such",
    "permission denied",
    "password",
    "read-only",
    "readonly",
)


def engine_get(url: str, *, connect_timeout: float | None = None) -> Engine:
    """Return the pooled engine for ``url``, creating it on first use (SQLite with foreign keys on)."""
    timeout = float(connect_timeout or CONNECT_TIMEOUT)
    engine = _engines.get((url, timeout))
    if engine is None:
        backend = sa.engine.make_url(url).get_backend_name()
        # PostgreSQL and MySQL drivers take whole seconds; SQLite opens a file and waits for nothing.
        options = (
            {"connect_timeout": max(1, math.ceil(timeout))} if backend in ("postgresql", "mysql", "mariadb") else {}
        )
        # Statements carry the anonymising key (the keyed hash computed in the database) and people's
        # identifiers: no error or log line shows their parameters.
        engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=options)
        if engine.dialect.name == "sqlite":
            # SQLite enforces foreign keys only when asked, per connection.
            @sa.event.listens_for(engine, "connect")
            def _foreign_keys_on(dbapi_connection, record):
                dbapi_connection.execute("PRAGMA foreign_keys = ON")

        _engines[(url, timeout)] = engine
    return engine


def engines_connections_close() -> None:
    """Close every pooled connection and keep the engines (a worker before its pool forks: a connection must not
    be shared by two processes, while the engines' caches of compiled statements may be)."""
    for engine in _engines.values():
        engine.dispose()


def engines_dispose() -> None:
    """Close every pooled connection (tests drop their databases after this)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def transaction_open(url: str, *, read_only: bool, connect_timeout: float | None = None) -> Iterator[Connection]:
    """Yield a connection inside one transaction, read-only where asked; it commits unless the body raises."""
    with engine_get(url, connect_timeout=connect_timeout).connect() as conn:
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
            # The connection goes back to the pool writable.
            if read_only and dialect == "sqlite":
                conn.rollback()
                conn.exec_driver_sql("PRAGMA query_only = OFF")
                conn.commit()


def _tables_read(statement: sa.Select) -> Iterator[sa.Table]:
    """Yield the tables ``statement`` reads from: its FROM clause's tables, through joins and aliases."""
    froms = list(statement.get_final_froms())
    while froms:
        from_ = froms.pop()
        if isinstance(from_, sa.Join):
            froms += [from_.left, from_.right]
        elif isinstance(from_, sa.Table):
            yield from_
        elif getattr(from_, "element", None) is not None:
            froms.append(from_.element)


@contextmanager
def rows_never_read(url: str, tables: Iterable[sa.Table], *, connect_timeout: float | None = None) -> Iterator[None]:
    """Within: every SELECT from ``tables`` through ``url``'s engine is planned by the database, which reads no row.

    SQLAlchemy compiles the statement and keeps it in the engine's cache as for a real read; what is sent is
    ``SELECT * FROM (<statement>) AS dsr_unread WHERE 1 = 0``, whose condition the database sees is false before
    it reads anything. Other statements (the schema's fingerprint, reflection) go through unchanged. For a
    worker's start only: within, everything in the process that uses ``url`` goes through this.

    The listener sits on a copy of the engine that shares its pool and its cache of compiled statements
    (``Engine.execution_options``), put in the engine's place meanwhile: an engine that ever had a listener
    dispatches events for every statement afterwards, about 5 microseconds each.
    """
    ours = set(tables)

    def unread(conn, cursor, statement, parameters, context, executemany):
        compiled = getattr(context, "compiled", None)
        select = getattr(compiled, "statement", None)
        if isinstance(select, sa.Select) and not ours.isdisjoint(_tables_read(select)):
            return f"SELECT * FROM ({statement}) AS dsr_unread WHERE 1 = 0", parameters  # noqa: S608 - our own SQL
        return statement, parameters

    engine = engine_get(url, connect_timeout=connect_timeout)
    key = (url, float(connect_timeout or CONNECT_TIMEOUT))
    unreading = engine.execution_options()
    sa.event.listen(unreading, "before_cursor_execute", unread, retval=True)
    _engines[key] = unreading
    try:
        yield
    finally:
        _engines[key] = engine


def error_describe(exc: Exception) -> tuple[str, bool]:
    """Return what the driver says of ``exc`` (its primary message, or first line) and whether it is transient."""
    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "message_primary", None):
        detail = diag.message_primary
    else:
        detail = str(orig or exc).splitlines()[0] if str(orig or exc) else type(exc).__name__
    if isinstance(exc, sa.exc.NoSuchTableError):
        return f"table {detail} does not exist", False
    lowered = detail.lower()
    transient = isinstance(exc, sa.exc.OperationalError | sa.exc.DisconnectionError | sa.exc.TimeoutError)
    transient = transient or any(marker in lowered for marker in _TRANSIENT_MARKERS)
    return detail, transient and not any(marker in lowered for marker in _PERMANENT_MARKERS)

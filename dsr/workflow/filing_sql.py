"""A filing that waits for the email's confirmation, written in one statement on PostgreSQL.

What request_submit writes for such a filing (the request, its clock stop, its challenge, the code's message,
the request.received deliveries of the endpoints that subscribe, the "go" signals of the message and the
deliveries, the audit event with the chain head's move, and the sweepers' wake-up) is sent as one statement:
one round trip and one implicit transaction instead of ten statements and a commit. The rows are the models'
own, with their values prepared as Django's insert prepares them; the database adds only what it alone knows
(the new ids, the chain head's sequence number and hash), and computes the event's hash over the same text
as dsr.audit does, so `audit_chain_verify` checks the event like every other. See decision 0021.

The statement writes nothing, and the caller files the usual way, when the active data map is no longer the
one the filing was checked against (a map loaded meanwhile applies to this filing too) or the audit chain
has no head yet (the very first event).
"""

import functools
import hashlib
import json
import logging
import time
import uuid
import weakref
from datetime import date, datetime

import psycopg
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connection, connections, models
from django.db.models import Model
from psycopg import pq
from psycopg.types.json import Jsonb

from dsr import challenges, emails, webhooks
from dsr.audit import Actor, audit_event_sql
from dsr.models import (
    ActorType,
    AuditAction,
    AuditChainHead,
    AuditEvent,
    DataMapVersion,
    Message,
    Request,
    Suspension,
    SuspensionReason,
    TaskSignal,
    VerificationChallenge,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from dsr.signals import WAKE_CHANNEL, signals_at_commit

logger = logging.getLogger(__name__)


def filing_at_once_ready(actor: Actor) -> bool:
    """Return whether a filing by ``actor`` that waits for the email's confirmation can be written at once.

    Not for staff and integrations (their retries are matched with an earlier filing first), not inside a
    caller's transaction, not where this process hands signals to the broker itself (a worker, tasks run
    inline), and only where the message and delivery starters record "go" signals.
    """
    return (
        connection.vendor == "postgresql"
        and actor.type not in (ActorType.STAFF, ActorType.INTEGRATION)
        and not connection.in_atomic_block
        and not signals_at_commit()
        and emails.message_task() is not None
        and webhooks.delivery_task() is not None
    )


def _record(obj: Model, *, leave: tuple[str, ...] = ()) -> str:
    """Return ``obj``'s column values as one JSON object, prepared as Django's insert prepares them.

    Without the primary key and the ``leave`` columns, which the statement adds. The database reads the object
    with each column's own input function (jsonb_populate_record), so a value too long for its column fails
    as it would in an INSERT.
    """
    # The connection itself, not the per-thread proxy every field would look it up through again.
    database = connections[connection.alias]
    attributes = obj.__dict__
    values = {}
    for column, attname, model_field, kind in _columns(type(obj), leave):
        value = attributes.get(attname)
        if not _as_held(kind, value):
            value = _json_value(model_field.get_db_prep_save(model_field.pre_save(obj, add=True), database))
        elif value is not None and kind in (_MOMENT, _DAY):
            value = value.isoformat()
        values[column] = value
    return json.dumps(values)


def _as_held(kind: str, value) -> bool:
    """Return whether ``value``, held by a field _record writes ``kind``, is written without asking the field."""
    if kind is _AS_IS:
        # A choice (a str or int enum) is its value to json.dumps as to the field; a bool is an int.
        return value is None or isinstance(value, str | int)
    if kind is _MOMENT:
        return value is None or (type(value) is datetime and value.tzinfo is not None)
    if kind is _DAY:
        return value is None or type(value) is date
    # Written by the same json.dumps as the field's own, which has no encoder of its own.
    return kind is _AS_JSON and type(value) in (dict, list)


# How _record writes a field's value: as the attribute holds it (a str, an int, a bool or None, which these
# fields prepare to themselves), as an aware datetime's or a date's ISO text, as the JSON a field without an
# encoder of its own writes, or prepared by the field.
_AS_IS, _MOMENT, _DAY, _AS_JSON, _PREPARED = "as is", "moment", "day", "json", "prepared"
_AS_IS_FIELDS = frozenset(
    {
        models.CharField,
        models.EmailField,
        models.TextField,
        models.BooleanField,
        models.SmallIntegerField,
        models.IntegerField,
        models.BigIntegerField,
        models.PositiveSmallIntegerField,
        models.PositiveIntegerField,
        models.PositiveBigIntegerField,
    }
)


@functools.cache
def _columns(model: type[Model], leave: tuple[str, ...]) -> tuple:
    """Return (column, attribute, field, how) for each column _record writes of ``model``.

    By the field's exact class: a subclass may prepare its values its own way, so it is left to do so.
    """
    columns = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.column in leave:
            continue
        kind = _PREPARED
        if type(model_field) in _AS_IS_FIELDS:
            kind = _AS_IS
        elif type(model_field) in (models.DateTimeField, models.DateField) and not (
            model_field.auto_now or model_field.auto_now_add
        ):
            kind = _MOMENT if type(model_field) is models.DateTimeField else _DAY
        elif type(model_field) is models.JSONField and model_field.encoder is None:
            kind = _AS_JSON
        columns.append((model_field.column, model_field.attname, model_field, kind))
    return tuple(columns)


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Jsonb):
        # As the field's own encoder writes it.
        return json.loads((value.dumps or json.dumps)(value.obj))
    return value


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _statement(event_hash: str, event_data: str) -> str:
    """Return the filing's statement, with the audit event's hash and data computed by the SQL given."""
    head = _table(AuditChainHead)
    event_added = (
        ("seq", "head.last_seq + 1"),
        ("prev_hash", "head.last_hash"),
        ("request_id", "req.id"),
        ("hash", event_hash),
        ("data", event_data),
    )
    by_request = (("request_id", "req.id"),)
    endpoints = f"{_table(WebhookEndpoint)} AS endpoint, req"
    return (
        f"WITH head AS (SELECT last_seq, last_hash FROM {head} WHERE id = 1 FOR UPDATE), "  # noqa: S608 (names)
        f"req AS ({_insert(Request, ())} WHERE EXISTS (SELECT 1 FROM head) AND (SELECT id FROM "
        f"{_table(DataMapVersion)} WHERE active ORDER BY id LIMIT 1) IS NOT DISTINCT FROM %s::bigint RETURNING id), "
        f"susp AS ({_insert(Suspension, by_request, 'req')}), "
        f"chal AS ({_insert(VerificationChallenge, by_request, 'req')} RETURNING id), "
        f"msg AS ({_insert(Message, by_request, 'req')} RETURNING id), "
        f"hooks AS ({_insert(WebhookDelivery, (('endpoint_id', 'endpoint.id'),), endpoints)} "
        # WebhookEndpoint.subscribes: an endpoint that names no events takes every event.
        "WHERE endpoint.active AND (endpoint.events IN ('[]'::jsonb, 'null'::jsonb) OR endpoint.events ? %s::text) "
        "RETURNING id), "
        f"go AS (INSERT INTO {_table(TaskSignal)} (task, args, created_at) "
        "SELECT %s::text, jsonb_build_array(msg.id), %s::timestamptz FROM msg "
        "UNION ALL SELECT %s::text, jsonb_build_array(hooks.id), %s::timestamptz FROM hooks), "
        f"event AS ({_insert(AuditEvent, event_added, 'head, req, chal')} RETURNING seq, hash) "
        f"UPDATE {head} SET last_seq = event.seq, last_hash = event.hash FROM event WHERE {head}.id = 1 "
        f"RETURNING (SELECT id FROM req), (SELECT id FROM chal), pg_notify('{WAKE_CHANNEL}', '')"
    )


@functools.cache
def _insert(model: type[Model], added: tuple[tuple[str, str], ...], source: str = "") -> str:
    """Return the SQL of an INSERT of one ``model`` row from a JSON parameter, with the ``added`` columns' SQL.

    ``source`` is what the added SQL reads from (a FROM list), if anything. The row's id is drawn from the
    sequence behind the table's key, found once per process.
    """
    table = _table(model)
    key = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, key])
        (sequence,) = cursor.fetchone()
    draw = f"nextval('{sequence}'::regclass)"
    extra = ", ".join(f"'{column}', {text}" for column, text in ((key, draw), *added))
    from_list = f"{source}, " if source else ""
    return (
        f"INSERT INTO {table} SELECT new_row.* FROM {from_list}"  # noqa: S608 (names)
        f"jsonb_populate_record(NULL::{table}, %s::jsonb || jsonb_build_object({extra})) AS new_row"
    )


def request_file_at_once(
    *, request: Request, actor: Actor, now: datetime, version: tuple[int, str] | None, data: dict
) -> bool:
    """Write the filing of ``request`` (validated, not saved) in one statement; False if it wrote nothing.

    ``now`` is the filing's time, ``version`` the data map version it was checked against, ``data`` the audit
    event's; the statement adds the challenge's id to it. On True, ``request`` is saved.
    """
    challenge, code, token = challenges.challenge_new(request, now=now)
    # PRODUCT.md Deadlines: the clock stops while we wait for the identity confirmation we asked for.
    suspension = Suspension(
        request=request, reason=SuspensionReason.IDENTITY, note="email confirmation", started_at=now
    )
    message = emails.verification_message(request, code=code, link_token=token)
    event_id = uuid.uuid4()
    event_type = WebhookEvent.REQUEST_RECEIVED
    delivery = WebhookDelivery(
        event_id=event_id,
        event_type=event_type,
        payload=webhooks.event_payload(event_id=event_id, event_type=event_type, at=now, request=request, data={}),
    )
    action = AuditAction.REQUEST_SUBMITTED
    head = {"seq": "head.last_seq + 1", "prev_hash": "head.last_hash", "request_id": "req.id"}
    event_sql = audit_event_sql(
        at=now,
        actor=actor,
        action=action,
        data={**data, "challenge_id": None},
        spliced={**head, "challenge_id": "chal.id"},
    )
    event = AuditEvent(at=now, actor_type=str(actor.type), actor_id=actor.id, action=str(action))

    statement = _statement(event_sql.hash, event_sql.data)
    params = [
        _record(request),
        version[0] if version is not None else None,
        _record(suspension, leave=("request_id",)),
        _record(challenge, leave=("request_id",)),
        _record(message, leave=("request_id",)),
        _record(delivery, leave=("endpoint_id",)),
        str(event_type),
        emails.message_task(),
        now,
        webhooks.delivery_task(),
        now,
        _record(event, leave=("seq", "prev_hash", "request_id", "hash", "data")),
        *event_sql.hash_params,
        *event_sql.data_params,
    ]
    row = _run(statement, params)
    if row is None:
        return False
    request.pk = row[0]
    request._state.adding = False
    request._state.db = connection.alias
    data["challenge_id"] = row[1]
    return True


# The connections the filing's statement is prepared on, and whether this process gave up preparing.
_prepared_on: "weakref.WeakSet" = weakref.WeakSet()
_unpreparable = False


def _run(statement: str, params: list) -> tuple | None:
    """Run the filing's statement, prepared once per database connection; return its one row, if any.

    Prepared, because parsing and planning a statement this size costs the database more than running it
    (0.5 of 0.9 ms per filing, measured). Prepared and run at the protocol level (libpq's PQprepare and
    PQexecPrepared, the parameters sent apart from the statement as text): no statement text to build, quote
    and parse per filing, and the kind of prepared statement PgBouncer 1.21 and later keeps in transaction
    mode. The execute wrappers installed on the connection see it as ``EXECUTE <name>``, and it is logged
    where Django logs queries. A prepared statement that is gone (DISCARD, a pooler without prepared
    statement support) is prepared again once; if it is gone again, this process runs the statement
    unprepared, through Django's cursor, from then on.
    """
    global _unpreparable
    # The connection itself, not the per-thread proxy each use would look it up through again.
    database = connections[DEFAULT_DB_ALIAS]
    if not _unpreparable:
        name, numbered = _prepared_statement(statement)
        values = [_text(value) for value in params]
        database.ensure_connection()
        for attempt in range(2):
            try:
                return _executed(database, name, numbered, values)
            except ProgrammingError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.InvalidSqlStatementName):
                    raise
                _prepared_on.discard(database.connection)
                if attempt == 1:
                    logger.warning("The filing's prepared statement vanished twice; filings run it unprepared now.")
                    _unpreparable = True
    with database.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()


def _executed(database, name: str, numbered: str, values: list[bytes | None]) -> tuple | None:
    """Run the statement prepared as ``name`` on this connection, preparing it first if need be."""
    raw = database.connection
    if raw not in _prepared_on:
        prepare = functools.partial(_protocol_prepare, database=database, name=name, numbered=numbered)
        _wrapped(database, f"PREPARE {name} AS {numbered}", [], prepare)
        _prepared_on.add(raw)
    execute = functools.partial(_protocol_execute, database=database, name=name)
    result = _wrapped(database, f"EXECUTE {name}", values, execute)
    if result.ntuples == 0:
        return None
    # The request's id and the challenge's (both there whenever the statement wrote).
    return int(result.get_value(0, 0)), int(result.get_value(0, 1))


def _wrapped(database, sql: str, values: list, executor):
    """Call ``executor`` through the connection's execute wrappers, as Django's cursor calls each statement."""
    if not database.execute_wrappers:
        return executor(sql, values, False, {})
    with database.cursor() as cursor:
        context = {"connection": database, "cursor": cursor}
        for wrapper in reversed(database.execute_wrappers):
            executor = functools.partial(wrapper, executor)
        return executor(sql, values, False, context)


def _protocol_prepare(sql, values, many, context, *, database, name: str, numbered: str) -> None:
    raw = database.connection
    with database.wrap_database_errors, raw.lock:
        started = time.monotonic()
        result = raw.pgconn.prepare(name.encode(), numbered.encode())
        _log(database, sql, started)
        if result.status != pq.ExecStatus.COMMAND_OK:
            error = psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
            if not isinstance(error, psycopg.errors.DuplicatePreparedStatement):
                raise error


def _protocol_execute(sql, values, many, context, *, database, name: str):
    raw = database.connection
    with database.wrap_database_errors, raw.lock:
        started = time.monotonic()
        result = raw.pgconn.exec_prepared(name.encode(), values)
        _log(database, sql, started)
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
    return result


def _log(database, sql: str, started: float) -> None:
    """Log ``sql`` where Django logs queries (DEBUG, or a test capturing them)."""
    if database.queries_logged:
        database.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})


def _text(value) -> bytes | None:
    """Return a parameter of the filing's statement in PostgreSQL's text form (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, str):
        # libpq reads a text parameter up to its first NUL. None reaches here (every text is JSON, which writes
        # NUL as \u0000, or a name of our own); one that did would be cut short, so it is refused instead.
        if "\0" in value:
            raise ValueError("A parameter of the filing's statement holds a NUL character.")
        return value.encode()
    if isinstance(value, datetime):
        return value.isoformat().encode()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    raise TypeError(f"The filing's statement takes no {type(value).__name__} parameter.")


@functools.cache
def _prepared_statement(statement: str) -> tuple[str, str]:
    """Return the name to prepare ``statement`` under, and the statement with $1, $2, ... for its %s."""
    pieces = statement.split("%s")
    numbered = pieces[0] + "".join(f"${index}{piece}" for index, piece in enumerate(pieces[1:], start=1))
    return "dsr_filing_" + hashlib.sha256(statement.encode()).hexdigest()[:16], numbered

"""The append-only, hash-chained audit trail.

Every event's hash covers its own content and the previous event's hash, and
the chain head (one locked row) records the last sequence number and hash, so
editing, deleting or reordering any event, including the last one, is found by
`audit_chain_verify`. Events carry ids, kinds and counts: never personal data.
Writing an event only writes an event: services emit their webhooks and queue
their emails themselves. See docs/decisions/0004-audit-chain.md.
"""

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from dsr.models import ActorType, AuditAction, AuditChainHead, AuditEvent, Request
from dsr.transactions import request_locked, transaction_noted

GENESIS_HASH = "0" * 64
# Once, not per event: the TextChoices' values are a list built anew at every look.
_ACTIONS = frozenset(str(value) for value in AuditAction.values)


@dataclass(frozen=True)
class Actor:
    """Who did something: a kind and an id (staff user pk, integration name), never a name or email."""

    type: str
    id: str = ""

    @classmethod
    def subject(cls) -> "Actor":
        return cls(ActorType.SUBJECT)

    @classmethod
    def system(cls) -> "Actor":
        return cls(ActorType.SYSTEM)

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(ActorType.STAFF, str(user.pk))

    @classmethod
    def integration(cls, name: str) -> "Actor":
        return cls(ActorType.INTEGRATION, name)


def _event_hash(
    *,
    seq: int,
    at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    request_id: int | None,
    data: dict,
    prev_hash: str,
) -> str:
    payload = _event_payload(
        seq=seq,
        at=at,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        request_id=request_id,
        data=data,
        prev_hash=prev_hash,
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def _event_payload(
    *,
    seq: int | str,
    at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    request_id: int | str | None,
    data: dict,
    prev_hash: str,
) -> str:
    """Return the text an event's hash covers: its content and the previous hash, as canonical JSON."""
    return json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor_type": actor_type,
            "actor_id": actor_id,
            "action": action,
            "request_id": request_id,
            "data": data,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


# Stand-ins for what only the database knows when an event is written in the same statement as its request.
_SPLICED = re.compile(r'"\\u0000([a-z_]+)\\u0000"')


@dataclass(frozen=True)
class EventSql:
    """An event's hash and data as SQL expressions, for a statement that also makes the rows the event names."""

    hash: str
    hash_params: list[str]
    data: str
    data_params: list[str]


def audit_event_sql(*, at: datetime, actor: Actor, action: str, data: dict, spliced: dict[str, str]) -> EventSql:
    """Return the SQL that computes an event's hash and data in the database (PostgreSQL), with its parameters.

    For an event written in the same statement as the rows it names. ``spliced`` gives the SQL expressions of
    what the database alone knows, by name: ``seq``, ``prev_hash`` and ``request_id``, and any key of ``data``
    whose value is an integer the statement makes (``challenge_id``; its value in ``data`` is not used). The
    text hashed is exactly ``_event_payload``'s, so ``audit_chain_verify`` checks these events like every other.
    """
    if str(action) not in _ACTIONS:
        raise ValueError(f"{action!r} is not an audit action; add it to dsr.models.AuditAction")
    data = json.loads(json.dumps(data, sort_keys=True, default=str))
    in_data = [key for key in data if key in spliced]
    stand_in = {name: f"\0{name}\0" for name in spliced}
    payload = _event_payload(
        seq=stand_in["seq"],
        at=at,
        actor_type=str(actor.type),
        actor_id=actor.id,
        action=str(action),
        request_id=stand_in["request_id"],
        data={**data, **{key: stand_in[key] for key in in_data}},
        prev_hash=stand_in["prev_hash"],
    )
    placed = ["seq", "prev_hash", "request_id", *in_data]
    if sorted(_SPLICED.findall(payload)) != sorted(placed):
        # A value of the event's own that reads as a stand-in (a NUL-wrapped name) would be spliced too.
        raise ValueError("An audit event's value looks like a stand-in for a spliced value; it is not recorded.")
    # split() alternates literal text and a stand-in's name: text, name, text, ..., text.
    parts: list[str] = []
    params: list[str] = []
    for index, piece in enumerate(_SPLICED.split(payload)):
        if index % 2 == 0:
            parts.append("%s::text")
            params.append(piece)
        elif piece == "prev_hash":
            parts.append(f"'\"' || {spliced[piece]} || '\"'")
        else:
            parts.append(f"({spliced[piece]})::text")
    data_sql = "%s::jsonb"
    for key in in_data:
        data_sql = f"jsonb_set({data_sql}, '{{{key}}}', to_jsonb({spliced[key]}))"
    return EventSql(
        hash=f"encode(sha256(convert_to({' || '.join(parts)}, 'UTF8')), 'hex')",
        hash_params=params,
        data=data_sql,
        data_params=[json.dumps(data)],
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    request: Request | None = None,
    data: dict | None = None,
    request_created: bool = False,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction; ``action`` is one of AuditAction.

    ``request_created``: the caller inserted ``request`` in this same transaction (filing it), so no other
    transaction can see it, let alone hold it, and the request need not be taken before the chain.
    """
    if str(action) not in _ACTIONS:
        raise ValueError(f"{action!r} is not an audit action; add it to dsr.models.AuditAction")
    data = json.loads(json.dumps(data or {}, sort_keys=True, default=str))
    # No savepoint: the event belongs to the caller's transaction and fails with it.
    with transaction.atomic(savepoint=False):
        if (
            request is not None
            and not request_created
            and connection.vendor == "postgresql"
            and not transaction_noted(request_locked(request.pk))
        ):
            # The request before the chain, in every transaction, as the worker's jobs take them. The event's
            # foreign-key check takes this lock anyway, at the insert: taken there, after the chain, a job holding
            # the request and waiting for the chain would wait on us while we wait on it.
            table = connection.ops.quote_name(Request._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [request.pk])  # noqa: S608
        last_seq, last_hash = _chain_head_lock()
        at = timezone.now()
        seq = last_seq + 1
        event_hash = _event_hash(
            seq=seq,
            at=at,
            actor_type=str(actor.type),
            actor_id=actor.id,
            action=str(action),
            request_id=request.pk if request is not None else None,
            data=data,
            prev_hash=last_hash,
        )
        event = AuditEvent(
            seq=seq,
            at=at,
            actor_type=str(actor.type),
            actor_id=actor.id,
            action=str(action),
            request=request,
            data=data,
            prev_hash=last_hash,
            hash=event_hash,
        )
        _event_insert_and_head_move(event)
    return event


def _event_insert_and_head_move(event: AuditEvent) -> None:
    """Insert ``event`` and move the chain head (locked by the caller) to it; one statement on PostgreSQL.

    The event's columns and values are the model's, prepared as Django's own insert prepares them.
    """
    head_move = f"UPDATE {_head_table()} SET last_seq = %s, last_hash = %s WHERE id = 1"  # noqa: S608
    if connection.vendor != "postgresql":
        event.save(force_insert=True)
        with connection.cursor() as cursor:
            cursor.execute(head_move, [event.seq, event.hash])
        return
    meta = AuditEvent._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = [field.get_db_prep_save(getattr(event, field.attname), connection=connection) for field in fields]
    pk = connection.ops.quote_name(meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH event AS (INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {pk}) "
            f"{head_move} RETURNING (SELECT {pk} FROM event)",
            [*values, event.seq, event.hash],
        )
        row = cursor.fetchone()
    if row is None:
        # The head row was there when the caller locked it; without it the event would be inserted unchained.
        raise RuntimeError("The audit chain head is missing; the event was not recorded.")
    event.pk = row[0]
    event._state.adding = False
    event._state.db = connection.alias


def _head_table() -> str:
    return connection.ops.quote_name(AuditChainHead._meta.db_table)


def _chain_head_lock() -> tuple[int, str]:
    """Return the chain head's last sequence number and hash, locked until the caller's transaction ends.

    The lock serialises appends so that sequence numbers and hashes stay in one line. Plain SQL for the
    one row every event reads and writes: building the ORM's query costs more than the round trip.
    """
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_seq, last_hash FROM {_head_table()} WHERE id = 1{lock}")  # noqa: S608
        row = cursor.fetchone()
    if row is None:  # the very first event
        AuditChainHead.objects.get_or_create(id=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH})
        return _chain_head_lock()
    return row[0], row[1]


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the chain does not hold."""

    seq: int
    message: str


def audit_chain_verify(*, batch_size: int = 2000) -> tuple[int, ChainProblem | None]:
    """Return how many events were checked and the first problem found, or None if the chain is intact."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in _events_in_order(batch_size):
        if event.seq != expected_seq:
            return checked, ChainProblem(expected_seq, f"event #{expected_seq} is missing (next found is #{event.seq})")
        if event.prev_hash != expected_prev:
            return checked, ChainProblem(event.seq, f"event #{event.seq} does not link to event #{event.seq - 1}")
        recomputed = _event_hash(
            seq=event.seq,
            at=event.at,
            actor_type=event.actor_type,
            actor_id=event.actor_id,
            action=event.action,
            request_id=event.request_id,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return checked, ChainProblem(event.seq, f"event #{event.seq} was altered after it was written")
        expected_prev = event.hash
        expected_seq += 1
        checked += 1
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq = head.last_seq if head else 0
    last_hash = head.last_hash if head else GENESIS_HASH
    if last_seq != checked or last_hash != expected_prev:
        if last_seq > checked:
            return checked, ChainProblem(
                checked + 1, f"event #{checked + 1} is missing (the chain ends at #{last_seq})"
            )
        return checked, ChainProblem(last_seq, "the chain head does not match the last event")
    return checked, None


def _events_in_order(batch_size: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq

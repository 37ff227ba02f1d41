"""What erasure writes into an anonymised column, and whether a method fits the column at all.

A field's method in the map is "clear" (or null), "redact", "hash", ``{set: VALUE}`` or
``{truncate: year | month}``. ``method_problem`` is the one place that says which
methods a live column takes; ``anonymised_value`` computes what is written, sized
to the column, so a value it returns never breaks the column it was checked against.
"""

import datetime as dt
import hashlib
import hmac
import json
from typing import Any, Protocol

import sqlalchemy as sa
from django.conf import settings
from sqlalchemy.dialects import postgresql

# Shorter hashes of 256-bit digests start to collide across a large table; 16 base-36 characters carry 82 bits.
HASH_MIN_LENGTH = 16
_HASH_PREFIX = "anon-"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE36_WIDTH = 50  # 36**50 > 2**256: every digest fits
TRUNCATE_UNITS = ("year", "month")
_ADVICE = "use clear, redact, hash, {set: VALUE} or {truncate: year | month}"


class ColumnShape(Protocol):
    """What the rules read of a column; dsr.sources.sql.schema.LiveColumn is one (its checks use these rules)."""

    name: str
    type: str
    nullable: bool
    length: int | None
    is_text: bool
    is_date: bool
    is_bool: bool
    is_number: bool
    unique: bool


def method_split(method: Any) -> tuple[str, Any]:
    """Return a field's method as (name, argument): "clear" for null, ("set", False) for {set: false}."""
    if method is None or method == "null":
        return "clear", None
    if isinstance(method, str):
        return method, None
    if isinstance(method, dict) and len(method) == 1:
        ((name, argument),) = method.items()
        return str(name), argument
    return repr(method), None


def _column_named(column: ColumnShape) -> str:
    return f'"{column.name}" ({column.type})' if column.type else f'"{column.name}"'


def _value_problem(value: Any, column: ColumnShape) -> str | None:
    """Return why ``value`` cannot be stored in ``column``, or None when it can."""
    named = _column_named(column)
    if value is None:
        return None if column.nullable else f"{named} is NOT NULL, so it cannot be set to null"
    if not column.type:
        return None  # SQLite: a column declared without a type takes any value
    if isinstance(value, bool):
        return None if column.is_bool else f"{named} is not boolean, so it cannot be set to {json.dumps(value)}"
    if isinstance(value, int | float):
        return None if column.is_number else f"{named} is not a number, so it cannot be set to {value}"
    if isinstance(value, str):
        if column.is_date:
            try:
                dt.datetime.fromisoformat(value)
            except ValueError:
                return f'{named} is a date, and "{value}" is not one (write it as 2000-01-01)'
            return None
        if not column.is_text:
            return f'{named} is not text, so it cannot be set to "{value}"'
        if column.length is not None and len(value) > column.length:
            return f'{named} takes {column.length} characters, and "{value}" has {len(value)}'
        return None
    return f"{named} cannot be set to {value!r}; set a boolean, a number, a text or null"


def method_problem(method: Any, column: ColumnShape, *, redaction: str) -> str | None:
    """Return why ``method`` cannot anonymise the live ``column``, or None when it can."""
    name, argument = method_split(method)
    named = _column_named(column)
    typed = bool(column.type)
    # One value written into every erased row breaks a UNIQUE column as soon as two people are erased.
    same_for_all = f"{named} is UNIQUE, and {{method}} would write the same value into every erased row; use hash"
    if name == "clear":
        if not column.nullable:
            return f"{named} is NOT NULL, so it cannot be cleared; use redact, hash or {{set: VALUE}}"
    elif name == "redact":
        if typed and not column.is_text:
            return f"{named} is not text, so it cannot be redacted; use clear or {{set: VALUE}}"
        if column.length is not None and column.length < len(redaction):
            return (
                f'{named} takes {column.length} characters, fewer than the redaction text "{redaction}" '
                f"({len(redaction)}); use clear or {{set: VALUE}}"
            )
        if column.unique:
            return same_for_all.format(method="redact")
    elif name == "hash":
        if typed and not column.is_text:
            return f"{named} is not text, and a hash is; use clear or {{set: VALUE}}"
        if column.length is not None and column.length < HASH_MIN_LENGTH:
            instead = "clear, redact or {set: VALUE}" if column.length >= len(redaction) else "clear or {set: VALUE}"
            return (
                f"{named} takes {column.length} characters, and a hash needs {HASH_MIN_LENGTH} to stay unique; "
                f"use {instead}"
            )
    elif name == "set":
        if problem := _value_problem(argument, column):
            return problem
        if column.unique and argument is not None:
            return same_for_all.format(method=f"{{set: {json.dumps(argument)}}}")
    elif name == "truncate":
        if argument not in TRUNCATE_UNITS:
            return f"truncate to year or month (got {argument!r})"
        if typed and not column.is_date:
            return f"{named} is not a date, so it cannot be truncated; use clear or {{set: VALUE}}"
        if column.unique:
            return same_for_all.format(method=f"{{truncate: {argument}}}")
    else:
        return f"unknown method {method!r}; {_ADVICE}"
    return None


def _hash_key() -> bytes:
    secret = settings.DSR_ANONYMISE_KEY or settings.SECRET_KEY
    return hmac.new(secret.encode(), b"dsr.sources.anonymise", hashlib.sha256).digest()


def _hash_place(where: str) -> bytes:
    """Return the start of every hashed message of ``where``: the row's key (its repr) follows it."""
    return f"{where}\x1f".encode()


def _hash_message(where: str, key: Any) -> bytes:
    return _hash_place(where) + repr(key).encode()


def _hash_fitted(where: str, key: Any, length: int | None) -> str:
    """Return a keyed hash of where the value stood, in as few characters as ``length`` allows."""
    digest = hmac.new(_hash_key(), _hash_message(where, key), hashlib.sha256).digest()
    hexed = digest.hex()
    # The same text value_anonymised writes where it fits, so erasing again after the switch changes nothing.
    if length is None or length >= len(_HASH_PREFIX) + len(hexed):
        return _HASH_PREFIX + hexed
    if length >= len(hexed):
        return hexed
    if length < HASH_MIN_LENGTH:
        raise ValueError(f"a hash needs {HASH_MIN_LENGTH} characters; the column takes {length}")
    number, digits = int.from_bytes(digest, "big"), []
    for _ in range(_BASE36_WIDTH):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    # The low digits come first: every one of them is uniformly spread, whatever length is kept.
    return "".join(digits[:length])


# HMAC (RFC 2104) over SHA-256, whose blocks are 64 bytes: the key padded to a block, XORed with these.
_HMAC_BLOCK, _HMAC_INNER, _HMAC_OUTER = 64, 0x36, 0x5C


def _hmac_pads() -> tuple[bytes, bytes]:
    """Return the inner and outer padded keys of the anonymising HMAC: as secret as the key itself."""
    block = _hash_key().ljust(_HMAC_BLOCK, b"\0")
    return bytes(b ^ _HMAC_INNER for b in block), bytes(b ^ _HMAC_OUTER for b in block)


def hash_sql_fits(key_column: sa.Column) -> bool:
    """Return whether PostgreSQL can compute the keyed hash of rows keyed by ``key_column`` itself.

    Only whole-number keys: their text in PostgreSQL is exactly Python's repr of them, which the message hashes.
    """
    return isinstance(key_column.type, sa.Integer)


def hash_sql(where: str, key_column: sa.Column, length: int | None, *, name: str) -> sa.ColumnElement:
    """Return a PostgreSQL expression of ``_hash_fitted(where, key, length)`` for each row's key in ``key_column``.

    HMAC-SHA256 is built from core sha256() (PostgreSQL 11 and later, no pgcrypto): sha256(outer || sha256(inner
    || message)), the padded keys sent as bound parameters (``name`` keeps each column's apart), never as SQL
    text. Short columns get the same base-36 digits as in Python, from the digest read as a 256-bit number.
    """
    if length is not None and length < HASH_MIN_LENGTH:
        raise ValueError(f"a hash needs {HASH_MIN_LENGTH} characters; the column takes {length}")
    inner, outer = _hmac_pads()
    message = sa.func.convert_to(sa.cast(key_column, sa.Text), "UTF8")
    message = sa.literal(_hash_place(where), sa.LargeBinary).op("||", return_type=sa.LargeBinary)(message)
    digest = sa.func.sha256(
        sa.bindparam(f"{name}_outer", outer, sa.LargeBinary).op("||", return_type=sa.LargeBinary)(
            sa.func.sha256(
                sa.bindparam(f"{name}_inner", inner, sa.LargeBinary).op("||", return_type=sa.LargeBinary)(message),
                type_=sa.LargeBinary,
            )
        ),
        type_=sa.LargeBinary,
    )
    hexed = sa.func.encode(digest, "hex", type_=sa.Text)
    if length is None or length >= len(_HASH_PREFIX) + 64:
        return sa.literal(_HASH_PREFIX, sa.Text).op("||", return_type=sa.Text)(hexed)
    if length >= 64:
        return hexed
    return _base36_sql(digest, key_column.table, length, name=name)


def _base36_sql(digest: sa.ColumnElement, table: sa.Table, length: int, *, name: str) -> sa.ColumnElement:
    """Return the first ``length`` base-36 digits of ``digest`` read as a number, lowest first (as ``_hash_fitted``)."""
    # Exact numeric arithmetic: the number is the sum of each byte times 256**k; digit j is (number div 36**j) mod 36.
    weights = [256 ** (31 - i) for i in range(32)]
    powers = [36**j for j in range(min(length, _BASE36_WIDTH))]
    byte = (
        sa.func.unnest(sa.bindparam(f"{name}_weights", weights, postgresql.ARRAY(sa.Numeric)))
        .table_valued("weight", with_ordinality="place", name=f"{name}_byte")
        .render_derived()
    )
    digit = (
        sa.func.unnest(sa.bindparam(f"{name}_powers", powers, postgresql.ARRAY(sa.Numeric)))
        .table_valued("power", with_ordinality="place", name=f"{name}_digit")
        .render_derived()
    )
    # The digest is computed once per row, in a derived table of its own that the sum reads byte by byte.
    hashed = sa.select(digest.label("digest")).correlate(table).subquery(f"{name}_hashed")
    number = (
        sa.select(
            sa.func.sum(
                sa.cast(sa.func.get_byte(hashed.c.digest, sa.cast(byte.c.place, sa.Integer) - 1), sa.Numeric)
                * byte.c.weight
            ).label("number")
        )
        .select_from(hashed.join(byte, sa.true()))
        .correlate(table)
        .subquery(f"{name}_number")
    )
    position = sa.cast(sa.func.mod(sa.func.div(number.c.number, digit.c.power), 36), sa.Integer) + 1
    characters = sa.func.substr(sa.literal(_BASE36, sa.Text), position, 1)
    separator = postgresql.aggregate_order_by(sa.literal("", sa.Text), digit.c.place)
    return (
        sa.select(sa.func.string_agg(characters, separator, type_=sa.Text))
        .select_from(number.join(digit, sa.true()))
        .correlate(table)
        .scalar_subquery()
    )


def _truncated(current: Any, unit: str) -> Any:
    """Return ``current`` (a date, datetime or ISO text) moved back to the start of its year or month."""
    if current is None:
        return None
    if isinstance(current, str):
        parsed = dt.datetime.fromisoformat(current)
        value = _truncated(parsed if len(current) > 10 else parsed.date(), unit)
        return value.isoformat(sep=" " if " " in current else "T") if len(current) > 10 else value.isoformat()
    month = 1 if unit == "year" else current.month
    if isinstance(current, dt.datetime):
        return current.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    if isinstance(current, dt.date):
        return current.replace(month=month, day=1)
    raise ValueError(f"cannot truncate a {type(current).__name__}; only dates")


def anonymised_value(
    method: Any, *, column: ColumnShape, where: str, key: Any, current: Any = None, redaction: str
) -> Any:
    """Return the value that replaces a field on erasure, fitted to ``column``.

    "hash" is a keyed HMAC-SHA256 of where the value stood (``where``: source, table
    and column; ``key``: the row's key), not of the value: unique (for UNIQUE
    columns), stable (a second run writes the same), and not derivable from the
    erased data. ``current`` is the value being replaced, which only truncate reads.
    Raises ValueError for a method the column cannot take (``method_problem`` says why).
    """
    name, argument = method_split(method)
    if name == "clear":
        return None
    if name == "redact":
        return redaction[: column.length] if column.length else redaction
    if name == "hash":
        return _hash_fitted(where, key, column.length)
    if name == "set":
        return argument
    if name == "truncate" and argument in TRUNCATE_UNITS:
        return _truncated(current, argument)
    raise ValueError(f"unknown method {method!r}; {_ADVICE}")


def method_describe(method: Any) -> dict[str, str]:
    """Return a short label of ``method`` for staff pages, in Danish and English."""
    name, argument = method_split(method)
    if name == "set":
        shown = "NULL" if argument is None else json.dumps(argument, ensure_ascii=False)
        return {"da": f"sæt til {shown}", "en": f"set to {shown}"}
    labels = {
        "clear": {"da": "tøm", "en": "clear"},
        "redact": {"da": "maskér", "en": "redact"},
        "hash": {"da": "nøglehash", "en": "keyed hash"},
        "truncate:year": {"da": "afkort til år", "en": "truncate to the year"},
        "truncate:month": {"da": "afkort til måned", "en": "truncate to the month"},
    }
    found = labels.get(f"{name}:{argument}" if name == "truncate" else name)
    return dict(found) if found else {"da": str(method), "en": str(method)}

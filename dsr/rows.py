"""The worker's hottest reads, written once as SQL and made into model instances as the ORM would.

The ORM builds its statement anew each time a queryset runs: for a read of one
row joined to another and locked, about 1.5 ms of Python before the database is
asked, against 0.3 ms for the same statement written out (bench/README.md,
"Speed"). A job, a plan's step and a message each make such a read, so the few
that run for every one of them are written with these helpers instead; every
other read stays a queryset.

A row's values go through the same converters the ORM applies (JSON decoded,
SQLite's dates and booleans), so an instance made here equals the one a
queryset returns, field for field (tests/test_rows.py).
"""

import functools
from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


@functools.cache
def _layout(model: type[Model], vendor: str) -> tuple[list[str], list[tuple[int, list]], int]:
    """Return the model's field names, the converters of the fields that have any (by position), and its pk's."""
    fields = model._meta.concrete_fields
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((index, [(converter, column) for converter in found]))
    return [field.attname for field in fields], converters, fields.index(model._meta.pk)


def columns(model: type[Model], alias: str) -> str:
    """Return the select list of every concrete column of ``model`` in the table aliased ``alias``."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """Return how many values ``columns(model, ...)`` selects."""
    return len(model._meta.concrete_fields)


def instance(model: type[Model], row: Sequence, start: int = 0) -> Model | None:
    """Make the instance whose ``columns`` begin at ``row[start]``; None where an outer join found no row."""
    names, converters, pk_index = _layout(model, connection.vendor)
    values = list(row[start : start + len(names)])
    if values[pk_index] is None:
        return None
    for index, found in converters:
        for converter, column in found:
            values[index] = converter(values[index], column, connection)
    return model.from_db(connection.alias, names, values)


def for_update(*aliases: str) -> str:
    """Return the clause that locks the rows of the tables aliased ``aliases``, or "" where there is none (SQLite).

    SQLite has no row locks: a write transaction there holds the whole database, as the ORM's
    ``select_for_update`` also assumes.
    """
    if not connection.features.has_select_for_update:
        return ""
    if aliases and connection.features.has_select_for_update_of:
        return " FOR UPDATE OF " + ", ".join(aliases)
    return " FOR UPDATE"


def fetch_one(statement: str, params: Sequence) -> tuple | None:
    """Run ``statement`` and return its first row, or None."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()

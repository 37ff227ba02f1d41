"""A batch's keys sent to PostgreSQL as one array: ``key = ANY(CAST('{1,2,3}' AS integer[]))``.

One parameter instead of one per key is far less to compile and send for a batch of thousands. The array
literal is written here in one pass: the driver's list adapter inspects every element in Python, which cost
a retention sweep seconds at 100,000 people (bench/README.md, "Retention sweep").
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def array_fits(column: sa.Column, keys: list) -> bool:
    """Return whether ``keys`` can be sent as one PostgreSQL array of ``column``'s type: whole numbers or texts."""
    # The types are gathered by C code: a sweep asks this of hundreds of thousands of keys.
    if isinstance(column.type, sa.Integer):
        return set(map(type, keys)) <= {int}
    if isinstance(column.type, sa.String):
        return set(map(type, keys)) <= {str}
    return False


def array_text(keys: list) -> str:
    """Return ``keys`` (all whole numbers or all texts) as a PostgreSQL array literal.

    A text is quoted, its backslashes and double quotes escaped, so any text reads back as itself.
    """
    if keys and isinstance(keys[0], str):
        quoted = ('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in keys)
        return "{" + ",".join(quoted) + "}"
    return "{" + ",".join(map(str, keys)) + "}"


def key_array_condition(column: sa.Column, keys: list) -> sa.ColumnElement[bool]:
    """Return ``column = ANY(keys)``, the keys (which `array_fits` the column) as one array literal."""
    array = sa.cast(sa.literal(array_text(keys), sa.Text()), postgresql.ARRAY(column.type))
    return column == sa.any_(array)

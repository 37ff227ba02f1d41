"""The sql connector's read of the person's rows for an access or portability export, table by table.

Each table's rows are fetched ``batch_size`` (default 1000) at a time from a streamed query in primary-key
order, with the labels of the context tables their foreign keys point at, and handed over in batches of up to
500. Values JSON cannot carry as they are (dates, decimals, bytes) are converted in the columns whose type
holds them, decided once per table. ``records`` gives the same rows one Record each.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dsr.sources.base import Identifiers, Record, value_jsonable
from dsr.sources.batches import RecordBatch
from dsr.sources.sql.connection import rows_never_read

_PLAIN_PYTHON_TYPES = (str, int, float, bool)
# The made-up person of reads_warm: ".invalid" is reserved (RFC 2606); no one has an address there.
WARM_EMAIL = "warm-up@dsr.invalid"
_WARM_VALUES = {"email": WARM_EMAIL, "phone": "+4500000000"}
# Rows fetched together are handed over up to this many at a time: converting and staging a batch's columns
# stays within the processor's cache (500 rows took about a tenth less time than 1,000).
_BATCH_ROWS = 500
_JSONABLE_AS = {
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
    Decimal: str,
    uuid.UUID: str,
}


def _plain_column(column: sa.Column) -> bool:
    """Return whether the column's values reach JSON unchanged (text, numbers, booleans)."""
    try:
        return column.type.python_type in _PLAIN_PYTHON_TYPES
    except NotImplementedError:
        return False


class SqlReading:
    """Reading the person's rows of every mapped table; mixed into SqlConnector."""

    def _labels(self, conn: Connection, name: str, exported: set[str]) -> tuple[Any, list]:
        """Return the table joined to the context tables its foreign keys point at, and their label columns.

        An exported ``city_id: 12`` is followed by ``city_id (label): Aarhus``: names beside bare ids.
        """
        table = self._table(conn, name)
        joined, labels = table, []
        live = self._live(conn)
        contexts = {key: config["context"] for key, config in self.tables.items() if config["context"]}
        for n, fk in enumerate(live.tables[name].foreign_keys if name in live.tables else []):
            if fk.referred_table not in contexts or not set(fk.columns) <= exported:
                continue
            other = self._table(conn, fk.referred_table).alias(f"dsr_label_{n}")
            on = [table.c[own] == other.c[theirs] for own, theirs in zip(fk.columns, fk.referred_columns, strict=True)]
            joined = joined.outerjoin(other, sa.and_(*on))
            label = self._column(other, contexts[fk.referred_table]["label"])
            labels.append(label.label(f"{', '.join(fk.columns)} (label)"))
        return joined, labels

    def record_batches(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[RecordBatch]:
        """Yield the person's rows of each table in batches (dsr.sources.batches)."""
        provided = set(self.source.get("provided_by_subject", []))
        batch = int(self.config.get("batch_size", 1000))
        with self._connect("reading records", read_only=True) as conn:
            for name in self._order():
                config = self.tables[name]
                table = self._table(conn, name)
                excluded = set(config["exclude"])
                columns = [column for column in table.c if column.name not in excluded]
                joined, labels = self._labels(conn, name, {column.name for column in columns})
                names = tuple([column.name for column in columns] + [label.name for label in labels])
                categories = config["categories"]
                table_categories = {column: categories[column] for column in names if column in categories}
                # Only columns whose values JSON cannot carry as they are (dates, decimals, bytes) are converted.
                converted = [i for i, column in enumerate([*columns, *labels]) if not _plain_column(column)]
                is_provided = name in provided
                query = sa.select(*columns, *labels).select_from(joined).where(self._match(conn, name, identifiers))
                query = query.order_by(*self._primary_key(table))
                result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
                for fetched in result.partitions():
                    for at in range(0, len(fetched), _BATCH_ROWS):
                        rows = fetched[at : at + _BATCH_ROWS]
                        yield RecordBatch(
                            source=self.key,
                            table=name,
                            columns=names,
                            rows=_rows_converted(rows, converted) if converted else list(map(tuple, rows)),
                            categories=table_categories,
                            provided=is_provided,
                        )

    def reads_warm(self) -> None:
        """Run the reads of a request's first jobs once with no row read, so their statements are compiled.

        SQLAlchemy compiles a statement on its first run and keeps it in the engine's cache; done in a worker
        before its pool forks, no pool process compiles them in its first request (dsr.engine.connectors).
        The person is made up (an address under the reserved ``.invalid`` domain, every other kind the source
        maps with a placeholder) and, on top of that, the database is sent each statement under a condition
        that is false (rows_never_read): it plans the statement and reads nothing. Both the lookup with the
        address alone, as a request starts, and the read with every kind found, as an access or portability
        export reads.
        """
        kinds = {kind for config in self.tables.values() for kind in config["identifiers"]}
        alone: Identifiers = {"email": {WARM_EMAIL}}
        every: Identifiers = {kind: {_WARM_VALUES.get(kind, "0")} for kind in kinds} | alone
        with rows_never_read(self._url(), self._reflected.values(), connect_timeout=self.config.get("connect_timeout")):
            for identifiers in (alone, every):
                self.discover_identifiers(identifiers)
                for _batch in self.record_batches(identifiers):
                    pass  # none: the person is made up, and no row is read

    def records(self, identifiers: Identifiers, *, reference: str = "") -> Iterator[Record]:
        for batch in self.record_batches(identifiers, reference=reference):
            yield from batch.records()

    def batch_consents(self, batch: RecordBatch) -> set[str]:
        """Return the consent keys the batch's rows show as given (``consent_given`` of each)."""
        if batch.source != self.key or not self.tables_config.get(batch.table, {}).get("consent"):
            return set()
        return {given for record in batch.records() if (given := self.consent_given(record))}


def _rows_converted(rows, converted: list[int]) -> list[tuple]:
    """Return the rows with the values of the ``converted`` columns as JSON carries them, a column at a time."""
    values = list(zip(*rows, strict=True))
    for i in converted:
        kinds = set(map(type, values[i]))
        # A column of dates, times or decimals alone (no NULL) is turned as value_jsonable turns each of them.
        method = _JSONABLE_AS.get(kinds.pop()) if len(kinds) == 1 else None
        values[i] = map(method or value_jsonable, values[i])
    return list(zip(*values, strict=True))

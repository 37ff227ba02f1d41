"""Rows of one table read together: what a connector that reads in batches yields instead of one Record per row.

A connector that reads this way (the `sql` connector) offers ``record_batches``, with the arguments of
``Connector.records``, yielding RecordBatch, and ``batch_consents``, the consent keys a batch shows as given
(what ``Connector.consent_given`` says of each of its rows). Staging (dsr.exports.staging) writes a batch's
rows as they are, without a dict and a Record per row; its records are the same as ``records`` would give.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dsr.sources.base import Record


@dataclass(slots=True)
class RecordBatch:
    """Rows of one table with the same columns, categories and provided flag; values as JSON carries them."""

    source: str
    table: str
    columns: Sequence[str]
    # Each row's values in ``columns``' order.
    rows: Sequence[Sequence[Any]]
    categories: dict[str, str]
    # GDPR Art. 20(1): data the person provided, including observed activity.
    provided: bool

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> Iterator[Record]:
        """Yield the rows as records, one each."""
        for row in self.rows:
            yield Record(
                source=self.source,
                table=self.table,
                row=dict(zip(self.columns, row, strict=True)),
                categories=self.categories,
                provided=self.provided,
            )

"""A worker's start on the hard schemas: the warm reads send no read that could return a row, and the first
access afterwards exports exactly the rows the test's own SQL selects (SqlReading.reads_warm)."""

import sqlalchemy as sa

from dsr.sources.sql.connection import engine_get
from tests.sources.sql.hard import clinic, events, rental, test_clinic, test_events, test_rental
from tests.sources.sql.hard.support import METTE, exported


def _warm_then_access(url, connector_of, keys, mettes_rows) -> None:
    """Warm the connector, check that no read could return a row, then check the first access against SQL."""
    connector = connector_of(url)
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = engine_get(connector.config["url"])
    sa.event.listen(engine, "after_cursor_execute", record)
    try:
        connector.warm()
        mapped = {name.lower() for name in connector.tables}
        reads = [
            statement
            for statement in sent
            if statement.lstrip().upper().startswith("SELECT")
            and any(f"from {name}" in statement.lower().replace('"', "") for name in mapped)
        ]
        assert reads
        assert all(statement.endswith(") AS dsr_unread WHERE 1 = 0") for statement in reads)

        records = list(connector.records(METTE))
    finally:
        sa.event.remove(engine, "after_cursor_execute", record)

    mine = mettes_rows(url)
    assert all(mine.values())
    for table, rows in mine.items():
        assert exported(records, table, keys[table]) == rows, table


def test_the_rental_chain_warm_reads_nothing_and_the_first_access_after_it_exports_exactly_mettes_rows(rental_url):
    _warm_then_access(rental_url, test_rental.rental_connector, rental.KEYS, test_rental.mettes_rows)


def test_the_clinics_warm_reads_nothing_and_the_first_access_after_it_exports_exactly_mettes_rows(clinic_url):
    _warm_then_access(clinic_url, test_clinic.clinic_connector, clinic.KEYS, test_clinic.mettes_rows)


def test_the_events_warm_reads_nothing_and_the_first_access_after_it_exports_exactly_mettes_rows(events_url):
    _warm_then_access(events_url, test_events.events_connector, events.KEYS, test_events.mettes_rows)

"""A worker's start compiles a sql source's first reads and reads no row (SqlReading.reads_warm)."""

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.default import CACHE_HIT

from dsr.sources.sql.connection import engine_get
from dsr.sources.sql.reading import WARM_EMAIL
from tests.sources.sql.test_chinook import EMAIL, chinook  # noqa: F401  (the fixture, reused)


@pytest.fixture
def sent(chinook):
    """Record every statement the Chinook engine sends while the test runs, as sent, with its cache hit."""
    _, url, _ = chinook
    engine = engine_get(url)
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, getattr(context, "cache_hit", None) if context.compiled is not None else None))

    sa.event.listen(engine, "after_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "after_cursor_execute", record)


def _reads(statements: list[tuple[str, object]], names: dict) -> list[str]:
    """Return the statements that read one of the person's tables (the schema's own reads left out)."""
    tables = {names["customer"].lower(), names["invoice"].lower(), names["line"].lower()}
    return [
        statement
        for statement, _ in statements
        if statement.lstrip().upper().startswith("SELECT")
        and any(f"from {name}" in statement.lower().replace('"', "") for name in tables)
    ]


def test_the_warm_reads_send_every_read_under_a_false_condition(chinook, sent):
    connector, _, names = chinook
    connector.warm()  # reflects first; what follows is what a warm sends once the schema is known
    sent.clear()

    connector.reads_warm()

    reads = _reads(sent, names)
    assert len(reads) >= 6  # the lookup and the read, with the address alone and with every kind
    for statement in reads:
        assert statement.startswith("SELECT * FROM (")
        assert statement.endswith(") AS dsr_unread WHERE 1 = 0")


def test_after_the_warm_reads_a_persons_first_lookup_and_read_compile_nothing(chinook, sent):
    connector, _, names = chinook
    connector.warm()
    sent.clear()

    found = connector.discover_identifiers({"email": {EMAIL}})
    records = list(connector.records({"email": {EMAIL}}))

    assert EMAIL in found["email"]
    assert any(record.table == names["customer"] for record in records)  # the real read reads rows again
    compiled = [(statement, hit) for statement, hit in sent if hit is not None]
    assert compiled
    assert all(hit == CACHE_HIT for _, hit in compiled), [s for s, hit in compiled if hit != CACHE_HIT]
    assert not any(WARM_EMAIL in statement for statement, _ in sent)


def test_a_warm_read_that_fails_leaves_the_engine_reading_rows(chinook, sent, monkeypatch):
    connector, _, names = chinook
    connector.warm()

    def broken(identifiers, *, reference=""):
        raise connector.error("reading records: the server went away")
        yield

    monkeypatch.setattr(connector, "record_batches", broken)
    with pytest.raises(type(connector.error("x"))):
        connector.reads_warm()
    monkeypatch.undo()
    sent.clear()

    records = list(connector.records({"email": {EMAIL}}))

    assert any(record.table == names["customer"] for record in records)
    assert not any("dsr_unread" in statement for statement, _ in sent)


def test_the_warm_leaves_the_sources_engine_without_a_listener(chinook):
    connector, url, _ = chinook

    connector.warm()

    engine = engine_get(url)
    # An engine that ever had a listener dispatches events for every statement afterwards.
    assert not engine._has_events
    assert engine.execution_options()._compiled_cache is engine._compiled_cache  # what the warm shares

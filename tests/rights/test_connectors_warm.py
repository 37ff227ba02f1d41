"""A worker readies the active map's connectors at start (dsr.engine.connectors.connectors_warm)."""

import logging

import pytest
from django.db import connection

from config import celery as celery_config
from dsr.engine import connectors
from dsr.sources.registry import connector_for
from dsr.sources.sql import connection as sql_connection
from dsr.sources.sql import schema as sql_schema
from tests.rights.conftest import PERSON

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def connectors_fresh():
    """Each test starts, and leaves, with no connectors kept in this process."""
    connectors._cache.update(key=None, at=0.0, datamap=None, connectors={})
    yield
    connectors._cache.update(key=None, at=0.0, datamap=None, connectors={})


def _checked_out() -> int:
    return sum(engine.pool.checkedout() for engine in sql_connection._engines.values())


def test_every_mapped_table_of_each_sql_source_is_reflected_and_no_connection_stays_open(company):
    connectors.connectors_warm()

    datamap = connectors.datamap_current()
    for key in ("shop", "chinook"):
        connector = connectors.connector_get(key, datamap)
        assert set(connector._reflected) == set(connector.tables)
        assert connector._fingerprint is not None  # the first job compares it and keeps the tables
    assert _checked_out() == 0
    assert all(engine.pool.checkedin() == 0 for engine in sql_connection._engines.values())


def test_the_first_job_after_the_start_reflects_nothing_again(company, monkeypatch):
    connectors.connectors_warm()
    datamap = connectors.datamap_current()
    shop = connectors.connector_get("shop", datamap)
    reflected = dict(shop._reflected)

    shop.warm()  # what an operation does first: connect, compare the fingerprint, look the tables up

    assert all(shop._reflected[name] is table for name, table in reflected.items())


def test_the_live_schema_is_read_at_start_and_not_again_by_the_first_read(company, monkeypatch):
    connectors.connectors_warm()

    def read_again(*args, **kwargs):
        raise AssertionError("the live schema was read again")

    monkeypatch.setattr(sql_schema, "live_schema_read", read_again)
    datamap = connectors.datamap_current()
    shop = connectors.connector_get("shop", datamap)
    assert shop._live_schema is not None
    # A connector made afterwards in the same process (another map version's, say) finds it kept too.
    fresh = connector_for("shop", datamap)

    for connector in (shop, fresh):
        rows = list(connector.records({"email": {PERSON}}))
        assert any(record.table == "customer" for record in rows)


def test_a_source_that_cannot_be_reached_is_left_for_its_first_job(company, caplog):
    company.chinook.rename(company.chinook.with_suffix(".gone"))

    with caplog.at_level(logging.WARNING, logger="dsr.engine.connectors"):
        connectors.connectors_warm()

    assert "source chinook was not readied at start" in caplog.text
    shop = connectors.connector_get("shop", connectors.datamap_current())
    assert set(shop._reflected) == set(shop.tables)


@pytest.mark.django_db(transaction=True)  # a connection inside a test's transaction is never really closed
def test_the_worker_start_readies_the_connectors_and_closes_its_database_connection(company, monkeypatch):
    monkeypatch.setattr(
        celery_config,
        "gc",
        type("GC", (), {"collect": staticmethod(lambda: None), "freeze": staticmethod(lambda: None)}),
    )
    monkeypatch.setattr("dsr.letters.letter_pdf", lambda kind, context, language: b"")

    celery_config.worker_warm()

    assert connectors._cache["connectors"]["shop"]._reflected
    assert connection.connection is None  # no pool process inherits it

"""A worker's database connection between tasks (config.celery.connections_recycle), as Django's between requests.

Kept while it is younger than CONN_MAX_AGE and in good order; replaced, not
reused, once the database dropped it; closed after every task where
CONN_MAX_AGE is 0 (SQLite's default); never closed under a task run inline,
whose caller may be in the middle of a transaction.
"""

import psycopg
import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connection

from dsr import tasks

pytestmark = pytest.mark.django_db(transaction=True)

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="kept connections are PostgreSQL's (CI=true runs these)"
)


@pytest.fixture
def connection_settings():
    """Let the test set CONN_MAX_AGE and CONN_HEALTH_CHECKS of the default connection; restore them after."""
    keys = ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")
    previous = {key: connection.settings_dict.get(key) for key in keys}

    def use(*, max_age: int, health_checks: bool) -> None:
        connection.close()
        connection.settings_dict.update(CONN_MAX_AGE=max_age, CONN_HEALTH_CHECKS=health_checks)

    yield use
    connection.close()
    connection.settings_dict.update(previous)


def _task_boundary() -> None:
    """What a worker's pool process goes through between one task and the next."""
    task = tasks.requests_expire_unverified
    task_postrun.send(sender=task, task_id="done", task=task, args=(), kwargs={}, retval=0, state="SUCCESS")
    task_prerun.send(sender=task, task_id="next", task=task, args=(), kwargs={})


def _backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@postgresql_only
def test_a_worker_keeps_its_connection_from_one_task_to_the_next(connection_settings):
    connection_settings(max_age=60, health_checks=True)
    before = _backend()

    _task_boundary()

    assert _backend() == before


@postgresql_only
def test_a_connection_the_database_dropped_is_replaced_not_reused(connection_settings):
    connection_settings(max_age=60, health_checks=True)
    dropped = _backend()
    params = connection.get_connection_params()
    with psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])

    _task_boundary()

    # The next task's first query finds a working connection to a new backend.
    assert _backend() != dropped


def test_with_no_connection_age_the_connection_is_closed_after_every_task(connection_settings):
    connection_settings(max_age=0, health_checks=False)
    connection.ensure_connection()

    _task_boundary()

    assert connection.connection is None


def test_a_task_run_inline_leaves_its_callers_connection_alone(connection_settings):
    connection_settings(max_age=0, health_checks=False)
    connection.ensure_connection()
    held = connection.connection

    tasks.requests_expire_unverified.apply()

    assert connection.connection is held

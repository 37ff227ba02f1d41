"""A worker's start (config.celery.worker_warm): letters rendered once, loaded objects frozen for the GC."""

import logging
from types import SimpleNamespace

import pytest

from config import celery as celery_config
from dsr import letters


@pytest.fixture
def gc_calls(monkeypatch):
    """Record the GC calls instead of freezing the test process's objects."""
    calls = []
    fake = SimpleNamespace(collect=lambda: calls.append("collect"), freeze=lambda: calls.append("freeze"))
    monkeypatch.setattr(celery_config, "gc", fake)
    return calls


def test_the_worker_renders_the_letters_then_freezes_what_it_loaded(monkeypatch, gc_calls):
    rendered = []
    monkeypatch.setattr(letters, "letter_pdf", lambda kind, context, language: rendered.append((kind, language)))

    celery_config.worker_warm()

    assert rendered == [("erasure_confirmation", "da"), ("erasure_confirmation", "en")]
    assert gc_calls == ["collect", "freeze"]


def test_a_letter_that_cannot_be_rendered_at_start_does_not_stop_the_worker(monkeypatch, gc_calls, caplog):
    def broken(kind, context, language):
        raise OSError("no fonts")

    monkeypatch.setattr(letters, "letter_pdf", broken)

    with caplog.at_level(logging.WARNING, logger="config.celery"):
        celery_config.worker_warm()

    assert "the letters could not be rendered at start" in caplog.text
    assert gc_calls == ["collect", "freeze"]


def test_every_template_a_job_renders_is_compiled_at_start_in_both_languages():
    from django.template import engines

    loader = engines["django"].engine.template_loaders[0]
    loader.reset()

    celery_config._templates_warm()  # raises if a template does not compile

    compiled = set(loader.get_template_cache)
    assert {"dsr/exports/report.da.html", "dsr/exports/index.en.html", "dsr/letters/_letter.html"} <= compiled
    assert any(name.startswith("dsr/emails/") and name.endswith(".da.txt") for name in compiled)


def test_the_url_tables_are_built_for_each_language_at_start(monkeypatch):
    from django.urls import clear_url_caches, reverse
    from django.urls.resolvers import URLResolver
    from django.utils import translation

    clear_url_caches()
    celery_config._urls_warm()

    def build_again(self):
        raise AssertionError(f"the URL tables were built again ({translation.get_language()})")

    monkeypatch.setattr(URLResolver, "_populate", build_again)
    for code in ("da", "en"):
        with translation.override(code):
            # A name at the top and names in two namespaces, as the messages' links and the API use them.
            assert reverse("login")
            assert reverse("dsr:status", args=["DSR-AAAA-BBBB-CCCC-DDDD"])
            assert reverse("api:requests")
            assert reverse("admin:index")


# 2027: its New Year's Day is a Friday, the next year's a Saturday (a weekend day asks no calendar).
@pytest.mark.parametrize("today", ["2026-12-05", "2027-06-01"])
def test_every_jurisdictions_public_holidays_are_read_at_start_for_this_year_and_the_next(
    monkeypatch, time_machine, today
):
    import datetime

    from dsr import deadlines
    from dsr.jurisdictions import PROFILES

    time_machine.move_to(datetime.datetime.fromisoformat(f"{today}T12:00:00+00:00"))
    deadlines.public_holidays.cache_clear()
    celery_config._calendars_warm()

    def read_again(*args, **kwargs):
        raise AssertionError("the holidays were read again")

    monkeypatch.setattr(deadlines.holidays, "country_holidays", read_again)
    year = int(today[:4])
    for profile in PROFILES.values():
        for each in (year, year + 1):
            assert deadlines.public_holidays(profile.calendar, each)


@pytest.mark.django_db
def test_the_controller_is_read_at_start_and_each_letter_asks_only_for_the_active_version(django_assert_num_queries):
    from pathlib import Path

    from django.conf import settings

    from dsr.datamap import selectors
    from dsr.datamap.loading import datamap_load

    datamap_load(text=(Path(settings.BASE_DIR) / "dsr" / "demo" / "datamap.yaml").read_text(), loaded_by="test")
    selectors._controller_kept = (None, {})
    celery_config._controller_warm()

    with django_assert_num_queries(1):  # the active version's key; the snapshot is not read again
        assert selectors.controller_current()["name"]


def test_a_warm_step_that_fails_is_logged_and_the_worker_still_starts(monkeypatch, gc_calls, caplog, settings):
    monkeypatch.setattr(letters, "letter_pdf", lambda kind, context, language: b"")
    settings.EMAIL_BACKEND = "dsr.no_such_module.Backend"

    with caplog.at_level(logging.WARNING, logger="config.celery"):
        celery_config.worker_warm()

    assert "the email backend could not be imported at start" in caplog.text
    assert gc_calls == ["collect", "freeze"]


@pytest.mark.django_db(transaction=True)  # a connection inside a test's transaction is never really closed
def test_a_pool_process_opens_its_database_connection_as_it_starts():
    from django.db import connection

    connection.close()

    celery_config._database_connect()

    assert connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_a_pool_process_connects_after_celerys_django_fixup_closed_the_inherited_connection(monkeypatch):
    from celery.signals import worker_process_init
    from django.db import connection

    from dsr import tasks

    monkeypatch.setattr(tasks, "_in_worker", False)

    def fixup_closes(**kwargs):
        connection.close()  # what celery.fixups.django does as a pool process starts

    # The fix-up connects its handler as the worker initialises, after this module's handlers.
    worker_process_init.connect(fixup_closes)
    celery_config._database_connect_after_django_fixup()
    try:
        worker_process_init.send(sender=None)

        assert connection.connection is not None
    finally:
        worker_process_init.disconnect(fixup_closes)
        worker_process_init.disconnect(celery_config._database_connect)


def test_the_host_name_messages_carry_is_looked_up_at_start(monkeypatch):
    import socket

    from django.core.mail.utils import DNS_NAME

    monkeypatch.delattr(DNS_NAME, "_fqdn", raising=False)
    celery_config._mail_warm()

    def look_up_again():
        raise AssertionError("the host name was looked up again")

    monkeypatch.setattr(socket, "getfqdn", look_up_again)
    assert str(DNS_NAME)


def test_a_pool_process_that_cannot_reach_the_database_still_starts(monkeypatch, caplog):
    from django.db import OperationalError, connection

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", unreachable)

    with caplog.at_level(logging.WARNING, logger="config.celery"):
        celery_config._database_connect()

    assert "the database could not be reached as a pool process started" in caplog.text


def test_a_pool_process_connects_to_the_broker_and_declares_the_task_queue_as_it_starts():
    app = celery_config.app
    queue = app.amqp.queues[app.conf.task_default_queue]
    with app.producer_or_acquire() as producer:
        producer.connection.declared_entities.clear()

    celery_config._broker_connect()

    with app.producer_or_acquire() as producer:
        assert producer.connection.connected
        assert hash(queue) in producer.connection.declared_entities  # as kombu's maybe_declare keeps them


def test_a_worker_that_cannot_reach_the_broker_still_starts(monkeypatch, caplog):
    def unreachable():
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(celery_config.app, "producer_or_acquire", unreachable)

    with caplog.at_level(logging.WARNING, logger="config.celery"):
        celery_config._broker_connect()

    assert "the broker could not be reached at start" in caplog.text


def test_the_signal_sweeper_connects_its_process_to_the_broker_before_its_first_sweep(monkeypatch):
    from dsr import tasks

    calls = []
    monkeypatch.setattr(celery_config, "_broker_connect", lambda: calls.append("broker"))
    monkeypatch.setattr(tasks, "signals_sweeper_run", lambda stopping: calls.append("sweep"))
    monkeypatch.setattr(tasks, "_in_worker", False)
    sweeper = celery_config.SignalSweeper(worker=None)

    sweeper.start(None)
    sweeper.stop(None)

    assert calls == ["broker", "sweep"]


def test_a_refused_broker_costs_a_starting_process_one_attempt(monkeypatch, caplog):
    from contextlib import contextmanager
    from types import SimpleNamespace

    from kombu.exceptions import OperationalError

    attempts = []

    def refused(max_retries=None, **kwargs):
        attempts.append(max_retries)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    @contextmanager
    def producer_or_acquire():
        yield SimpleNamespace(connection=SimpleNamespace(ensure_connection=refused))

    monkeypatch.setattr(celery_config.app, "producer_or_acquire", producer_or_acquire)

    with caplog.at_level(logging.WARNING, logger="config.celery"):
        celery_config._broker_connect()

    assert attempts == [0]  # no retries: kombu's own took 6 s against a refused port
    assert "the broker could not be reached at start (OperationalError: Error 111" in caplog.text


def test_a_broker_host_that_does_not_answer_holds_a_pool_processs_start_about_a_second(monkeypatch):
    import threading
    import time

    answered = threading.Event()
    monkeypatch.setattr(celery_config, "_broker_connect", lambda: answered.wait(10))

    started = time.monotonic()
    celery_config._broker_connect_soon()
    waited = time.monotonic() - started
    answered.set()

    assert celery_config.BROKER_CONNECT_WAIT_SECONDS <= waited < celery_config.BROKER_CONNECT_WAIT_SECONDS + 1


@pytest.mark.parametrize(("configured", "used", "left"), [(None, 2, None), (7, 7, 7)])
def test_a_pool_processs_postgresql_connection_waits_for_the_server_at_most_two_seconds(
    monkeypatch, configured, used, left
):
    from django.db import connection

    options = connection.settings_dict.setdefault("OPTIONS", {})
    if configured is not None:
        monkeypatch.setitem(options, "connect_timeout", configured)
    seen = []
    monkeypatch.setattr(connection, "vendor", "postgresql")
    monkeypatch.setattr(connection, "ensure_connection", lambda: seen.append(options.get("connect_timeout")))

    celery_config._database_connect()

    assert seen == [used]  # unless DATABASE_URL names its own
    assert options.get("connect_timeout") == left

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

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

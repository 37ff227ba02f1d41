"""The embedded broker (config/broker.py): a consumer never reads a message that is still being written."""

import os
from queue import Empty

import pytest
from kombu import Connection

from config import broker


@pytest.fixture
def channel(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }
    with Connection("filesystem://localhost//", transport=broker.Transport, transport_options=options) as connection:
        yield connection.default_channel


def test_a_message_being_written_is_invisible_until_it_is_whole(channel, monkeypatch, tmp_path):
    seen_while_writing = []
    replace = os.replace

    def replace_after_a_look(source, destination):
        # The moment kombu's own transport is exposed: the file exists, the message is not complete yet.
        assert os.path.getsize(source) > 0
        try:
            seen_while_writing.append(channel._get("celery"))
        except Empty:
            seen_while_writing.append(None)
        replace(source, destination)

    monkeypatch.setattr(broker.os, "replace", replace_after_a_look)

    channel._put("celery", {"body": "x" * 10_000, "headers": {"task": "dsr.tasks.job_run"}})

    assert seen_while_writing == [None]
    assert channel._get("celery") == {"body": "x" * 10_000, "headers": {"task": "dsr.tasks.job_run"}}
    assert os.listdir(tmp_path / "queue") == []


def test_a_message_that_cannot_be_written_leaves_no_partial_file(channel, monkeypatch, tmp_path):
    def refuse(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(broker.os, "replace", refuse)

    with pytest.raises(Exception, match="Cannot add file"):
        channel._put("celery", {"body": "x"})
    assert os.listdir(tmp_path / "queue") == []


def test_the_transport_is_used_exactly_when_the_broker_is_the_embedded_default():
    from config.celery import app

    embedded = app.conf.broker_url.startswith("filesystem://")
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport) == embedded

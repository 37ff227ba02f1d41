"""No emailed link's token in a log line: Django's log format and a real gunicorn's access and error logs."""

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dsr.logmask import MASK, TokenMaskFilter, tokens_mask

TOKEN = "q3Zt0lKxV8aPp2m9RrWc7uYhN4eB6dJfGs1kLzXoA5I"
OTHER = "Hn7sKd0Wq2LmZr8YpVb4Tc6Xj1Ue3Ao9Gf5Ri0Pl2Qw"

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "path",
    [
        f"/verify/link/{TOKEN}/",
        f"/preferences/link/{TOKEN}/",
        f"/status/DSR-7KQM-2XPA-9RTV-H4WB/{TOKEN}/",
        f"/download/{TOKEN}/",
        f"/download/{TOKEN}/new-link/",
        f"/transmission/{TOKEN}/",
    ],
)
def test_every_kind_of_emailed_link_is_masked(path):
    masked = tokens_mask(f'GET {path} HTTP/1.1" 200 512 "https://privacy.example{path}"')
    assert TOKEN not in masked
    assert masked.count(MASK) == 2


@pytest.mark.parametrize(
    "path",
    [
        "/status/DSR-7KQM-2XPA-9RTV-H4WB/",
        "/status/DSR-7KQM-2XPA-9RTV-H4WB/answer/",
        "/status/DSR-7KQM-2XPA-9RTV-H4WB/download/new-link/",
        "/verify/DSR-7KQM-2XPA-9RTV-H4WB/",
        "/request/access/",
    ],
)
def test_paths_without_a_token_are_left_readable(path):
    assert tokens_mask(f"GET {path}") == f"GET {path}"


def test_a_django_request_warning_is_masked_with_its_arguments():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s", ("Bad Request", f"/download/{TOKEN}/"), None
    )
    assert TokenMaskFilter().filter(record) is True
    formatted = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)
    assert TOKEN not in formatted
    assert f"Bad Request: /download/{MASK}/" in formatted


def test_the_console_handler_in_the_settings_masks_tokens(settings):
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["mask_tokens"]
    assert settings.LOGGING["filters"]["mask_tokens"]["()"] == "dsr.logmask.TokenMaskFilter"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_real_gunicorn_logs_no_token_from_paths_or_referers(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DSR_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "config/gunicorn.conf.py",
                f"--bind=127.0.0.1:{port}",
                f"--control-socket={tmp_path / 'gunicorn.ctl'}",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    # The first request loads Django in the worker: on a busy machine that takes a while.
                    requests.get(f"http://127.0.0.1:{port}/request/access/", timeout=60)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.2)
            # The database is empty, so the token pages fail inside Django: its error log names the path too.
            for path in (f"/verify/link/{TOKEN}/", f"/status/DSR-7KQM-2XPA-9RTV-H4WB/{TOKEN}/"):
                requests.get(
                    f"http://127.0.0.1:{port}{path}",
                    headers={"Referer": f"http://127.0.0.1:{port}/download/{OTHER}/"},
                    timeout=10,
                )
            time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=10)
    logged = log.read_text()
    assert "GET /request/access/" in logged  # the access log is on
    assert f"GET /verify/link/{MASK}/" in logged
    assert f"/download/{MASK}/" in logged  # the Referer
    assert "Internal Server Error: /verify/link/" in logged  # Django's own line, through the same mask
    assert TOKEN not in logged
    assert OTHER not in logged

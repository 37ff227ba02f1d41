"""Fixtures and hooks for the whole suite.

1. Environment: what CI=true requires, checked before any test runs.
2. Unit-test defaults: Celery runs tasks inline, caches start empty.
3. Browser: Playwright drives Debian's Chromium; `screenshot(page, name)`.
4. End to end: `celery_worker_process`, a real Celery worker on the test database.
5. Helpers: `wait_until`.

Add new fixtures to the section they belong to, or open a new numbered section.
"""

import contextlib
import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import hypothesis
import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = BASE_DIR / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ON_CI = os.environ.get("CI", "").lower() == "true"

# Property tests check what happens, not how fast: with the suite spread over processes on a busy machine an
# example may take longer than hypothesis's 200 ms deadline without anything being wrong.
hypothesis.settings.register_profile("dsr", deadline=None)
hypothesis.settings.load_profile("dsr")

# Playwright's sync API runs an event loop in the test thread, and Django refuses ORM
# calls from a thread with a running loop; live_server tests need them.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


# --- 1. Environment -----------------------------------------------------------


def _redact(url: str) -> str:
    """Return `url` without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _ci_problems() -> list[str]:
    """Return what CI=true requires and this machine lacks: PostgreSQL, Redis, Chromium."""
    problems = []
    db = django_settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        problems.append(f"DATABASE_URL must point to PostgreSQL; the suite would run on {db['ENGINE']}")
    else:
        import psycopg

        where = f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
        try:
            with psycopg.connect(
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                user=db["USER"] or None,
                password=db["PASSWORD"] or None,
                dbname=db["NAME"],
                connect_timeout=5,
            ) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL at {where} does not answer: {exc}".strip())

    broker = django_settings.CELERY_BROKER_URL
    if not broker.startswith(("redis://", "rediss://")):
        problems.append(f"CELERY_BROKER_URL must be a redis:// URL; it is {_redact(broker)!r}")
    else:
        import redis

        try:
            redis.Redis.from_url(broker, socket_connect_timeout=5, socket_timeout=5).ping()
        except redis.RedisError as exc:
            problems.append(f"Redis at {_redact(broker)} does not answer PING: {exc}")

    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    return problems


def pytest_configure(config: pytest.Config) -> None:
    """Prepare this process: the test broker folder, and a STATIC_ROOT for WhiteNoise."""
    # A fresh clone has no collected static files, and WhiteNoise warns about the missing
    # folder in every test client; test servers serve static files from the apps anyway.
    Path(django_settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    _broker_use_test_folder()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI=true, stop before the first test if a required service is missing."""
    if not ON_CI:
        return
    problems = _ci_problems()
    if problems:
        pytest.exit(
            "CI=true requires PostgreSQL, Redis and Chromium; missing:\n  - " + "\n  - ".join(problems),
            returncode=3,
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request: pytest.FixtureRequest) -> None:
    """Name the test database after this run's pid, unless --reuse-db.

    Django drops a test database it finds in its way, so two runs in one checkout
    (or on one CI database server) would otherwise destroy each other's.
    """
    if request.config.getvalue("reuse_db"):
        return
    for db in django_settings.DATABASES.values():
        test = db.setdefault("TEST", {})
        if db["ENGINE"] == "django.db.backends.sqlite3":
            if not test.get("NAME") or test["NAME"] == ":memory:":
                continue
            path = Path(test["NAME"])
            test["NAME"] = str(path.with_name(f"{path.stem}-{os.getpid()}{path.suffix}"))
        else:
            test["NAME"] = f"{test.get('NAME') or 'test_' + db['NAME']}_{os.getpid()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by what they use, so `-m "not browser"` and `-m "not e2e"` find them all."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & PLAYWRIGHT_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if "celery_worker_process" in fixtures:
            item.add_marker(pytest.mark.e2e)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip browser tests without Chromium locally; fail them under CI."""
    if item.get_closest_marker("browser") and not CHROMIUM.exists():
        if ON_CI:
            pytest.fail(f"browser test, and {CHROMIUM} is missing under CI=true")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")


# --- 2. Unit-test defaults ----------------------------------------------------


@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest, settings) -> Iterator[None]:
    """Run tasks inline (errors propagate), except in e2e tests, which publish to the broker.

    Celery keeps its own copy of the configuration, so both it and Django's settings change.
    """
    eager = request.node.get_closest_marker("e2e") is None
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    settings.CELERY_TASK_EAGER_PROPAGATES = eager
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = eager
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def web_process():
    """This process as a web process: it records signals and leaves them to the sweepers (tasks not inline)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _bundle_storage(settings, tmp_path: Path) -> Path:
    """Keep each test's export bundles in its own folder (a real worker is pointed at the same one)."""
    location = tmp_path / "bundles"
    settings.STORAGES = {
        **settings.STORAGES,
        "bundles": {**settings.STORAGES["bundles"], "OPTIONS": {"location": str(location)}},
    }
    return location


@pytest.fixture(autouse=True)
def _audit_checkpoint_dir(settings, tmp_path: Path) -> Path:
    """Keep each test's signed audit checkpoints in its own folder, never the real var/."""
    settings.DSR_AUDIT_CHECKPOINT_DIR = str(tmp_path / "audit-checkpoints")
    return Path(settings.DSR_AUDIT_CHECKPOINT_DIR)


@pytest.fixture(autouse=True)
def _active_map_read_each_time() -> Iterator[None]:
    """Leave no test the active map's version read once per task (a test of a worker's task boundary turns it on).

    Left on, a later test would be given a version that test's database never held.
    """
    from dsr.datamap.selectors import active_version_memo

    active_version_memo(False)
    yield
    active_version_memo(False)


@pytest.fixture(autouse=True)
def _clear_caches() -> None:
    """Start every test with empty caches (rate limits, throttles, cached lookups)."""
    caches_clear_own()


def caches_clear_own() -> None:
    """Empty the caches; a Redis cache of this test process's keys only.

    config/settings_test.py gives each test process its prefix: another run of the suite on the same Redis
    keeps its own keys.
    """
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    for cache in caches.all():
        if isinstance(cache, RedisCache) and cache.key_prefix:
            client = cache._cache.get_client(write=True)
            keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        else:
            cache.clear()


# --- 3. Browser ---------------------------------------------------------------

# Tests using any of these are browser tests, marked or not.
PLAYWRIGHT_FIXTURES = {"page", "context", "browser", "new_context"}

# Without the background-networking flags Chromium keeps calling home, and this
# machine's closed network refuses it, noisily.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium; Playwright's own browser download is not available here."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable:
    """Return `take(page, name)`: save a full-page PNG under test-artifacts/ and return its path."""

    def take(page, name: str) -> Path:
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.]+", "-", f"{request.node.name}-{name}").strip("-")
        path = ARTIFACTS_DIR / f"{stem}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- 4. End to end: a real Celery worker --------------------------------------

# The filesystem broker the test session and its workers share: never var/broker,
# which a `make run` on the same checkout may be consuming from.
# One folder per test run: two runs in one checkout would otherwise take each other's messages.
E2E_BROKER_DIR = Path(django_settings.VAR_DIR) / f"test-broker-{os.getpid()}"
_BROKER_SUBFOLDERS = {
    "data_folder_in": "queue",
    "data_folder_out": "queue",
    "processed_folder": "processed",
    "control_folder": "control",
}
_worker_key = pytest.StashKey["CeleryWorker"]()


def _broker_use_test_folder() -> None:
    """Point this process's Celery app at the test broker folder (filesystem broker only)."""
    if not django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return
    options = dict(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    for option, folder in _BROKER_SUBFOLDERS.items():
        (E2E_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
        options[option] = str(E2E_BROKER_DIR / folder)
    django_settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    celery_app.conf.broker_transport_options = options


def _database_url(db: dict) -> str:
    """Return a DATABASE_URL for the database Django is connected to (the test database)."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or ""
        if host.startswith("/"):  # a socket directory
            host = quote(host, safe="")
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"
    raise NotImplementedError(f"no DATABASE_URL for {db['ENGINE']}")


def _broker_purge() -> None:
    """Drop every message an earlier test or run left in the broker."""
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for message in (E2E_BROKER_DIR / "queue").glob("*.msg"):
            message.unlink(missing_ok=True)
    else:
        celery_app.control.purge()


class CeleryWorker:
    """A `celery worker` process on the test database and broker, as the e2e tests see it."""

    # Named after the test process, so parallel test processes (pytest -n) ping their own worker only.
    name = f"e2e-{os.environ.get('DSR_TEST_RUN', '')}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}@dsr-tests"
    argv = (
        *(sys.executable, "-m", "celery", "-A", "config", "worker"),
        *("--pool", "prefork", "--concurrency", "2", "-l", "info", "-n", name),
        # Nothing to gossip or mingle with: one worker per test, and it starts faster.
        *("--without-gossip", "--without-mingle"),
    )

    def __init__(self, *, env: dict[str, str], log_path: Path, outbox_dir: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.outbox_dir = outbox_dir
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        """Start the worker and return once it logs that it is ready."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the celery worker is already running; restart() stops it first")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() reaches the pool too
            )
        deadline = time.monotonic() + timeout
        while not re.search(rf"{re.escape(self.name)} ready\.", self._log_since(offset)):
            if self.process.poll() is not None:
                status = self.process.returncode
                raise RuntimeError(f"celery worker exited ({status}) before it was ready:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log_text()}")
            time.sleep(0.1)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the worker; SIGKILL takes its pool processes down too, as a crash would."""
        if sig == signal.SIGKILL:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=10)
        else:
            self.process.send_signal(sig)

    def stop(self, timeout: float = 10) -> None:
        """Stop the worker: warm shutdown (SIGTERM), then SIGKILL once `timeout` has passed (at once if 0)."""
        if self.process is None:
            return
        if self.process.poll() is None and timeout > 0:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        # Whatever is left of the group: the worker itself, or pool processes it orphaned.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop the worker (if it still runs) and start it again on the same broker and database."""
        self.stop()
        self.start()

    def log_text(self) -> str:
        """Return everything the worker has logged, across restarts."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def outbox(self) -> list[email.message.EmailMessage]:
        """Return the emails the worker has sent, oldest first."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.outbox_dir.glob("*.eml"))
        ]

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


@pytest.fixture
def celery_worker_process(transactional_db, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CeleryWorker]:
    """Start a real Celery worker on the test database and broker; stop it after the test.

    The test's data is committed (transactional_db), so the worker sees it. Tasks the test
    publishes go through the broker for real (the e2e marker turns eager mode off). Emails
    the worker sends land in `.outbox()`. On failure the test report shows the worker's log.
    """
    from django.db import connection

    outbox_dir = tmp_path / "outbox"
    env = {key: value for key, value in os.environ.items() if key not in {"EMAIL_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_test",
        DATABASE_URL=_database_url(connection.settings_dict),
        CELERY_BROKER_URL=django_settings.CELERY_BROKER_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        DSR_VAR_DIR=str(django_settings.VAR_DIR),
        DSR_BROKER_DIR=str(E2E_BROKER_DIR),
        MEDIA_ROOT=str(django_settings.MEDIA_ROOT),
        DSR_BUNDLE_DIR=str(tmp_path / "bundles"),
        DSR_OUTBOX_DIR=str(outbox_dir),
        PYTHONUNBUFFERED="1",
    )
    _broker_purge()
    worker = CeleryWorker(env=env, log_path=tmp_path / "celery-worker.log", outbox_dir=outbox_dir)
    request.node.stash[_worker_key] = worker
    worker.start()
    try:
        yield worker
    finally:
        # The test is over: nothing the worker still does is looked at, so it is killed rather than given the
        # seconds a warm shutdown takes. Tests of a graceful stop call worker.stop() themselves.
        worker.stop(timeout=0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the worker's log to the report of a failed e2e test."""
    report = yield
    worker = item.stash.get(_worker_key, None)
    if worker is not None and report.failed:
        lines = worker.log_text().splitlines()[-200:]
        report.sections.append(("celery worker log (last 200 lines)", "\n".join(lines)))
    return report


# --- 5. Helpers ---------------------------------------------------------------


def wait_until(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.2, what: str = ""):
    """Call `predicate` until it returns something truthy and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            what = what or getattr(predicate, "__name__", "a condition")
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(name="wait_until")
def _wait_until() -> Callable:
    """Return `wait_until(predicate, timeout=30, interval=0.2, what="")`."""
    return wait_until


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove this run's broker folder (filesystem broker only)."""
    import shutil

    shutil.rmtree(E2E_BROKER_DIR, ignore_errors=True)

"""The test suite's settings: production's (config/settings.py), served over plain HTTP.

HTTPS is on by default whenever DEBUG is off; the test client, live_server and the end-to-end workers
speak plain HTTP, so the suite says so before the settings are read. Everything else comes from the
environment exactly as in production; tests/test_infrastructure.py checks production's own defaults.
"""

import os
import uuid

os.environ.setdefault("DSR_HTTPS", "false")
# The padding of code checks and lost-link answers (no timing oracle) is measured in its own tests.
os.environ.setdefault("DSR_EDGE_ANSWER_SECONDS", "0")

from config.settings import *  # noqa: F403

# --- The suite split over processes (pytest -n N, pytest-xdist), and several runs on one machine ----------------
# Each test process ("gw0", "gw1", ...) has its own test database already (tests/conftest.py names it after the
# process); here it also gets its own Celery queue and cache keys and, with Redis, its own cache database, since a
# test empties the cache it starts with. A run's processes share DSR_TEST_RUN (set by the first of them to read these
# settings, inherited by the rest), so two runs against the same Redis (a `make test` while `.ci/run` runs) take
# neither each other's tasks nor each other's cache. The end-to-end workers inherit both and read these same settings.
_TEST_RUN = os.environ.setdefault("DSR_TEST_RUN", uuid.uuid4().hex[:8])
_TEST_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "")
CELERY_TASK_DEFAULT_QUEUE = f"dsr-tests-{_TEST_RUN}-{_TEST_PROCESS or 'main'}"
_cache = CACHES["default"]  # noqa: F405
# tests/conftest.py empties only the keys under this prefix before each test.
_cache["KEY_PREFIX"] = CELERY_TASK_DEFAULT_QUEUE
if _TEST_PROCESS and _cache["BACKEND"].endswith("RedisCache"):
    # Redis databases 10-15 hold the caches of up to six test processes.
    _process_number = int(_TEST_PROCESS.removeprefix("gw") or 0)
    _location = _cache["LOCATION"]
    _cache["LOCATION"] = f"{_location.rsplit('/', 1)[0]}/{10 + _process_number % 6}"

"""The test suite's settings: production's (config/settings.py), served over plain HTTP.

HTTPS is on by default whenever DEBUG is off; the test client, live_server and the end-to-end workers
speak plain HTTP, so the suite says so before the settings are read. Everything else comes from the
environment exactly as in production; tests/test_infrastructure.py checks production's own defaults.
"""

import os

os.environ.setdefault("DSR_HTTPS", "false")

from config.settings import *  # noqa: F403

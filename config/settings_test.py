"""The test suite's settings: production's (config/settings.py), served over plain HTTP.

HTTPS is on by default whenever DEBUG is off; the test client, live_server and the end-to-end workers
speak plain HTTP, so the suite says so before the settings are read. Everything else comes from the
environment exactly as in production; tests/test_infrastructure.py checks production's own defaults.
"""

import os

os.environ.setdefault("DSR_HTTPS", "false")
# The padding of code checks and lost-link answers (no timing oracle) is measured in its own tests.
os.environ.setdefault("DSR_EDGE_ANSWER_SECONDS", "0")

from config.settings import *  # noqa: F403

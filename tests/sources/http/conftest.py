"""The processor fixture for the http connector's tests."""

from tests.sources.http.processor import processor  # noqa: F401  (the fixture, shared with other test packages)

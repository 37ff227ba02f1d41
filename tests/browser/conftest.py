"""Browser-only fixtures for the portal's walks (the shared ones live in tests/conftest.py)."""

import pytest


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """Browse as a person in Denmark: Danish first, as the portal's default audience."""
    return {**browser_context_args, "locale": "da-DK", "viewport": {"width": 1280, "height": 900}}

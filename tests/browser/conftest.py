"""Browser-only fixtures for the portal's walks (the shared ones live in tests/conftest.py)."""

import pytest


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """Browse as a person in Denmark: Danish first, as the portal's default audience."""
    return {**browser_context_args, "locale": "da-DK", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def demo_datamap(transactional_db):
    """Load the demo company's data map, so the pages show a real controller and its consents."""
    from django.conf import settings

    from dsr.datamap.loading import datamap_load

    path = settings.BASE_DIR / "dsr" / "demo" / "datamap.yaml"
    return datamap_load(text=path.read_text(encoding="utf-8"), loaded_by="tests", source_path=str(path))

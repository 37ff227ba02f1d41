"""Fixtures for the data map's tests."""

from pathlib import Path

import pytest

DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"


@pytest.fixture
def demo_text() -> str:
    return DEMO_MAP.read_text(encoding="utf-8")

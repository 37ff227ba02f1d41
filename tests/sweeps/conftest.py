"""The sweeps' test company: the demo shop (300 customers, as the demo seeds it) under the demo data map."""

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from dsr.datamap.loading import datamap_load
from dsr.demo.shop import shop_database_build

DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"
# The day the issue counted on: 21 customers 36 months past deactivation, 79 subscribers two years silent.
TODAY = dt.date(2026, 12, 3)


def map_text(shop: str, *, customer_events: dict | None = None) -> str:
    """Return the demo data map with the shop at ``shop`` (a database URL), without the Meta and Google sources.

    ``customer_events`` replaces the customer table's events ({} removes them).
    """
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    document["sources"]["shop"]["url"] = shop
    if customer_events is not None:
        document["sources"]["shop"]["tables"]["customer"].pop("events")
        if customer_events:
            document["sources"]["shop"]["tables"]["customer"]["events"] = customer_events
    for key in ("meta", "google"):
        document["sources"].pop(key, None)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def rows(path: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite3"
    shop_database_build(path)
    return path


@pytest.fixture
def demo(db, shop: Path) -> Path:
    """The demo map loaded, pointed at a fresh demo shop."""
    datamap_load(text=map_text(f"sqlite:///{shop}"), loaded_by="test")
    return shop

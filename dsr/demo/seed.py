"""Build the demo company: its shop database, the partners' audiences, its vendors' data, and its data map."""

import sqlite3
from contextlib import closing
from pathlib import Path

from django.conf import settings

from dsr.datamap.loading import datamap_load
from dsr.demo.demo_platforms import demo_audiences_build
from dsr.demo.demo_processor import processor_audience_build
from dsr.demo.shop import shop_database_build
from dsr.demo.vendors.demo import demo_vendors_build

DATAMAP_PATH = Path(__file__).resolve().parent / "datamap.yaml"


def demo_shop_path() -> Path:
    """Return where the demo map's `shop` source expects its database (${VAR_DIR}/demo/shop.sqlite3)."""
    return Path(settings.VAR_DIR) / "demo" / "shop.sqlite3"


def demo_company_seed(*, customers: int = 300, seed: int = 1, reset: bool = False) -> dict:
    """Build the demo shop database and the partners' audiences under VAR_DIR once, and load the demo data map.

    A shop that is already there is kept as it is, with what the requests made in it did (erased customers stay
    erased, withdrawn consents withdrawn); ``reset`` builds it and the audiences anew.
    """
    shop_path = demo_shop_path()
    built = reset or not shop_path.is_file()
    if built:
        shop_database_build(shop_path, customers=customers, seed=seed)
        processor_audience_build(shop_path)
        demo_audiences_build(shop_path)
        demo_vendors_build(shop_path)
    version = datamap_load(
        text=DATAMAP_PATH.read_text(encoding="utf-8"), loaded_by="demo seed", source_path=str(DATAMAP_PATH)
    )
    with closing(sqlite3.connect(shop_path)) as conn:
        sample_email = conn.execute("SELECT email FROM customer ORDER BY id LIMIT 1").fetchone()[0]
    return {
        "shop_path": str(shop_path),
        "customers": _customers(shop_path),
        "built": built,
        "datamap_version": version.pk,
        "sources": list(version.snapshot["sources"]),
        "sample_email": sample_email,
    }


def _customers(shop_path: Path) -> int:
    with closing(sqlite3.connect(shop_path)) as conn:
        return conn.execute("SELECT count(*) FROM customer").fetchone()[0]

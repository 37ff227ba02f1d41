"""The engine's test company: the demo shop and a Chinook copy on disk, the demo ad partner on a local port.

The data map is the demo company's own (dsr/demo/datamap.yaml) with the shop
pointed at a fresh database, the ad partner at a real local OpenGDPR server,
and the Chinook music store added as a second SQL source. Customer 1 of the
shop is given the email of Chinook's customer 1, so one person lives in both.
"""

import hashlib
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.demo.shop import shop_database_build
from dsr.models import Request
from dsr.workflow import request_submit
from tests.sources.conftest import chinook_sqlite  # noqa: F401  (the fixture, reused)
from tests.sources.http.processor import SECRET, Processor, processor  # noqa: F401  (the fixture, reused)
from tests.sources.maps import chinook_source

DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"
PERSON = "luisg@embraer.com.br"  # Chinook customer 1, and shop customer 1 here


def map_text(*, shop: Path, chinook: Path | None, processor_url: str, **http_config) -> str:
    """Return the demo data map pointed at these databases and this processor."""
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    document["sources"]["shop"]["url"] = f"sqlite:///{shop}"
    document["sources"]["adpartner"].update(
        url=processor_url, secret=SECRET, retries=0, backoff_seconds=0.01, timeout_seconds=3, **http_config
    )
    if chinook is not None:
        document["sources"]["chinook"] = {
            **chinook_source(f"sqlite:///{chinook}", "pascal"),
            "purposes": ["purchase", "bookkeeping"],
        }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def shop_build(path: Path, *, customers: int = 12) -> Path:
    """Build a small demo shop whose customer 1 is ``PERSON`` with a marketing consent and a newsletter."""
    shop_database_build(path, customers=customers, seed=4)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE customer SET email = ? WHERE id = 1", (PERSON,))
        conn.execute("DELETE FROM newsletter_subscription WHERE customer_id = 1")
        conn.execute(
            "INSERT INTO newsletter_subscription (customer_id, email, subscribed_at) VALUES (1, ?, '2024-01-02')",
            (PERSON,),
        )
        conn.execute("DELETE FROM consent WHERE customer_id = 1")
        for purpose in ("newsletter", "ad_retargeting"):
            conn.execute(
                "INSERT INTO consent (customer_id, purpose, granted, given_at, channel) "
                "VALUES (1, ?, 1, '2024-01-02', 'web')",
                (purpose,),
            )
        conn.commit()
    return path


def shop_rows(path: Path, sql: str, *params) -> list[tuple]:
    """Return the rows of a query on the shop database."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


@dataclass
class Company:
    shop: Path
    chinook: Path
    processor: Processor


def company_load(tmp_path: Path, chinook: Path, processor: Processor) -> Company:
    """Load the engine's test company as the active data map; the ad partner holds the person."""
    shop = shop_build(tmp_path / "shop.sqlite3")
    processor.audience.add(hashlib.sha256(PERSON.encode()).hexdigest())
    datamap_load(text=map_text(shop=shop, chinook=chinook, processor_url=processor.url), loaded_by="test")
    return Company(shop=shop, chinook=chinook, processor=processor)


@pytest.fixture
def company(tmp_path: Path, chinook_sqlite: Path, processor: Processor) -> Company:
    """Return the engine's test company, loaded as the active data map."""
    return company_load(tmp_path, chinook_sqlite, processor)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Return ``run(fn, **kwargs)``: call a service and let every job it starts run inline (eager Celery)."""

    def call(fn, /, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return call


@pytest.fixture
def file(run):
    """Return ``file(right, **details)``: a request for PERSON vouched for by an integration, started inline."""

    def make(right: str, email: str = PERSON, **details) -> Request:
        result = run(
            request_submit,
            right=right,
            email=email,
            actor=Actor.integration("shop"),
            language="en",
            details=details or None,
            pre_verified=True,
        )
        return Request.objects.get(pk=result.request.pk)

    return make


@pytest.fixture
def staff(django_user_model) -> Actor:
    user = django_user_model.objects.create_user("privacy", email="privacy@example.dk", password="x" * 16)
    return Actor.staff(user)

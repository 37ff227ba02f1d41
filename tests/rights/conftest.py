"""The rights' test company: the demo shop and a Chinook copy on disk, the demo ad partner on a local port.

The data map is the demo company's own (dsr/demo/datamap.yaml) with the shop
pointed at a fresh database, the ad partner at a real local OpenGDPR server,
and the Chinook music store added as a second SQL source. Customer 1 of the
shop is given the email of Chinook's customer 1, so one person lives in both;
they subscribe to the newsletter and gave the newsletter and ad_retargeting
consents (``shop_consents`` gives them others). The chat system is worked by
hand by its owner (``tests.rights.helpers.tasks_finish``): the demo reaches it,
its payments and its newsletter through their vendors' APIs (kind saas), which
tests/sources/saas and tests/e2e/test_saas_jobs.py test against local stand-ins.
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
# The chat system as a person works it: the tests of the rights need one source done by hand.
CHATS_BY_HAND = {
    "name": {
        "da": "Kundeservice-chat og opkald (Genesys PureCloud)",
        "en": "Customer-service chat and calls (Genesys PureCloud)",
    },
    "kind": "manual",
    "purposes": ["customer_service", "call_recording"],
    "recipients": ["genesys"],
    "origin": {
        "da": "Fra dig, når du chatter eller ringer med vores kundeservice.",
        "en": "From you, when you chat with or call our customer service.",
    },
    "provided_by_subject": [],
    "owner": "Kundeservicechef (administrator af Genesys PureCloud)",
    "categories": ["identity", "contact", "usage"],
    "instructions": {
        "access": {
            "da": (
                "Søg personen frem i PureCloud på e-mail og telefonnummer, eksportér chats og optagelser som "
                "JSON/MP3 og upload filen."
            ),
            "en": (
                "Find the person in PureCloud by email and phone, export chats and recordings as JSON/MP3 and "
                "upload the file."
            ),
        },
        "erasure": {
            "da": (
                "Slet personens chats og optagelser i PureCloud (Admin > Quality > Recordings og Interactions) og "
                "bekræft, hvad der blev slettet."
            ),
            "en": (
                "Delete the person's chats and recordings in PureCloud (Admin > Quality > Recordings and "
                "Interactions) and confirm what was deleted."
            ),
        },
        "rectification": {
            "da": "Ret kontaktoplysningerne på personens PureCloud-kontakt.",
            "en": "Correct the contact details on the person's PureCloud contact.",
        },
        "restriction": {
            "da": 'Markér personens PureCloud-kontakt som "begrænset behandling" og fjern den fra kampagnelister.',
            "en": 'Mark the person\'s PureCloud contact as "restricted processing" and remove it from campaign lists.',
        },
        "consent_withdrawal": {
            "da": "Fjern samtykket til optagelse på personens PureCloud-kontakt.",
            "en": "Remove the call-recording consent from the person's PureCloud contact.",
        },
    },
}
PERSON = "luisg@embraer.com.br"  # Chinook customer 1, and shop customer 1 here
PERSON_SHA256 = hashlib.sha256(PERSON.encode()).hexdigest()  # how the ad partner's audience holds them


def map_document(*, shop: Path, chinook: Path | None, processor_url: str, **http_config) -> dict:
    """Return the demo data map, as a document, pointed at these databases and this processor."""
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    document["sources"]["shop"]["url"] = f"sqlite:///{shop}"
    # The demo's Meta and Google audiences are served by the running demo; tests/e2e/test_ad_audiences.py and
    # tests/sources/{meta_audience,google_ads} test them against local fakes.
    for key in ("meta", "google", "payments", "newsletter"):
        document["sources"].pop(key, None)
    for key in ("stripe", "mailchimp"):  # reached only through the payments and newsletter sources
        document["recipients"].pop(key, None)
    document["sources"]["chats"] = CHATS_BY_HAND
    document["sources"]["adpartner"].update(
        url=processor_url, secret=SECRET, retries=0, backoff_seconds=0.01, timeout_seconds=3, **http_config
    )
    if chinook is not None:
        document["sources"]["chinook"] = {
            **chinook_source(f"sqlite:///{chinook}", "pascal"),
            "purposes": ["purchase", "bookkeeping"],
        }
    return document


def map_text(*, shop: Path, chinook: Path | None, processor_url: str, **http_config) -> str:
    """Return the demo data map pointed at these databases and this processor."""
    document = map_document(shop=shop, chinook=chinook, processor_url=processor_url, **http_config)
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


def shop_execute(path: Path, sql: str, *params) -> None:
    """Change the shop database as its own application would."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(sql, params)
        conn.commit()


def shop_consents(path: Path, *, given: tuple[str, ...] = (), withdrawn: tuple[str, ...] = ()) -> None:
    """Replace the consents PERSON gave in the shop: ``given`` are in force, ``withdrawn`` were given and withdrawn."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM consent WHERE customer_id = 1")
        for purpose, granted, withdrawn_at in [(p, 1, None) for p in given] + [(p, 0, "2025-06-01") for p in withdrawn]:
            conn.execute(
                "INSERT INTO consent (customer_id, purpose, granted, given_at, withdrawn_at, channel) "
                "VALUES (1, ?, ?, '2024-01-02', ?, 'web')",
                (purpose, granted, withdrawn_at),
            )
        conn.commit()


@dataclass
class Company:
    shop: Path
    chinook: Path
    processor: Processor


def company_load(tmp_path: Path, chinook: Path, processor: Processor) -> Company:
    """Load the engine's test company as the active data map; the ad partner holds the person."""
    shop = shop_build(tmp_path / "shop.sqlite3")
    processor.audience.add(PERSON_SHA256)
    datamap_load(text=map_text(shop=shop, chinook=chinook, processor_url=processor.url), loaded_by="test")
    return Company(shop=shop, chinook=chinook, processor=processor)


def company_map_load(company: Company, change) -> None:
    """Load the company's map after ``change(document)`` edited it (a recipient without a contact, ...)."""
    document = map_document(shop=company.shop, chinook=company.chinook, processor_url=company.processor.url)
    change(document)
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")


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
    """Return ``file(right, **details)``: a request for PERSON vouched for by an integration, started inline.

    ``language`` is the person's (English unless given); ``phone`` and ``customer_number`` are
    identifiers the person gave besides the email; ``jurisdiction`` the law's profile (the deployment's own if empty).
    """

    def make(
        right: str,
        email: str = PERSON,
        *,
        language: str = "en",
        phone: str = "",
        customer_number: str = "",
        jurisdiction: str = "",
        **details,
    ) -> Request:
        result = run(
            request_submit,
            right=right,
            email=email,
            phone=phone,
            customer_number=customer_number,
            actor=Actor.integration("shop"),
            language=language,
            details=details or None,
            jurisdiction=jurisdiction,
            pre_verified=True,
        )
        return Request.objects.get(pk=result.request.pk)

    return make


@pytest.fixture
def staff(django_user_model) -> Actor:
    user = django_user_model.objects.create_user("privacy", email="privacy@example.dk", password="x" * 16)
    return Actor.staff(user)

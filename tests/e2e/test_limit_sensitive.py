"""California's request to limit the use of sensitive personal information, with a real worker.

A small shop (SQLite: customer, diet_consent) marks its "diet offers" purpose as using sensitive personal
information beyond what CCPA regs § 7027(m) permits; the diet offers rest on a consent that the shop records
per email, and a partner receives the email and diet for them. A limit (us-ca) withdraws that consent in the
shop, leaves the newsletter alone, records the purpose in the register, emails the partner the § 7027(g)
notice, and tells the person exactly that. A second limit finds nothing to change and tells nobody.
"""

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.models import RecipientNotification, Request, Status
from dsr.restrictions import LIMIT_SENSITIVE, restriction_check
from dsr.workflow import request_submit
from tests.e2e.test_truthful_outcomes import messages_all_sent, reach, sent_to_person, text
from tests.e2e.test_worker_jobs import engine_env  # noqa: F401  (the fixture, reused)
from tests.sources.maps import BASE_MAP

pytestmark = pytest.mark.e2e

EMAIL = "maria.lopez@example.com"
PARTNER = "privacy@nutripartner.example"


def shop_build(path: Path, *, diet_offers_granted: int = 1) -> Path:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);
            CREATE TABLE diet_consent (id INTEGER PRIMARY KEY, email TEXT NOT NULL, purpose TEXT NOT NULL,
                granted BOOLEAN NOT NULL, withdrawn_at TIMESTAMP);
            INSERT INTO customer VALUES (1, 'maria.lopez@example.com', 'Maria Lopez');
            """
        )
        conn.execute(
            "INSERT INTO diet_consent (email, purpose, granted) VALUES (?, 'diet_offers', ?), (?, 'newsletter', 1)",
            (EMAIL, diet_offers_granted, EMAIL),
        )
    return path


def map_load(shop: Path) -> None:
    document = dict(BASE_MAP)
    document["purposes"] = {
        **BASE_MAP["purposes"],
        "newsletter": {**BASE_MAP["purposes"]["newsletter"], "categories": ["contact"]},
        "diet_offers": {
            "name": {"da": "Kosttilbud fra partnere", "en": "Diet offers from partners"},
            "legal_basis": ["a"],
            "consent_key": "diet_offers",
            "retention": {"da": "Indtil tilbagetrækning", "en": "Until withdrawn"},
            "retention_rule": {"after": "last_activity", "days": 180},
            "categories": ["contact", "profile"],
            "sensitive_beyond_permitted": True,
        },
    }
    document["recipients"] = {
        "nutripartner": {
            "name": "NutriPartner Inc.",
            "role": "controller",
            "country": "US",
            "safeguard": {"da": "Standardkontraktbestemmelser", "en": "Standard contractual clauses"},
            "contact_email": PARTNER,
            "purposes": ["diet_offers"],
        }
    }
    document["sources"] = {
        "shop": {
            "name": {"da": "Webshop", "en": "Web shop"},
            "kind": "sql",
            "purposes": ["account", "newsletter", "diet_offers"],
            "origin": {"da": "Fra dig", "en": "From you"},
            "url": f"sqlite:///{shop}",
            "tables": {
                "customer": {
                    "purposes": ["account"],
                    "identifiers": {"email": "email"},
                    "categories": {"email": "contact", "name": "identity"},
                    "erasure": {"strategy": "delete"},
                },
                "diet_consent": {
                    "purposes": ["diet_offers", "newsletter"],
                    "identifiers": {"email": "email"},
                    "categories": {"email": "contact", "purpose": "profile", "granted": "profile"},
                    "erasure": {"strategy": "delete"},
                    "consent": {
                        "key_column": "purpose",
                        "state_column": "granted",
                        "withdrawn_at_column": "withdrawn_at",
                    },
                },
            },
        },
    }
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")


@pytest.fixture
def worker(engine_env, celery_worker_process):
    return celery_worker_process


def limit(language: str = "en") -> Request:
    """File a Californian's request to limit, as the members' app does for a logged-in member."""
    return request_submit(
        right="objection",
        email=EMAIL,
        actor=Actor.integration("members-app"),
        language=language,
        jurisdiction="us-ca",
        details={"scope": "sensitive"},
        pre_verified=True,
    ).request


def _consents(shop: Path) -> list[tuple]:
    with closing(sqlite3.connect(shop)) as conn:
        return conn.execute("SELECT purpose, granted FROM diet_consent ORDER BY purpose").fetchall()


def test_a_limit_withdraws_the_sensitive_purposes_consent_and_tells_the_partner_and_the_person(
    worker, tmp_path, wait_until
):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop)

    request = limit()
    reach(request, Status.COMPLETED, wait_until)

    assert _consents(shop) == [("diet_offers", 0), ("newsletter", 1)]
    assert set(request.restrictions.values_list("ground", "purpose")) == {(LIMIT_SENSITIVE, "diet_offers")}
    assert restriction_check(EMAIL, "diet_offers")
    assert not restriction_check(EMAIL, "newsletter")

    messages_all_sent(request, wait_until)
    [notice] = [m for m in worker.outbox() if m["To"] == PARTNER]
    assert request.reference in notice["Subject"]
    # Notices to recipients go in the deployment's language (Danish here).
    assert "anmodning om at begrænse brugen af følsomme personoplysninger" in " ".join(notice["Subject"].split())
    words = " ".join(text(notice).split())
    assert "Cal. Code Regs. tit. 11, § 7027(g)" in words
    assert "artikel 19" not in words
    assert f"- E-mail: {EMAIL}" in text(notice)
    assert RecipientNotification.objects.get(request=request).recipient_key == "nutripartner"

    body = " ".join(text(sent_to_person(worker, request, "completed", wait_until)).split())
    assert "(Right to limit the use of sensitive personal information (Cal. Civ. Code § 1798.121))" in body
    assert "We have recorded in our register that we no longer use it for: Diet offers from partners." in body
    assert 'Your consent to "Diet offers from partners" was withdrawn in: Web shop.' in body
    assert "We have told those we had disclosed it to: NutriPartner Inc. " in f"{body} "
    assert "Inc.." not in body  # the company's own full stop ends the sentence


def test_a_limit_with_nothing_left_to_change_tells_nobody_and_says_so_in_danish(worker, tmp_path, wait_until):
    shop = shop_build(tmp_path / "shop.sqlite3", diet_offers_granted=0)
    map_load(shop)

    request = limit(language="da")
    reach(request, Status.COMPLETED, wait_until)

    assert _consents(shop) == [("diet_offers", 0), ("newsletter", 1)]
    body = " ".join(text(sent_to_person(worker, request, "completed", wait_until)).split())
    assert "Ret til at begrænse brugen af følsomme personoplysninger" in body
    assert "Kosttilbud fra partnere" in body
    assert "givet besked" not in body
    assert not RecipientNotification.objects.filter(request=request).exists()
    assert not [m for m in worker.outbox() if m["To"] == PARTNER]

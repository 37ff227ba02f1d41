"""Ad-platform audiences and consent withdrawal, with a real worker, against local fakes of Meta and Google.

A small shop (SQLite: customer, consent, newsletter_subscription) ties the newsletter and retargeting
consents to its rows and the retargeting purpose to a Meta custom audience and a Google Customer Match
list. The tests withdraw consent, erase, and read what the worker sent and what the fakes now hold.
"""

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.demo.demo_platforms import (
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_DEVELOPER_TOKEN,
    GOOGLE_REFRESH_TOKEN,
    GOOGLE_USER_LIST,
    META_AUDIENCE,
    META_TOKEN,
)
from dsr.models import ManualTask, Right, Status
from tests.e2e.test_truthful_outcomes import approve, file, reach, sent_to_person, tasks_complete, text
from tests.e2e.test_worker_jobs import engine_env  # noqa: F401  (the fixture, reused)
from tests.sources.maps import BASE_MAP
from tests.sources.platforms import google, meta  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.e2e

EMAIL = "mette.hansen@example.dk"
HASH = hashlib.sha256(EMAIL.encode()).hexdigest()


def shop_build(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);
            CREATE TABLE consent (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer (id),
                purpose TEXT NOT NULL, granted BOOLEAN NOT NULL, withdrawn_at TIMESTAMP);
            CREATE TABLE newsletter_subscription (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
            INSERT INTO customer VALUES (1, 'mette.hansen@example.dk', 'Mette Hansen');
            INSERT INTO consent VALUES (1, 1, 'newsletter', 1, NULL), (2, 1, 'ad_retargeting', 1, NULL);
            INSERT INTO newsletter_subscription VALUES (1, 'mette.hansen@example.dk');
            """
        )
    return path


def map_load(shop: Path, meta_url: str, google_url: str, *, google_token: str = GOOGLE_REFRESH_TOKEN) -> None:
    document = dict(BASE_MAP)
    document["purposes"] = {
        **BASE_MAP["purposes"],
        "newsletter": {**BASE_MAP["purposes"]["newsletter"], "consent_key": "newsletter", "categories": ["marketing"]},
        "ad_retargeting": {
            "name": {"da": "Målrettede annoncer", "en": "Targeted advertising"},
            "legal_basis": ["a"],
            "consent_key": "ad_retargeting",
            "retention": {"da": "Indtil tilbagetrækning", "en": "Until withdrawn"},
            "retention_rule": {"after": "last_activity", "days": 180},
            "categories": ["contact", "marketing"],
        },
    }
    document["recipients"] = {
        "facebook": {
            "name": "Meta Platforms Ireland Ltd.",
            "role": "controller",
            "country": "IE",
            "countries": ["IE", "US"],
            "safeguard": {"da": "Tilstrækkelighedsafgørelse (DPF)", "en": "Adequacy decision (DPF)"},
            "purposes": ["ad_retargeting"],
        },
        "google": {
            "name": "Google Ireland Limited",
            "role": "controller",
            "country": "IE",
            "countries": ["IE", "US"],
            "safeguard": {"da": "Tilstrækkelighedsafgørelse (DPF)", "en": "Adequacy decision (DPF)"},
            "purposes": ["ad_retargeting"],
        },
    }
    common = {
        "purposes": ["ad_retargeting"],
        "origin": {"da": "Fra webshoppen", "en": "From the web shop"},
        "provided_by_subject": [],
        "owner": "Marketing team",
        "retries": 1,
        "backoff_seconds": 0.01,
    }
    document["sources"] = {
        "shop": {
            "name": {"da": "Webshop", "en": "Web shop"},
            "kind": "sql",
            "purposes": ["account", "newsletter", "ad_retargeting"],
            "origin": {"da": "Fra dig", "en": "From you"},
            "url": f"sqlite:///{shop}",
            "tables": {
                "customer": {
                    "identifiers": {"email": "email"},
                    "categories": {"email": "contact", "name": "identity"},
                    "erasure": {"strategy": "anonymise", "fields": {"email": "hash", "name": "redact"}},
                },
                "consent": {
                    "link": {"table": "customer", "columns": {"customer_id": "id"}},
                    "categories": {"purpose": "marketing", "granted": "marketing"},
                    "erasure": {"strategy": "delete"},
                    "consent": {
                        "key_column": "purpose",
                        "state_column": "granted",
                        "withdrawn_at_column": "withdrawn_at",
                    },
                },
                "newsletter_subscription": {
                    "identifiers": {"email": "email"},
                    "categories": {"email": "contact"},
                    "erasure": {"strategy": "delete"},
                    "withdrawal": {"consents": ["newsletter"], "action": "delete"},
                },
            },
        },
        "meta": {
            **common,
            "name": {"da": "Meta-målgrupper", "en": "Meta custom audiences"},
            "kind": "meta_audience",
            "recipients": ["facebook"],
            "url": meta_url,
            "access_token": META_TOKEN,
            "audiences": {
                "retargeting": {"id": META_AUDIENCE, "name": {"da": "Genbesøgende", "en": "Returning visitors"}}
            },
        },
        "google": {
            **common,
            "name": {"da": "Google Ads-kundelister", "en": "Google Ads customer lists"},
            "kind": "google_ads",
            "recipients": ["google"],
            "url": google_url,
            "token_url": f"{google_url}/token",
            "developer_token": GOOGLE_DEVELOPER_TOKEN,
            "client_id": GOOGLE_CLIENT_ID,
            "client_secret": GOOGLE_CLIENT_SECRET,
            "refresh_token": google_token,
            "customer_id": "123-456-7890",
            "login_customer_id": "111-222-3333",
            "audiences": {"retargeting": {"id": GOOGLE_USER_LIST, "name": "Returning visitors"}},
        },
    }
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")


@pytest.fixture
def worker(engine_env, celery_worker_process):
    return celery_worker_process


@pytest.fixture
def team(django_user_model) -> Actor:
    user = django_user_model.objects.create_user("privacy", email="privacy@shop.example", password="x" * 16)
    return Actor.staff(user)


def _rows(shop: Path, query: str) -> list:
    with closing(sqlite3.connect(shop)) as conn:
        return conn.execute(query).fetchall()


def test_withdrawing_consent_changes_every_row_and_audience_the_map_ties_to_it(
    worker, tmp_path, meta, google, wait_until
):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop, meta.url, google.url)

    request = file(Right.CONSENT_WITHDRAWAL, EMAIL, consents=["newsletter", "ad_retargeting"])
    reach(request, Status.COMPLETED, wait_until)

    assert _rows(shop, "SELECT purpose, granted FROM consent ORDER BY id") == [("newsletter", 0), ("ad_retargeting", 0)]
    assert _rows(shop, "SELECT count(*) FROM newsletter_subscription") == [(0,)]
    assert (META_AUDIENCE, HASH) not in meta.store.members
    assert (GOOGLE_USER_LIST, HASH) not in google.store.members
    body = " ".join(text(sent_to_person(worker, request, "completed", wait_until)).split())
    assert (
        'Meta custom audiences, audience "Returning visitors": the platform confirmed it received 1 hashed identifier'
        in body
    )
    assert (
        'Google Ads customer lists, audience "Returning visitors": the platform confirmed it received 1 hashed' in body
    )
    assert "Web shop: newsletter_subscription (1 record)" in body


def test_without_google_credentials_the_marketing_team_removes_the_hash_by_hand_in_danish(
    worker, tmp_path, meta, google, team, wait_until, monkeypatch
):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop, meta.url, google.url, google_token="${env:DSR_TEST_GOOGLE_UNSET:-}")

    request = file(Right.CONSENT_WITHDRAWAL, EMAIL, language="da", consents=["ad_retargeting"])
    task = wait_until(lambda: ManualTask.objects.filter(request=request, source_key="google").first(), timeout=60)
    assert HASH in task.instructions
    assert GOOGLE_USER_LIST in task.instructions
    assert "Fjern personen" in task.instructions
    tasks_complete(request, "done", team, wait_until, source="google")
    reach(request, Status.COMPLETED, wait_until)

    assert google.calls == []
    assert (META_AUDIENCE, HASH) not in meta.store.members
    body = " ".join(text(sent_to_person(worker, request, "completed", wait_until)).split())
    assert (
        'Meta-målgrupper, målgruppen "Genbesøgende": platformen har bekræftet at have modtaget 1 hashet identifikator'
        in body
    )
    assert "Google Ads-kundelister" in body


def test_erasure_removes_the_person_from_both_audiences(worker, tmp_path, meta, google, team, wait_until):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop, meta.url, google.url)

    request = file(Right.ERASURE, EMAIL)
    approve(request, team, wait_until)
    reach(request, Status.COMPLETED, wait_until)

    assert (META_AUDIENCE, HASH) not in meta.store.members
    assert (GOOGLE_USER_LIST, HASH) not in google.store.members


@pytest.mark.parametrize("meta", ["expired_token"], indirect=True)
def test_an_expired_meta_token_leaves_the_request_open_and_says_nothing_was_removed(
    worker, tmp_path, meta, google, wait_until
):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop, meta.url, google.url)

    request = file(Right.CONSENT_WITHDRAWAL, EMAIL, consents=["ad_retargeting"])
    job = wait_until(
        lambda: request.jobs.filter(source_key="meta", status="failed").first(), timeout=60, what="the failed job"
    )
    assert "190" in job.last_error
    assert (META_AUDIENCE, HASH) in meta.store.members
    # Google's job runs beside Meta's and takes four calls: the person leaves its list once it is done.
    wait_until(
        lambda: request.jobs.filter(source_key="google", status="done").exists(), timeout=60, what="Google's job"
    )
    assert (GOOGLE_USER_LIST, HASH) not in google.store.members
    request.refresh_from_db()
    assert request.status != Status.COMPLETED


def test_an_objection_to_direct_marketing_removes_the_person_from_both_audiences(
    worker, tmp_path, meta, google, wait_until
):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop, meta.url, google.url)

    request = file(Right.OBJECTION, EMAIL, scope="direct_marketing")
    reach(request, Status.COMPLETED, wait_until)

    assert (META_AUDIENCE, HASH) not in meta.store.members
    assert (GOOGLE_USER_LIST, HASH) not in google.store.members
    body = " ".join(text(sent_to_person(worker, request, "completed", wait_until)).split())
    assert "the platform confirmed it received 1 hashed identifier" in body

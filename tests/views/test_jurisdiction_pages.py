"""The country of residence on the portal, the API and the staff pages, and statistics per profile."""

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from dsr import stats, workflow
from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.models import Request

pytestmark = pytest.mark.django_db
DEMO_MAP = Path(__file__).resolve().parents[2] / "dsr" / "demo" / "datamap.yaml"
TZ = timezone.get_default_timezone()


def _form_token(response) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', response.content.decode()).group(1)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def test_the_portal_asks_the_country_and_files_under_its_law(client, commit):
    page = client.get("/request/access/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'name="jurisdiction"' in html
    assert '<option value="dk" selected>Denmark</option>' in html
    assert "California (USA)" in html
    # A Californian's authorised agent files on a page of its own (CCPA regs § 7063): the form points there.
    assert "the page for authorised agents</a>" in html
    assert 'href="/agent/"' in html
    response = commit(
        client.post,
        "/request/access/",
        {"email": "a@example.se", "jurisdiction": "se", "form_token": _form_token(page)},
    )
    assert response.status_code == 302
    assert Request.objects.get().jurisdiction == "se"


def test_the_portal_refuses_a_right_the_country_does_not_give_and_stores_nothing(client, commit):
    page = client.get("/request/restriction/", HTTP_ACCEPT_LANGUAGE="en")
    response = commit(
        client.post,
        "/request/restriction/",
        {"email": "a@example.com", "ground": "legal_claims", "jurisdiction": "us-ca", "form_token": _form_token(page)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "not offered under the law of California (USA)" in response.content.decode()
    assert not Request.objects.exists()


def test_the_api_takes_the_jurisdiction_and_reports_it(commit):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    with time_machine.travel(datetime(2026, 3, 31, 10, 0, tzinfo=TZ), tick=False):
        created = commit(
            api.post,
            "/api/v1/requests/",
            {"right": "erasure", "email": "a@example.com", "language": "en", "jurisdiction": "us-ca"},
            format="json",
        )
    assert created.status_code == 201, created.content
    assert created.json()["due_date"] == "2026-05-14"
    status = api.get(
        f"/api/v1/requests/{created.json()['reference']}/", HTTP_X_STATUS_TOKEN=created.json()["status_token"]
    )
    assert status.json()["jurisdiction"] == "us-ca"


def test_the_api_refuses_an_unknown_jurisdiction_and_stores_nothing(commit):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    response = commit(
        api.post,
        "/api/v1/requests/",
        {"right": "access", "email": "a@example.com", "jurisdiction": "zz"},
        format="json",
    )
    assert response.status_code == 400
    assert "jurisdiction" in response.json()["error"]["fields"]
    assert not Request.objects.exists()


def _demo_map_load(*, sensitive: bool) -> None:
    """Load the demo map; without ``sensitive`` no purpose is marked as using sensitive information beyond § 7027(m)."""
    document = yaml.safe_load(DEMO_MAP.read_text(encoding="utf-8"))
    if not sensitive:
        for purpose in document["purposes"].values():
            purpose.pop("sensitive_beyond_permitted", None)
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")


LIMIT_CHOICE = "Limit the use of my sensitive personal information (California residents)"


def test_the_portal_offers_the_californian_limit_where_the_map_marks_a_purpose_and_files_it(client, commit):
    _demo_map_load(sensitive=True)
    page = client.get("/request/objection/", HTTP_ACCEPT_LANGUAGE="en")
    assert LIMIT_CHOICE in page.content.decode()
    response = commit(
        client.post,
        "/request/objection/",
        {"email": "a@example.com", "scope": "sensitive", "jurisdiction": "us-ca", "form_token": _form_token(page)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302, response.content.decode()
    request = Request.objects.get()
    assert (request.jurisdiction, request.right, request.details) == ("us-ca", "objection", {"scope": "sensitive"})
    # The status page names the right as the law does.
    page = client.get(f"/status/{request.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert (
        "Right to limit the use of sensitive personal information (Cal. Civ. Code § 1798.121)" in page.content.decode()
    )


def test_the_portal_refuses_the_limit_under_a_gdpr_country_and_stores_nothing(client, commit):
    _demo_map_load(sensitive=True)
    page = client.get("/request/objection/", HTTP_ACCEPT_LANGUAGE="en")
    response = commit(
        client.post,
        "/request/objection/",
        {"email": "a@example.dk", "scope": "sensitive", "jurisdiction": "dk", "form_token": _form_token(page)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Under the law of Denmark this request can only be one of" in response.content.decode()
    assert not Request.objects.exists()


def test_the_portal_does_not_offer_the_limit_where_the_map_marks_no_purpose(client, commit):
    _demo_map_load(sensitive=False)
    page = client.get("/request/objection/", HTTP_ACCEPT_LANGUAGE="en")
    assert LIMIT_CHOICE not in page.content.decode()
    assert 'value="direct_marketing"' in page.content.decode()
    response = commit(
        client.post,
        "/request/objection/",
        {"email": "a@example.com", "scope": "sensitive", "jurisdiction": "us-ca", "form_token": _form_token(page)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert not Request.objects.exists()


@pytest.mark.parametrize(
    ("sensitive", "jurisdiction", "status", "message"),
    [
        (True, "us-ca", 201, ""),
        (True, "se", 400, "Under the law of Sweden this request can only be one of"),
        (False, "us-ca", 400, "so there is nothing to limit"),
    ],
)
def test_the_api_files_a_limit_only_under_california_and_where_the_map_marks_a_purpose(
    commit, sensitive, jurisdiction, status, message
):
    _demo_map_load(sensitive=sensitive)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    with time_machine.travel(datetime(2026, 3, 31, 10, 0, tzinfo=TZ), tick=False):
        response = commit(
            api.post,
            "/api/v1/requests/",
            {
                "right": "objection",
                "email": "a@example.com",
                "language": "en",
                "jurisdiction": jurisdiction,
                "details": {"scope": "sensitive"},
            },
            format="json",
        )
    assert response.status_code == status, response.content
    if status == 201:
        # CCPA regs § 7027(g)(1): 15 business days of California from Tuesday 31 March 2026 (no holiday between).
        assert response.json()["due_date"] == "2026-04-21"
        assert Request.objects.get().details == {"scope": "sensitive"}
        status = api.get(
            f"/api/v1/requests/{response.json()['reference']}/", HTTP_X_STATUS_TOKEN=response.json()["status_token"]
        )
        assert status.json()["right_label"] == (
            "Right to limit the use of sensitive personal information (Cal. Civ. Code § 1798.121)"
        )
    else:
        assert message in response.json()["error"]["fields"]["scope"][0]
        assert not Request.objects.exists()


def _filed(jurisdiction: str, received: datetime) -> Request:
    request = workflow.request_submit(
        right="access",
        email="p@example.com",
        actor=Actor.system(),
        channel="letter",
        received_at=received,
        jurisdiction=jurisdiction,
    ).request
    return workflow.request_identity_check(request=request, method="staff_check", actor=Actor.system())


def test_statistics_count_each_profile_and_a_californian_wait_is_overdue(auditor_client):
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=TZ), tick=False):
        _filed("dk", timezone.now())
        _filed("se", timezone.now())
        waiting_dk = _filed("dk", timezone.now())
        waiting_ca = _filed("us-ca", timezone.now())
        for waiting in (waiting_dk, waiting_ca):
            workflow.request_suspend(request=waiting, reason="clarification", note="Which?", actor=Actor.system())
    rows = {
        profile.code: figures.received
        for profile, figures in stats.summary_by_jurisdiction(start=date(2026, 1, 1), end=date(2026, 1, 31))
    }
    assert rows == {"dk": 2, "se": 1, "us-ca": 1}
    # The two DK/SE requests with running clocks and the Californian one whose clock never stops; not the waiting DK.
    assert stats.open_overdue_count(today=date(2026, 3, 1)) == 3
    with time_machine.travel(datetime(2026, 1, 31, 9, 0, tzinfo=TZ), tick=False):
        page = auditor_client.get("/dashboard/statistics/", {"months": 1})
        download = auditor_client.get("/dashboard/statistics.csv", {"months": 1})
    assert 'data-testid="by-jurisdiction"' in page.content.decode()
    figures = {row[0]: row[1] for row in csv.reader(io.StringIO(download.content.decode())) if len(row) == 2}
    assert figures["jurisdiction_dk_received"] == "2"
    assert figures["jurisdiction_us-ca_received"] == "1"


def test_the_staff_page_shows_the_law_and_the_receipt_deadline(agent_client):
    with time_machine.travel(datetime(2026, 3, 30, 9, 0, tzinfo=TZ), tick=False):
        request = _filed("us-ca", timezone.now())
        html = agent_client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "California Consumer Privacy Act" in html
    assert "the clock never stops" in html
    assert 'data-testid="receipt"' in html
    assert "Receipt due" in html
    assert "within 10 business days" in html

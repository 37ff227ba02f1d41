"""Other systems ask the restriction register and the suppression list before processing someone."""

import pytest
from rest_framework.test import APIClient

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Right
from dsr.restrictions import restrictions_record
from dsr.suppression import suppression_add
from tests.api.conftest import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(auditor):
    """The registers answer every staff role, read-only ones too."""
    return verified_client(auditor)


@pytest.fixture
def request_row():
    return workflow.request_submit(
        right=Right.RESTRICTION,
        email="kunde@example.dk",
        actor=Actor.subject(),
        details={"ground": "accuracy_contested"},
    ).request


def test_a_restricted_purpose_is_reported_for_any_spelling_of_the_address(staff_api, request_row):
    restrictions_record(
        request=request_row,
        identifiers={"email": ["kunde@example.dk"]},
        ground="accuracy_contested",
        purposes=["newsletter"],
    )
    url = "/api/v1/restrictions/check/"
    assert staff_api.get(url, {"identifier": " KUNDE@example.dk ", "purpose": "newsletter"}).json() == {
        "restricted": True
    }
    assert staff_api.get(url, {"identifier": "kunde@example.dk", "purpose": "orders"}).json() == {"restricted": False}
    assert staff_api.get(url, {"identifier": "someone@example.dk", "purpose": "newsletter"}).json() == {
        "restricted": False
    }


def test_a_restriction_of_every_purpose_answers_for_any_purpose(staff_api, request_row):
    restrictions_record(request=request_row, identifiers={"email": ["kunde@example.dk"]}, ground="legal_claims")
    response = staff_api.get("/api/v1/restrictions/check/", {"identifier": "kunde@example.dk", "purpose": "orders"})
    assert response.json() == {"restricted": True}


def test_the_suppression_list_answers_yes_or_no_only(staff_api, request_row):
    suppression_add(request=request_row, identifiers={"email": ["kunde@example.dk"]}, reason="erasure")
    yes = staff_api.get("/api/v1/suppressions/check/", {"identifier": "Kunde@Example.dk"})
    no = staff_api.get("/api/v1/suppressions/check/", {"identifier": "other@example.dk"})
    assert yes.json() == {"suppressed": True}
    assert no.json() == {"suppressed": False}


def test_missing_or_bad_parameters_get_a_clear_400(staff_api):
    missing = staff_api.get("/api/v1/restrictions/check/", {"identifier": "kunde@example.dk"})
    assert missing.status_code == 400
    assert "purpose" in missing.json()["error"]["fields"]
    bad_kind = staff_api.get("/api/v1/suppressions/check/", {"identifier": "x", "kind": "passport"})
    assert bad_kind.status_code == 400
    assert "kind" in bad_kind.json()["error"]["fields"]


def test_anonymous_callers_are_asked_to_authenticate_and_learn_nothing(request_row):
    suppression_add(request=request_row, identifiers={"email": ["kunde@example.dk"]}, reason="erasure")
    anonymous = APIClient()
    for url in ("/api/v1/suppressions/check/", "/api/v1/restrictions/check/"):
        response = anonymous.get(url, {"identifier": "kunde@example.dk", "purpose": "newsletter"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
        assert "suppressed" not in response.json()

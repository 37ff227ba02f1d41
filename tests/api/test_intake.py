"""The intake API: file, confirm with the code, read the status; clear errors, nothing changed."""

import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from dsr.models import AuditEvent, Request, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def file(api, django_capture_on_commit_callbacks):
    def post(payload: dict, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post("/api/v1/requests/", payload, format="json", **extra)

    return post


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_file_confirm_and_follow_a_request(api, file, django_capture_on_commit_callbacks):
    response = file({"right": "access", "email": "kunde@example.dk", "language": "en"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending_verification"
    assert body["verification_required"] is True
    reference, token = body["reference"], body["status_token"]

    with django_capture_on_commit_callbacks(execute=True):
        verified = api.post(f"/api/v1/requests/{reference}/verify/", {"code": _code()}, format="json")
    assert verified.status_code == 200, verified.content
    assert verified.json()["status"] == "in_progress"

    status = api.get(f"/api/v1/requests/{reference}/", HTTP_X_STATUS_TOKEN=token)
    assert status.status_code == 200
    data = status.json()
    assert data["reference"] == reference
    assert data["right"] == "access"
    assert data["clock_stopped"] is False
    assert isinstance(data["days_left"], int)
    assert "email" not in data
    assert "kunde@example.dk" not in status.content.decode()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"right": "teleport", "email": "a@example.dk"}, "right"),
        ({"right": "access", "email": "not an email"}, "email"),
        ({"right": "access"}, "email"),
        ({"right": "access", "email": "a@example.dk", "name": "x" * 500}, "name"),
        ({"right": "restriction", "email": "a@example.dk", "details": {"ground": "whim"}}, "ground"),
        ({"right": "access", "email": "a@example.dk", "details": "not an object"}, "details"),
        ({"right": "access", "email": "a@example.dk", "language": "fr"}, "language"),
    ],
)
def test_bad_input_gets_a_400_naming_the_field_and_stores_nothing(file, payload, field):
    response = file(payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Request.objects.exists()
    assert not mail.outbox


def test_malformed_json_gets_a_clear_400(api):
    response = api.post("/api/v1/requests/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_oversized_body_is_refused(api, settings):
    response = api.post(
        "/api/v1/requests/",
        {"right": "access", "email": "a@example.dk", "details": {"description": "x" * 300_000}},
        format="json",
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Request.objects.exists()


def test_wrong_code_is_a_400_and_the_request_stays_unconfirmed(api, file):
    reference = file({"right": "access", "email": "a@example.dk"}).json()["reference"]
    wrong = f"{(int(_code()) + 1) % 1_000_000:06d}"
    response = api.post(f"/api/v1/requests/{reference}/verify/", {"code": wrong}, format="json")
    assert response.status_code == 400
    assert "attempts left" in response.json()["error"]["message"]
    assert Request.objects.get(reference=reference).status == Status.PENDING_VERIFICATION


def test_too_many_wrong_codes_lock_the_code(api, file, settings):
    settings.DSR_VERIFICATION_MAX_ATTEMPTS = 2
    reference = file({"right": "access", "email": "a@example.dk"}).json()["reference"]
    wrong = f"{(int(_code()) + 1) % 1_000_000:06d}"
    api.post(f"/api/v1/requests/{reference}/verify/", {"code": wrong}, format="json")
    response = api.post(f"/api/v1/requests/{reference}/verify/", {"code": wrong}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "locked"


def test_verifying_twice_is_a_conflict(api, file):
    reference = file({"right": "access", "email": "a@example.dk"}).json()["reference"]
    code = _code()
    assert api.post(f"/api/v1/requests/{reference}/verify/", {"code": code}, format="json").status_code == 200
    again = api.post(f"/api/v1/requests/{reference}/verify/", {"code": code}, format="json")
    assert again.status_code == 409


def test_status_with_a_wrong_token_or_unknown_reference_is_the_same_404(api, file):
    reference = file({"right": "access", "email": "a@example.dk"}).json()["reference"]
    wrong_token = api.get(f"/api/v1/requests/{reference}/", HTTP_X_STATUS_TOKEN="guess")
    unknown = api.get("/api/v1/requests/DSR-AAAA-BBBB-CCCC-DDDD/", HTTP_X_STATUS_TOKEN="guess")
    missing = api.get(f"/api/v1/requests/{reference}/")
    assert wrong_token.status_code == unknown.status_code == missing.status_code == 404
    assert wrong_token.json() == unknown.json()


def test_resend_code_needs_the_token_and_is_rate_limited(api, file, django_capture_on_commit_callbacks):
    body = file({"right": "access", "email": "a@example.dk"}).json()
    url = f"/api/v1/requests/{body['reference']}/resend-code/"
    assert api.post(url).status_code == 404
    response = api.post(url, HTTP_X_STATUS_TOKEN=body["status_token"])
    assert response.status_code == 429  # a code went out a moment ago


def test_filing_is_rate_limited_per_email_with_a_clear_error(file, settings):
    settings.DSR_INTAKE_RATE_PER_EMAIL = "2/hour"
    # Two different filings (the same one twice would be one request, answered 200).
    for name in ("Ida", "Ida Hansen"):
        assert file({"right": "access", "email": "same@example.dk", "name": name}).status_code == 201
    response = file({"right": "access", "email": "SAME@example.dk"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert Request.objects.count() == 2
    assert file({"right": "access", "email": "other@example.dk"}).status_code == 201


def test_the_answer_does_not_depend_on_whether_we_know_the_email(file):
    known = file({"right": "erasure", "email": "known@example.dk"}).json()
    unknown = file({"right": "erasure", "email": "stranger@example.dk"}).json()
    assert set(known) == set(unknown)
    assert known["status"] == unknown["status"]


def test_filing_writes_an_audit_event_without_the_email(file):
    file({"right": "access", "email": "private.person@example.dk"})
    event = AuditEvent.objects.get(action="request.submitted")
    assert event.data["channel"] == "api"
    assert "private.person" not in str(event.data)


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/requests/" in paths
    assert "/api/v1/requests/{reference}/verify/" in paths
    assert client.get("/api/docs/").status_code == 200


def test_a_caller_without_a_client_address_is_still_rate_limited_not_an_error(file):
    # Some WSGI servers leave REMOTE_ADDR out; the limits then count under one empty address.
    response = file({"right": "access", "email": "a@example.dk"}, REMOTE_ADDR=None)
    assert response.status_code == 201

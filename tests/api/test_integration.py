"""The integration API: verified filing by key, idempotency, scopes, listing, staff actions, consents, registers."""

import json

import pytest
from django.test import Client

from dsr import workflow
from dsr.audit import Actor
from dsr.models import AuditEvent, Request, Right, Status, VerificationMethod
from dsr.requests import REFUSAL_TEMPLATES
from dsr.suppression import suppression_add
from tests.api.conftest import verified_client

pytestmark = pytest.mark.django_db

ACCESS = {"right": "access", "email": "kunde@example.dk", "language": "en"}


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Return `post(client, url, body, **headers)` running the after-commit work (emails, jobs)."""

    def send(client, url: str, body, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, body, format="json", **headers)

    return send


@pytest.fixture
def in_progress():
    """Return `make(**overrides)`: a request verified by an integration, in progress."""

    def make(**overrides) -> Request:
        values = {"right": Right.ACCESS, "email": "kunde@example.dk", "pre_verified": True} | overrides
        return workflow.request_submit(actor=Actor.integration("test"), **values).request

    return make


# --- Filing --------------------------------------------------------------------------


def test_a_key_files_a_verified_request_and_the_audit_names_the_key(make_key, post):
    key, token = make_key(["requests:create"])
    api = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {token}")
    response = post(api, "/api/v1/requests/", json.dumps(ACCESS), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "in_progress"
    assert body["verification_required"] is False
    request = Request.objects.get(reference=body["reference"])
    assert request.verification_method == VerificationMethod.INTEGRATION
    assert request.channel == "api"
    event = AuditEvent.objects.get(action="request.submitted", request=request)
    assert (event.actor_type, event.actor_id) == ("integration", f"apikey:{key.prefix}")
    assert event.data["pre_verified"] is True
    # A receipt, not a confirmation code: the integration vouched for its customer.
    assert list(request.messages.values_list("kind", flat=True)) == ["receipt"]
    assert not request.challenges.exists()


def test_the_public_intake_still_files_unverified_without_a_key(post):
    response = post(Client(), "/api/v1/requests/", json.dumps(ACCESS), content_type="application/json")
    assert response.status_code == 201
    assert response.json()["status"] == "pending_verification"
    event = AuditEvent.objects.get(action="request.submitted")
    assert event.actor_type == "subject"


def test_a_retried_post_with_the_same_idempotency_key_files_one_request(integration, post):
    first = post(integration, "/api/v1/requests/", ACCESS, HTTP_IDEMPOTENCY_KEY="order-77-access")
    again = post(integration, "/api/v1/requests/", ACCESS, HTTP_IDEMPOTENCY_KEY="order-77-access")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    assert again.json()["status_token"] == first.json()["status_token"]
    assert Request.objects.count() == 1


def test_the_same_idempotency_key_with_a_different_body_is_a_409_and_files_nothing(integration, post):
    post(integration, "/api/v1/requests/", ACCESS, HTTP_IDEMPOTENCY_KEY="k-1")
    changed = post(integration, "/api/v1/requests/", {**ACCESS, "name": "Other"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert Request.objects.count() == 1


def test_idempotency_keys_are_scoped_to_the_integration(key_client, post):
    first = post(key_client(), "/api/v1/requests/", ACCESS, HTTP_IDEMPOTENCY_KEY="1")
    other = post(key_client(), "/api/v1/requests/", ACCESS, HTTP_IDEMPOTENCY_KEY="1")
    assert first.status_code == other.status_code == 201
    assert first.json()["reference"] != other.json()["reference"]


def test_a_malformed_idempotency_key_is_a_400(integration, post):
    response = post(integration, "/api/v1/requests/", ACCESS, HTTP_IDEMPOTENCY_KEY="x" * 101)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Request.objects.exists()


def test_consent_withdrawal_is_filed_verified(integration, post):
    body = {"email": "kunde@example.dk", "consents": ["newsletter"], "language": "da"}
    response = post(integration, "/api/v1/consents/withdraw/", body, HTTP_IDEMPOTENCY_KEY="w-1")
    assert response.status_code == 201, response.content
    request = Request.objects.get(reference=response.json()["reference"])
    assert request.right == Right.CONSENT_WITHDRAWAL
    assert request.details == {"consents": ["newsletter"]}
    assert request.verified_at is not None
    assert post(integration, "/api/v1/consents/withdraw/", body, HTTP_IDEMPOTENCY_KEY="w-1").status_code == 200
    assert Request.objects.count() == 1


# --- Keys and scopes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer dsr_00000000_" + "a" * 43, "invalid_key"),
        ("Bearer", "invalid_key"),
        ("Bearer two parts", "invalid_key"),
    ],
)
def test_missing_or_wrong_keys_get_a_401_error_object(authorization, code):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Client().get("/api/v1/requests/", **headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_without_the_scope_gets_a_403_naming_it_and_nothing_changes(key_client, in_progress, post):
    request = in_progress()
    reader = key_client(["requests:read"])
    response = post(reader, f"/api/v1/requests/{request.reference}/actions/cancel/", {})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "scope_missing"
    assert "requests:act" in error["message"]
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    filing = post(reader, "/api/v1/requests/", ACCESS)
    assert filing.status_code == 403
    assert "requests:create" in filing.json()["error"]["message"]
    assert Request.objects.count() == 1


def test_registers_answer_keys_with_registers_read(key_client, in_progress):
    suppression_add(request=in_progress(), identifiers={"email": ["kunde@example.dk"]}, reason="erasure")
    allowed = key_client(["registers:read"]).get("/api/v1/suppressions/check/", {"identifier": "kunde@example.dk"})
    assert allowed.json() == {"suppressed": True}
    denied = key_client(["requests:read"]).get("/api/v1/suppressions/check/", {"identifier": "kunde@example.dk"})
    assert denied.status_code == 403
    assert "suppressed" not in denied.json()


# --- Reading and listing --------------------------------------------------------------


def test_a_key_reads_status_outcome_and_jobs_without_the_status_token(integration, in_progress):
    request = in_progress()
    response = integration.get(f"/api/v1/requests/{request.reference}/")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == request.reference
    assert body["status"] == "in_progress"
    assert set(body["jobs"]) == {"total", "done", "running", "failed"}
    assert "email" not in body


def test_an_unknown_reference_is_a_404_error_object(integration):
    response = integration.get("/api/v1/requests/DSR-NOPE-NOPE-NOPE-NOPE/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert integration.get("/api/v1/requests/%00weird/").status_code == 404


def test_the_list_filters_and_pages_by_cursor(integration, in_progress, monkeypatch):
    monkeypatch.setattr("dsr.views.staff.queue.PAGE_SIZE", 2)
    made = [in_progress(email=f"k{i}@example.dk") for i in range(3)]
    erasure = in_progress(right=Right.ERASURE)
    page = integration.get("/api/v1/requests/", {"right": "access"}).json()
    assert [row["reference"] for row in page["results"]] == [r.reference for r in made[:2]]
    assert page["total"] == 3
    rest = integration.get("/api/v1/requests/", {"right": "access", "cursor": page["next_cursor"]}).json()
    assert [row["reference"] for row in rest["results"]] == [made[2].reference]
    assert rest["next_cursor"] == ""
    found = integration.get("/api/v1/requests/", {"reference": erasure.reference}).json()
    assert [row["reference"] for row in found["results"]] == [erasure.reference]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "sleeping"},
        {"right": "teleport"},
        {"received_from": "2026-02-30"},
        {"received_from": "2026-03-02", "received_to": "2026-03-01"},
        {"cursor": "drop table"},
        {"assignee": "me"},
    ],
)
def test_bad_list_filters_get_a_400_naming_the_field(integration, query):
    response = integration.get("/api/v1/requests/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) & (set(query) | {"received_to"})


# --- Actions ---------------------------------------------------------------------------


def test_a_key_stops_and_restarts_the_clock_audited_as_the_integration(make_key, in_progress, post):
    key, token = make_key(["requests:act"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    request = in_progress()
    base = f"/api/v1/requests/{request.reference}/actions"
    suspended = post(
        api,
        f"{base}/suspend/",
        json.dumps({"reason": "clarification", "note": "Which orders?"}),
        content_type="application/json",
    )
    assert suspended.status_code == 200, suspended.content
    assert suspended.json()["status"] == "awaiting_subject"
    assert suspended.json()["clock_stopped"] is True
    resumed = post(api, f"{base}/resume/", "{}", content_type="application/json")
    assert resumed.json()["status"] == "in_progress"
    events = AuditEvent.objects.filter(request=request, action__in=["request.suspended", "request.resumed"])
    assert {(e.actor_type, e.actor_id) for e in events} == {("integration", f"apikey:{key.prefix}")}


def test_refuse_needs_a_ground_and_reasons(integration, in_progress, post):
    request = in_progress()
    url = f"/api/v1/requests/{request.reference}/actions/refuse/"
    bad = post(integration, url, {"ground": "whim"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"ground", "reasons"}
    opening_only = post(integration, url, {"ground": "excessive", "reasons": REFUSAL_TEMPLATES["excessive"]["da"]})
    assert opening_only.status_code == 400
    assert set(opening_only.json()["error"]["fields"]) == {"reasons"}
    done = post(integration, url, {"ground": "manifestly_unfounded", "reasons": "Answered last week."})
    assert done.status_code == 200
    assert done.json()["status"] == "refused"
    assert done.json()["refusal_ground"] == "manifestly_unfounded"


def test_an_action_out_of_order_is_a_409_and_changes_nothing(integration, in_progress, post):
    request = in_progress()
    response = post(integration, f"/api/v1/requests/{request.reference}/actions/resume/", {})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS


def test_assign_note_and_complete(integration, in_progress, agent, post):
    request = in_progress()
    base = f"/api/v1/requests/{request.reference}/actions"
    assert post(integration, f"{base}/assign/", {"assignee": agent.pk}).json()["assignee"] == agent.pk
    stranger = post(integration, f"{base}/assign/", {"assignee": 999999})
    assert stranger.status_code == 400
    assert "assignee" in stranger.json()["error"]["fields"]
    assert post(integration, f"{base}/note/", {"text": "Called back."}).status_code == 200
    assert request.notes.get().author is None
    completed = post(integration, f"{base}/complete/", {"partial": True, "reasons": "Paper archive gone."})
    assert completed.json()["status"] == "partially_completed"
    assert completed.json()["outcome_reasons"] == "Paper archive gone."


def test_retry_job_of_another_request_is_a_400(integration, in_progress, post):
    request = in_progress()
    response = post(integration, f"/api/v1/requests/{request.reference}/actions/retry-job/", {"job": 123456})
    assert response.status_code == 400
    assert "job" in response.json()["error"]["fields"]


# --- Staff sessions ---------------------------------------------------------------------


def test_an_auditor_reads_but_may_not_act_and_the_attempt_is_audited(auditor, in_progress):
    request = in_progress()
    client = verified_client(auditor)
    assert client.get("/api/v1/requests/").json()["results"][0]["reference"] == request.reference
    denied = client.post(f"/api/v1/requests/{request.reference}/actions/cancel/", "{}", content_type="application/json")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "role"
    assert AuditEvent.objects.filter(action="staff.denied", actor_id=str(auditor.pk)).exists()
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS


def test_an_agent_acts_through_the_session_with_csrf(agent, in_progress):
    request = in_progress()
    client = verified_client(agent)
    client.handler.enforce_csrf_checks = True
    url = f"/api/v1/requests/{request.reference}/actions/cancel/"
    without = client.post(url, "{}", content_type="application/json")
    assert without.status_code == 403
    assert "CSRF" in without.json()["error"]["message"]
    client.get("/dashboard/")
    token = client.cookies["csrftoken"].value
    done = client.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "cancelled"
    assert AuditEvent.objects.get(action="request.cancelled").actor_id == str(agent.pk)


def test_a_session_without_the_second_factor_is_refused(agent, in_progress):
    in_progress()
    client = Client()
    client.force_login(agent)
    response = client.get("/api/v1/requests/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"


# --- Bad bodies ---------------------------------------------------------------------------


def test_a_huge_body_is_a_413_and_files_nothing(integration, settings):
    body = json.dumps({**ACCESS, "details": {"description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}})
    response = integration.post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not Request.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["{not json", "[" * 100_000 + "]" * 100_000, '{"right": NaN}', b"\xff\xfe"],
)
def test_unreadable_json_is_a_400(integration, body):
    response = integration.post("/api/v1/requests/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert not Request.objects.exists()


@pytest.mark.parametrize("body", [[], "a string", 42, {"right": ["access"], "email": {"x": 1}}])
def test_wrong_types_are_a_400(integration, body):
    response = integration.post("/api/v1/requests/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Request.objects.exists()


def test_the_public_status_read_does_not_say_who_in_the_team_handles_it(integration, agent):
    result = workflow.request_submit(
        right=Right.ACCESS, email="kunde@example.dk", pre_verified=True, actor=Actor.integration("t")
    )
    workflow.request_assign(request=result.request, assignee=agent, actor=Actor.system())
    url = f"/api/v1/requests/{result.request.reference}/"
    assert integration.get(url).json()["assignee"] == agent.pk
    public = Client().get(url, HTTP_X_STATUS_TOKEN=result.status_token)
    assert public.status_code == 200
    assert public.json()["assignee"] is None

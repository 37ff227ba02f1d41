"""Processors' status callbacks at /api/v1/callbacks/<source>/: verified before parsing, accepted once."""

import json
import time
import uuid

import pytest
from django.test import Client

from dsr.models import AuditEvent, Job, JobStatus, Operation, ProcessorCallback
from dsr.sources.http import SIGNATURE_HEADER, signature_make
from tests.rights.conftest import (  # noqa: F401  (the engine's test company and its fixtures, reused)
    SECRET,
    chinook_sqlite,
    company,
    file,
    processor,
    run,
)

pytestmark = pytest.mark.django_db


def url(source: str = "adpartner") -> str:
    return f"/api/v1/callbacks/{source}/"


def post(body: bytes, *, source: str = "adpartner", secret: str | None = SECRET, at: float | None = None, **headers):
    """POST ``body`` signed with ``secret`` (unsigned if None) as a processor would."""
    if secret is not None:
        headers[f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}"] = signature_make(
            secret, body, timestamp=int(at if at is not None else time.time()), event_id=uuid.uuid4().hex
        )
    return Client().post(url(source), data=body, content_type="application/json", **headers)


def status_body(subject_request_id: str, status: str = "completed") -> bytes:
    return json.dumps({"subject_request_id": subject_request_id, "request_status": status}).encode()


@pytest.fixture
def waiting(company, file):
    """Return the ad partner's audience-removal job, waiting because the processor has not finished."""
    company.processor.mode = "pending"
    request = file("objection", scope="direct_marketing")
    job = request.jobs.get(source_key="adpartner", operation=Operation.AUDIENCE_REMOVAL)
    assert job.status == JobStatus.WAITING
    assert job.not_before is not None
    company.processor.mode = "normal"
    return job


def error_of(response) -> dict:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_a_signed_callback_has_the_waiting_job_look_at_the_processor_now(waiting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(status_body(waiting.result["reference"]))

    assert response.status_code == 202
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.DONE
    event = AuditEvent.objects.get(action="job.callback_received")
    assert event.data == {"job": waiting.pk, "source": "adpartner", "status": "completed", "requeued": True}
    assert event.actor_type == "integration"


def test_a_callback_for_an_access_request_still_at_the_processor_finds_its_job(
    company,
    file,
    django_capture_on_commit_callbacks,
):
    company.processor.mode = "pending"
    request = file("access")
    job = request.jobs.get(source_key="adpartner", operation=Operation.ACCESS)
    # Backing off after the processor's "not finished yet".
    assert job.status == JobStatus.QUEUED
    assert job.not_before is not None
    [sent] = [rid for rid, r in company.processor.requests.items() if r["type"] == "access"]
    company.processor.mode = "normal"

    with django_capture_on_commit_callbacks(execute=True):
        response = post(status_body(sent))

    assert response.status_code == 202
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.result["holds_data"] is True


@pytest.mark.parametrize(
    ("secret", "at_offset", "message"),
    [("someone-else", 0, "wrong signature"), (None, 0, "no signature"), (SECRET, -3600, "stale signature")],
)
def test_a_callback_without_a_good_fresh_signature_is_401_and_changes_nothing(waiting, secret, at_offset, message):
    response = post(status_body(waiting.result["reference"]), secret=secret, at=time.time() + at_offset)

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "invalid_signature"
    assert message in error["message"]
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.WAITING
    assert not ProcessorCallback.objects.exists()
    assert not AuditEvent.objects.filter(action="job.callback_received").exists()


@pytest.mark.parametrize("header", ["t=abc,v1=00", "v1=00", "t={now},v1=ø", "t={now},v1=" + "9" * 5000, ",,=,"])
def test_a_garbled_signature_header_is_401(waiting, header):
    response = Client().post(
        url(),
        data=status_body(waiting.result["reference"]),
        content_type="application/json",
        headers={SIGNATURE_HEADER: header.format(now=int(time.time()))},
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_signature"


def test_a_replayed_callback_is_refused(waiting):
    body = status_body(waiting.result["reference"], "in_progress")
    signature = signature_make(SECRET, body, timestamp=int(time.time()), event_id="evt-1")
    header = {f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature}

    first = Client().post(url(), data=body, content_type="application/json", **header)
    again = Client().post(url(), data=body, content_type="application/json", **header)

    assert first.status_code == 202
    assert again.status_code == 409
    assert error_of(again)["code"] == "replayed"
    assert AuditEvent.objects.filter(action="job.callback_received").count() == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not a JSON object"),
        (b"[1, 2]", "subject_request_id"),
        (json.dumps({"subject_request_id": 7, "request_status": "completed"}).encode(), "subject_request_id"),
        (json.dumps({"subject_request_id": "x", "request_status": "done"}).encode(), "request_status"),
        (json.dumps({"subject_request_id": "x" * 101, "request_status": "completed"}).encode(), "too long"),
        (json.dumps({"subject_request_id": "a\u0000b", "request_status": "completed"}).encode(), "unprintable"),
        (json.dumps({"subject_request_id": "", "request_status": "completed"}).encode(), "empty"),
        (
            b'{"subject_request_id": "x", "request_status": "completed", "deep": ' + b"[" * 20000 + b"]" * 20000 + b"}",
            "not a JSON",
        ),
        ("ø".encode("latin-1"), "not a JSON object"),
    ],
)
def test_a_signed_but_malformed_callback_is_400_and_changes_nothing(waiting, body, fragment):
    response = post(body)

    assert response.status_code == 400
    assert fragment in error_of(response)["message"]
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.WAITING


def test_a_callback_for_a_request_this_source_was_not_sent_is_404(waiting):
    response = post(status_body("6f1c9f3e-0000-4000-8000-000000000000"))

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_request"
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.WAITING


@pytest.mark.parametrize("source", ["nosuchsource", "shop", "Not a key!", "%C2%9E%E7%A3%8B"])
def test_a_callback_for_an_unknown_or_non_http_source_is_404(waiting, source):
    response = post(status_body(waiting.result["reference"]), source=source)

    assert response.status_code == 404
    assert error_of(response)["code"] == "unknown_source"


def test_a_callback_for_finished_work_is_409(waiting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(status_body(waiting.result["reference"])).status_code == 202

    response = post(status_body(waiting.result["reference"], "completed"), at=time.time() + 1)

    assert response.status_code == 409
    assert error_of(response)["code"] == "job_finished"


def test_a_body_over_the_limit_is_413_before_it_is_read(waiting, settings):
    settings.DSR_CALLBACK_MAX_BYTES = 1024
    body = json.dumps(
        {"subject_request_id": waiting.result["reference"], "request_status": "completed", "pad": "x" * 2000}
    )

    response = post(body.encode())

    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.WAITING


def test_a_get_is_405_in_the_error_format(waiting):
    response = Client().get(url())
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_callbacks_are_throttled_per_address(waiting, settings):
    settings.DSR_CALLBACK_RATE_PER_IP = "2/minute"
    codes = [post(status_body("unknown")).status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def test_a_caller_without_a_client_address_is_answered_not_failed(waiting):
    # Some WSGI servers leave REMOTE_ADDR out; the throttle then counts under one empty address.
    response = Client().post(url(), data=b"{}", content_type="application/json", REMOTE_ADDR=None)
    assert response.status_code == 401
    assert error_of(response)["code"]


def test_no_job_outside_the_source_is_touched(waiting):
    other = Job.objects.exclude(pk=waiting.pk).values_list("pk", "status", "updated_at")
    before = set(other)
    post(status_body(waiting.result["reference"]), source="chinook")
    assert set(other) == before


def _signed_header(body: bytes, *, at: int, event_id: str) -> str:
    return signature_make(SECRET, body, timestamp=at, event_id=event_id)


def _respelled(header: str, how: str) -> str:
    """Return ``header`` with the same signed parts spelled differently, as a replaying attacker could."""
    parts = header.split(",")
    if how == "reordered":
        return ",".join(reversed(parts))
    if how == "spaces":
        return " , ".join(f" {part.replace('=', ' = ', 1)} " for part in parts)
    if how == "extra part":
        return header + ",v0=deadbeef,x=1"
    if how == "uppercase hex":
        return header.replace("v1=", "V1=").rsplit("=", 1)[0] + "=" + header.rsplit("=", 1)[1].upper()
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["reordered", "spaces", "extra part"])
def test_a_replayed_callback_is_refused_however_its_header_is_spelled(waiting, how):
    body = status_body(waiting.result["reference"], "in_progress")
    header = _signed_header(body, at=int(time.time()), event_id="evt-7")

    first = Client().post(url(), data=body, content_type="application/json", headers={SIGNATURE_HEADER: header})
    again = Client().post(
        url(), data=body, content_type="application/json", headers={SIGNATURE_HEADER: _respelled(header, how)}
    )

    assert first.status_code == 202
    assert again.status_code == 409, again.content
    assert error_of(again)["code"] == "replayed"
    assert ProcessorCallback.objects.count() == 1
    assert AuditEvent.objects.filter(action="job.callback_received").count() == 1


def test_a_replayed_callback_with_an_extra_query_parameter_is_refused(waiting):
    body = status_body(waiting.result["reference"], "in_progress")
    header = {SIGNATURE_HEADER: _signed_header(body, at=int(time.time()), event_id="evt-8")}

    first = Client().post(url(), data=body, content_type="application/json", headers=header)
    again = Client().post(url() + "?again=1", data=body, content_type="application/json", headers=header)

    assert first.status_code == 202
    assert again.status_code == 409
    assert AuditEvent.objects.filter(action="job.callback_received").count() == 1


def test_the_same_event_id_under_a_new_timestamp_is_refused(waiting):
    body = status_body(waiting.result["reference"], "in_progress")
    now = int(time.time())

    first = Client().post(
        url(),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: _signed_header(body, at=now - 10, event_id="evt-9")},
    )
    resent = Client().post(
        url(),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: _signed_header(body, at=now, event_id="evt-9")},
    )

    assert first.status_code == 202
    assert resent.status_code == 409
    assert error_of(resent)["code"] == "replayed"
    assert AuditEvent.objects.filter(action="job.callback_received").count() == 1


def test_a_new_event_with_its_own_id_is_accepted_after_another(waiting):
    body = status_body(waiting.result["reference"], "in_progress")
    now = int(time.time())
    for event_id in ("evt-a", "evt-b"):
        response = Client().post(
            url(),
            data=body,
            content_type="application/json",
            headers={SIGNATURE_HEADER: _signed_header(body, at=now, event_id=event_id)},
        )
        assert response.status_code == 202
    assert ProcessorCallback.objects.count() == 2


@pytest.mark.parametrize(
    "header",
    [
        "t={now},v1={digest}",  # no event id
        "t={now},id=evt,id=other,v1={digest}",  # two ids: which one was signed?
        "t={now},t={now},id=evt,v1={digest}",
    ],
)
def test_a_callback_without_exactly_one_signed_event_id_is_401(waiting, header):
    body = status_body(waiting.result["reference"], "in_progress")
    now = int(time.time())
    digest = _signed_header(body, at=now, event_id="evt").rsplit("v1=", 1)[1]

    response = Client().post(
        url(),
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: header.format(now=now, digest=digest)},
    )

    assert response.status_code == 401
    assert not ProcessorCallback.objects.exists()


def test_an_event_id_changed_after_signing_does_not_verify(waiting):
    body = status_body(waiting.result["reference"], "in_progress")
    header = _signed_header(body, at=int(time.time()), event_id="evt-1").replace("id=evt-1", "id=evt-2")

    response = Client().post(url(), data=body, content_type="application/json", headers={SIGNATURE_HEADER: header})

    assert response.status_code == 401
    assert "wrong signature" in error_of(response)["message"]

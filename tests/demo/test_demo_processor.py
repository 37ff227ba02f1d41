"""The demo ad partner's HTTP views: signatures checked first, bad requests refused."""

import json
import time

import pytest

from dsr.demo import demo_processor
from dsr.sources.http import SIGNATURE_HEADER, signature_make

pytestmark = pytest.mark.urls("tests.demo.urls")


@pytest.fixture(autouse=True)
def processor_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _signed(body: bytes, secret: str | None = None) -> dict:
    secret = secret or demo_processor.processor_secret()
    return {
        "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"): signature_make(secret, body, timestamp=int(time.time()))
    }


def test_discovery_needs_a_valid_signature(client):
    assert client.get("/demo/processor/discovery").status_code == 401
    assert client.get("/demo/processor/discovery", **_signed(b"", "wrong")).status_code == 401
    answer = client.get("/demo/processor/discovery", **_signed(b""))
    assert answer.status_code == 200
    assert answer["X-Demo"].startswith("demo processor")
    assert "erasure" in answer.json()["supported_subject_request_types"]


def test_a_bad_signature_is_refused_before_the_body_is_read(client):
    body = b"{not json"
    answer = client.post(
        "/demo/processor/opengdpr_requests", body, content_type="application/json", **_signed(body, "x")
    )
    assert answer.status_code == 401


def test_garbage_and_unsupported_requests_are_refused(client):
    garbage = b"[1, 2]"
    answer = client.post(
        "/demo/processor/opengdpr_requests", garbage, content_type="application/json", **_signed(garbage)
    )
    assert answer.status_code == 400
    raw = json.dumps(
        {
            "subject_request_id": "r1",
            "subject_request_type": "access",
            "subject_identities": [{"identity_type": "email", "identity_value": "a@b.dk", "identity_format": "raw"}],
        }
    ).encode()
    answer = client.post("/demo/processor/opengdpr_requests", raw, content_type="application/json", **_signed(raw))
    assert answer.status_code == 400
    assert "sha256" in answer.json()["error"]


def test_an_unknown_request_is_404(client):
    assert client.get("/demo/processor/opengdpr_requests/nope", **_signed(b"")).status_code == 404

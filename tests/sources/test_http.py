"""The http connector against a real local HTTP server playing an OpenGDPR processor."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dsr.sources.base import ERASURE, REQUEST, ErasurePlan, SourcePermanentError, SourceTransientError
from dsr.sources.http import (
    SIGNATURE_HEADER,
    HttpConnector,
    SignatureInvalid,
    callback_parse,
    signature_make,
    signature_verify,
)
from tests.sources.maps import map_build

SECRET = "shared-test-secret"
EMAIL = "mette@example.dk"
EMAIL_SHA256 = hashlib.sha256(EMAIL.encode()).hexdigest()


class Processor:
    """A small OpenGDPR processor: an audience of hashed emails, requests completed at once."""

    def __init__(self, mode: str = "normal"):
        self.mode = mode
        self.audience = {EMAIL_SHA256, hashlib.sha256(b"other@example.dk").hexdigest()}
        self.requests: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures_left = 1 if mode == "flaky" else 0

    def answer(self, method: str, path: str, body: bytes, signature: str | None) -> tuple[int, bytes]:
        self.calls.append((method, path))
        if self.mode == "garbage":
            return 200, b"<html>maintenance</html>"
        if self.mode == "down" or self.failures_left:
            self.failures_left = max(0, self.failures_left - 1)
            return 500, b"{}"
        try:
            signature_verify(SECRET, body, signature, now=time.time())
        except SignatureInvalid:
            # Processors differ: some answer a bad signature with 401, others with 403.
            return (403 if self.mode == "forbids" else 401), b'{"error": "bad signature"}'
        base = "/opengdpr"
        if method == "GET" and path == f"{base}/discovery":
            return 200, json.dumps(
                {"api_version": "0.1", "supported_subject_request_types": ["access", "portability", "erasure"]}
            ).encode()
        if method == "POST" and path == f"{base}/opengdpr_requests":
            data = json.loads(body)
            hashes = {i["identity_value"] for i in data["subject_identities"]}
            found = sorted(hashes & self.audience)
            if data["subject_request_type"] == "erasure":
                self.audience -= hashes
            self.requests[data["subject_request_id"]] = {"type": data["subject_request_type"], "found": found}
            return 201, json.dumps({"subject_request_id": data["subject_request_id"]}).encode()
        if method == "GET" and path.startswith(f"{base}/opengdpr_requests/"):
            request_id = path.rsplit("/", 1)[1]
            if request_id not in self.requests:
                return 404, b"{}"
            state = "pending" if self.mode == "pending" else "completed"
            status = {"subject_request_id": request_id, "request_status": state}
            if self.requests[request_id]["type"] == "access":
                status["results_url"] = f"{self.url}/results/{request_id}"
            return 200, json.dumps(status).encode()
        if method == "GET" and path.startswith(f"{base}/results/"):
            request_id = path.rsplit("/", 1)[1]
            rows = [{"email_sha256": h, "segment": "retargeting"} for h in self.requests[request_id]["found"]]
            return 200, json.dumps({"audience": rows}).encode()
        return 404, b"{}"


@pytest.fixture
def processor(request):
    """Serve a Processor on 127.0.0.1 at a random port; the mode comes from the test's parameter."""
    state = Processor(getattr(request, "param", "normal"))

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, answer = state.answer(self.command, self.path, body, self.headers.get(SIGNATURE_HEADER))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/opengdpr"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def connector_for(url: str, secret: str = SECRET, **config) -> HttpConnector:
    source = {
        "name": "Demo ad partner",
        "kind": "http",
        "purposes": ["newsletter"],
        "origin": {"da": "Fra os", "en": "From us"},
        "provided_by_subject": [],
        "url": url,
        "secret": secret,
        "identities": [{"type": "email", "format": "sha256"}],
        "categories": {"audience": {"email_sha256": "marketing"}},
        "retries": 2,
        "backoff_seconds": 0.01,
        "timeout_seconds": 2,
        **config,
    }
    datamap = map_build({"adpartner": source})
    return HttpConnector(datamap.sources["adpartner"], datamap)


def test_connection_test_reads_the_discovery_document(processor):
    connector_for(processor.url).test_connection()
    assert processor.calls == [("GET", "/opengdpr/discovery")]


def test_access_returns_the_processors_records_with_categories(processor):
    records = list(connector_for(processor.url).records({"email": {" Mette@Example.dk"}}, reference="R-1"))
    assert [(r.table, r.row["email_sha256"], r.categories) for r in records] == [
        ("audience", EMAIL_SHA256, {"email_sha256": "marketing"})
    ]


def test_only_hashed_email_is_sent(processor):
    connector = connector_for(processor.url)
    plan = connector.erasure_plan({"email": {EMAIL}, "phone": {"+4520304050"}})
    assert plan.extra["subject_identities"] == [
        {"identity_type": "email", "identity_value": EMAIL_SHA256, "identity_format": "sha256"}
    ]


def test_erasure_is_submitted_once_and_reported_complete(processor):
    connector = connector_for(processor.url)
    plan = ErasurePlan.from_dict(connector.erasure_plan({"email": {EMAIL}}, reference="R-2").to_dict())
    assert plan.tables[0].action == REQUEST
    assert ERASURE in connector.capabilities()

    first = connector.erasure_execute(plan)
    second = connector.erasure_execute(plan)

    assert first.complete
    assert first.tables[0].changed == 1
    assert second.complete
    assert second.tables[0].changed == 0
    assert EMAIL_SHA256 not in processor.audience
    assert sum(1 for call in processor.calls if call[0] == "POST") == 1


@pytest.mark.parametrize("processor", ["pending"], indirect=True)
def test_access_still_pending_at_the_processor_is_worth_retrying_without_resubmitting(processor):
    connector = connector_for(processor.url)
    for _ in range(2):
        with pytest.raises(SourceTransientError, match="not finished"):
            list(connector.records({"email": {EMAIL}}, reference="R-9"))
    assert sum(1 for call in processor.calls if call[0] == "POST") == 1


@pytest.mark.parametrize("processor", ["garbage"], indirect=True)
def test_a_processor_answering_garbage_is_a_permanent_error(processor):
    with pytest.raises(SourcePermanentError, match=r"adpartner.*not JSON"):
        connector_for(processor.url).test_connection()
    assert len(processor.calls) == 1


@pytest.mark.parametrize("processor", ["flaky"], indirect=True)
def test_a_500_is_retried_and_the_next_answer_used(processor):
    connector_for(processor.url).test_connection()
    assert processor.calls == [("GET", "/opengdpr/discovery")] * 2


@pytest.mark.parametrize("processor", ["down"], indirect=True)
def test_a_processor_failing_every_attempt_is_a_transient_error(processor):
    with pytest.raises(SourceTransientError, match="HTTP 500 \\(after 3 attempts\\)"):
        connector_for(processor.url).test_connection()


def test_a_processor_refusing_our_signature_is_a_permanent_error(processor):
    with pytest.raises(SourcePermanentError, match="HTTP 401"):
        connector_for(processor.url, secret="wrong-secret").test_connection()


@pytest.mark.parametrize("processor", ["normal", "forbids"], indirect=True)
def test_401_and_403_from_a_processor_both_say_the_shared_secret_is_wrong(processor):
    with pytest.raises(
        SourcePermanentError, match=r"did not accept our signature.*HTTP 40[13]; check the shared secret"
    ):
        connector_for(processor.url, secret="wrong-secret").test_connection()
    assert len(processor.calls) == 1


def test_an_unreachable_processor_is_a_transient_error():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceTransientError, match="could not be reached"):
        connector_for(f"http://127.0.0.1:{port}/opengdpr").test_connection()


def test_a_callback_with_a_good_signature_is_parsed():
    body = json.dumps({"subject_request_id": "abc", "request_status": "completed"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000)
    assert (
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_010)["request_status"] == "completed"
    )


def test_a_callback_with_a_bad_signature_is_rejected_before_parsing():
    body = b"not even json"
    header = signature_make("someone-else", body, timestamp=1_700_000_000)
    with pytest.raises(SignatureInvalid):
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_000)
    with pytest.raises(SignatureInvalid):
        callback_parse(secret=SECRET, body=body, signature=None, now=1_700_000_000)


def test_a_replayed_callback_is_rejected():
    body = json.dumps({"subject_request_id": "abc", "request_status": "completed"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000)
    with pytest.raises(SignatureInvalid, match="stale"):
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_000 + 3600)


def test_a_signed_callback_with_an_unknown_status_is_refused():
    body = json.dumps({"subject_request_id": "abc", "request_status": "done"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000)
    with pytest.raises(ValueError, match="request_status"):
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_000)

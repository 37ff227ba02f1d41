"""A real local HTTP server playing an OpenGDPR processor, for the http connector and the engine's tests.

Other test packages import ``processor`` (the fixture), ``Processor`` and ``SECRET`` from here.
"""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dsr.sources.http import SIGNATURE_HEADER, SignatureInvalid, signature_verify

SECRET = "shared-test-secret"
EMAIL = "mette@example.dk"
EMAIL_SHA256 = hashlib.sha256(EMAIL.encode()).hexdigest()


class Processor:
    """A small OpenGDPR processor: an audience of hashed emails, requests completed at once.

    ``mode``: "normal"; "pending" (requests never finish); "flaky" (one 500 first); "down" (500 always);
    "garbage" (HTML instead of JSON); "forbids" (a bad signature gets 403, not 401).
    """

    def __init__(self, mode: str = "normal"):
        self.mode = mode
        self.audience = {EMAIL_SHA256, hashlib.sha256(b"other@example.dk").hexdigest()}
        self.requests: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures_left = 1 if mode == "flaky" else 0
        self.url = ""

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
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()

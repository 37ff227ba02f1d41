"""Real local HTTP servers playing Meta's and Google's audience APIs (dsr.demo.demo_platforms), with failure modes.

The fixtures ``meta`` and ``google`` take the mode from the test's parameter (see demo_platforms.MODES).
"""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dsr.demo.demo_platforms import GOOGLE_USER_LIST, META_AUDIENCE, AudienceStore, GoogleFake, MetaFake

EMAIL = "Mette.Hansen@Example.dk "
EMAIL_SHA256 = hashlib.sha256(b"mette.hansen@example.dk").hexdigest()
OTHER_SHA256 = hashlib.sha256(b"other@example.dk").hexdigest()


def _serve(answer):
    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, data = answer(self.command, self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def meta(request):
    """Serve Meta's audience API with Mette and another person in the audience."""
    fake = MetaFake(
        AudienceStore({(META_AUDIENCE, EMAIL_SHA256), (META_AUDIENCE, OTHER_SHA256)}),
        mode=getattr(request, "param", "normal"),
    )
    server, fake.url = _serve(lambda method, path, headers, body: fake.answer(method, path, body))
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def google(request):
    """Serve Google's token endpoint and Google Ads API with Mette and another person on the list."""
    fake = GoogleFake(
        AudienceStore({(GOOGLE_USER_LIST, EMAIL_SHA256), (GOOGLE_USER_LIST, OTHER_SHA256)}),
        mode=getattr(request, "param", "normal"),
        login_customer="1112223333",
    )

    def answer(method, path, headers, body):
        if path == "/token":
            return fake.token(body)
        return fake.answer(method, path, headers, body)

    server, fake.url = _serve(answer)
    yield fake
    server.shutdown()
    server.server_close()

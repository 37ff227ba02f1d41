"""What every vendor stand-in shares: a store of documents, strict request checks, failure modes, a server.

A vendor module subclasses VendorFake: it lists its routes (method, path
pattern, handler), says how it checks credentials (``authenticated``) and
how it words an error (``error``), and its handlers check each request as
the vendor's reference documents it, refusing anything else with the
vendor's own error and a note in ``refusals`` (tests assert there is none).
"""

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

# What a test can ask a stand-in to do instead of answering normally. "_once" modes fail the first call only.
MODES = (
    "normal",
    "unauthorized",  # 401: the credentials are refused
    "forbidden",  # 403: the credentials lack a permission
    "not_found",  # 404 for every address
    "rate_limited",  # 429 with Retry-After, every time
    "rate_limited_once",
    "down",  # 503, every time
    "down_once",
    "slow",  # answers after ``slow_seconds`` (a client with a shorter timeout gives up)
    "malformed",  # 200 with a body that is not JSON
)


class Store:
    """Documents by collection and key, in the order they were added (a test's store lives in memory)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, dict]] = {}
        self._lock = threading.Lock()

    def items(self, collection: str) -> list[dict]:
        with self._lock:
            return [dict(doc) for doc in self._data.get(collection, {}).values()]

    def get(self, collection: str, key: str) -> dict | None:
        with self._lock:
            doc = self._data.get(collection, {}).get(key)
            return dict(doc) if doc is not None else None

    def put(self, collection: str, key: str, doc: dict) -> None:
        with self._lock:
            self._data.setdefault(collection, {})[key] = dict(doc)

    def delete(self, collection: str, key: str) -> bool:
        with self._lock:
            return self._data.get(collection, {}).pop(key, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SqliteStore(Store):
    """The demo's documents in one SQLite file shared by the web processes, one vendor per store."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS document (vendor TEXT, collection TEXT, key TEXT, body TEXT, "
        "PRIMARY KEY (vendor, collection, key))"
    )

    def __init__(self, path: Path, vendor: str):
        super().__init__()
        self.path, self.vendor = path, vendor

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute(self.SCHEMA)
        return conn

    def items(self, collection: str) -> list[dict]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT body FROM document WHERE vendor = ? AND collection = ? ORDER BY rowid",
                (self.vendor, collection),
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def get(self, collection: str, key: str) -> dict | None:
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT body FROM document WHERE vendor = ? AND collection = ? AND key = ?",
                (self.vendor, collection, key),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, collection: str, key: str, doc: dict) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO document VALUES (?, ?, ?, ?) ON CONFLICT (vendor, collection, key) "
                "DO UPDATE SET body = excluded.body",
                (self.vendor, collection, key, json.dumps(doc)),
            )

    def delete(self, collection: str, key: str) -> bool:
        with closing(self._connect()) as conn, conn:
            cursor = conn.execute(
                "DELETE FROM document WHERE vendor = ? AND collection = ? AND key = ?", (self.vendor, collection, key)
            )
        return cursor.rowcount > 0

    def clear(self) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM document WHERE vendor = ?", (self.vendor,))

    def replace(self, store: Store) -> None:
        """Replace this vendor's documents with those of ``store`` (built in memory), in one transaction."""
        rows = [
            (self.vendor, collection, key, json.dumps(doc))
            for collection, docs in store._data.items()
            for key, doc in docs.items()
        ]
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM document WHERE vendor = ?", (self.vendor,))
            conn.executemany("INSERT INTO document VALUES (?, ?, ?, ?)", rows)


@dataclass
class Call:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        """Return the body as JSON; raise ValueError if it is not."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {key: values[-1] for key, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    """What the stand-in answers: a status, a JSON body (or raw bytes), and headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None else json.dumps(self.body).encode()


Handler = Callable[..., Reply]


class VendorFake:
    """A vendor's API: routes, credentials, errors in the vendor's shape, failure modes, every call recorded."""

    name = ""
    # (method, path pattern with named groups, name of the handler method)
    routes: tuple[tuple[str, str, str], ...] = ()

    def __init__(
        self, store: Store | None = None, *, mode: str = "normal", retry_after: int = 1, slow_seconds: float = 2.0
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        self.store = store if store is not None else Store()
        self.mode = mode
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.url = ""  # where it is served, set by serve()
        self.calls: list[Call] = []
        self.refusals: list[str] = []
        self._compiled = [(method, re.compile(pattern), handler) for method, pattern, handler in self.routes]
        self._lock = threading.Lock()

    # --- what a vendor module gives ----------------------------------------------------

    def authenticated(self, call: Call) -> bool:
        """Return whether the call carries the vendor's valid credentials."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> Reply:
        """Return an error as the vendor words it."""
        return Reply(status, {"error": message})

    def seed(self) -> None:
        """Fill the store with the demo's people (the demo calls it; a test fills its own)."""

    # --- answering ---------------------------------------------------------------------

    def refuse(self, message: str, status: int = 400) -> Reply:
        """Refuse a request the vendor's reference does not allow, and note it for the tests."""
        self.refusals.append(message)
        return self.error(status, message)

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one request to ``target`` (path and query string)."""
        parts = urlsplit(target)
        call = Call(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in headers.items()},
            body=body,
        )
        with self._lock:
            self.calls.append(call)
            first = len(self.calls) == 1
        mode = self.mode
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if mode == "down" or (mode == "down_once" and first):
            return self.error(503, "The service is temporarily unavailable.")
        if mode == "rate_limited" or (mode == "rate_limited_once" and first):
            reply = self.error(429, "Too many requests.")
            reply.headers["Retry-After"] = str(self.retry_after)
            return reply
        if mode == "malformed":
            return Reply(200, b"<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})
        for route_method, pattern, handler in self._compiled:
            match = pattern.fullmatch(call.path)
            if match is None or route_method != method:
                continue
            if not self.authenticated(call) or mode == "unauthorized":
                return self.error(401, "Invalid credentials.")
            if mode == "forbidden":
                return self.error(403, "The credentials lack the permission this needs.")
            if mode == "not_found":
                return self.error(404, "No such resource.")
            return getattr(self, handler)(call, **match.groupdict())
        return self.refuse(f"unknown request {method} {call.path}", 404)

    def calls_to(self, method: str, path_prefix: str) -> list[Call]:
        """Return the calls made with ``method`` to paths starting with ``path_prefix``."""
        return [call for call in self.calls if call.method == method and call.path.startswith(path_prefix)]


def serve(fake: VendorFake, *, prefix: str = "") -> ThreadingHTTPServer:
    """Serve ``fake`` on a free local port in a thread; set ``fake.url``; return the server to shut down."""

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per answer, sent at once: headers and body in separate packets wait on delayed ACKs.
        wbufsize = 1 << 16
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            target = self.path[len(prefix) :] if prefix and self.path.startswith(prefix) else self.path
            reply = fake.answer(self.command, target, dict(self.headers.items()), body)
            data = reply.encoded()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    server.daemon_threads = True
    # A short poll interval: shutdown() waits for the next poll, and the tests stop a server each time.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    return server

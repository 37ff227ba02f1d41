"""A DEMO ad partner speaking OpenGDPR, served by dsr itself under /demo/processor/.

It stands in for a real processor (an ad network holding a hashed-email
audience) so that the demo company's `http` source has something real to talk
to. It is not part of dsr's product: it is switched on only with DEBUG or
DSR_DEMO=true. Its state is a small SQLite file under VAR_DIR/demo/.
"""

import datetime as dt
import hashlib
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from django.conf import settings

# The demo map names the same default; a real deployment has no demo processor.
DEFAULT_SECRET = "demo-processor-secret-not-for-production"  # noqa: S105
SCHEMA = """
CREATE TABLE IF NOT EXISTS audience (
    email_sha256 TEXT PRIMARY KEY,
    segment TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS request (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    found TEXT NOT NULL
);
"""


class ProcessorRefusal(Exception):
    """The demo processor refuses a request (HTTP 400); str() says why."""


def processor_secret() -> str:
    """Return the secret shared with the demo map's `adpartner` source."""
    return os.environ.get("DSR_DEMO_PROCESSOR_SECRET", DEFAULT_SECRET)


def processor_path() -> Path:
    return Path(settings.VAR_DIR) / "demo" / "adpartner.sqlite3"


def _connect() -> sqlite3.Connection:
    path = processor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    return conn


def processor_audience_build(shop_path: Path) -> int:
    """Fill the demo audience with the hashed emails of shop customers who consented to retargeting."""
    with closing(sqlite3.connect(shop_path)) as shop:
        rows = shop.execute(
            "SELECT lower(trim(c.email)), k.given_at FROM customer c JOIN consent k ON k.customer_id = c.id "
            "WHERE k.purpose = 'ad_retargeting' AND k.granted"
        ).fetchall()
    with closing(_connect()) as conn, conn:
        conn.execute("DELETE FROM audience")
        conn.execute("DELETE FROM request")
        conn.executemany(
            "INSERT INTO audience VALUES (?, 'retargeting: meal kits', ?)",
            [(hashlib.sha256(email.encode()).hexdigest(), given_at) for email, given_at in rows],
        )
    return len(rows)


def processor_discovery() -> dict:
    """Return the discovery document."""
    return {
        "api_version": "0.1",
        "supported_identities": [{"identity_type": "email", "identity_format": "sha256"}],
        "supported_subject_request_types": ["access", "erasure"],
        "processor_certificate": "",
        "demo": "This processor is a demo served by dsr; it is not a real ad partner.",
    }


def processor_request_submit(payload: dict) -> dict:
    """Accept an OpenGDPR request and carry it out at once (the demo's audience is small)."""
    request_id = payload.get("subject_request_id")
    request_type = payload.get("subject_request_type")
    identities = payload.get("subject_identities")
    if not isinstance(request_id, str) or not request_id:
        raise ProcessorRefusal("subject_request_id is required")
    if request_type not in ("access", "erasure"):
        raise ProcessorRefusal("subject_request_type must be access or erasure")
    if not isinstance(identities, list) or not all(
        isinstance(i, dict) and i.get("identity_type") == "email" and i.get("identity_format") == "sha256"
        for i in identities
    ):
        raise ProcessorRefusal("only sha256-hashed email identities are supported")
    hashes = sorted({str(i.get("identity_value", "")) for i in identities})
    with closing(_connect()) as conn, conn:
        existing = conn.execute("SELECT id FROM request WHERE id = ?", (request_id,)).fetchone()
        if existing is None:
            marks = ", ".join("?" for _ in hashes) or "NULL"
            found = [
                {"email_sha256": h, "segment": s, "added_at": a}
                for h, s, a in conn.execute(
                    f"SELECT email_sha256, segment, added_at FROM audience WHERE email_sha256 IN ({marks})",  # noqa: S608
                    hashes,
                )
            ]
            if request_type == "erasure":
                conn.execute(f"DELETE FROM audience WHERE email_sha256 IN ({marks})", hashes)  # noqa: S608
                found = []
            conn.execute(
                "INSERT INTO request VALUES (?, ?, 'completed', ?, ?)",
                (request_id, request_type, dt.datetime.now(dt.UTC).isoformat(), json.dumps(found)),
            )
    return {"subject_request_id": request_id, "received_time": dt.datetime.now(dt.UTC).isoformat()}


def processor_request_status(request_id: str, *, results_url: str) -> dict | None:
    """Return the status document of a request, or None if the demo processor does not know it."""
    with closing(_connect()) as conn:
        row = conn.execute("SELECT type, status FROM request WHERE id = ?", (request_id,)).fetchone()
    if row is None:
        return None
    status = {"subject_request_id": request_id, "request_status": row[1], "api_version": "0.1"}
    if row[0] == "access":
        status["results_url"] = results_url
    return status


def processor_results(request_id: str) -> dict | None:
    """Return an access request's results: the audience entries found."""
    with closing(_connect()) as conn:
        row = conn.execute("SELECT found FROM request WHERE id = ? AND type = 'access'", (request_id,)).fetchone()
    return None if row is None else {"audience": json.loads(row[0])}

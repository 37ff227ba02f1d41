"""DEMO stand-ins for Meta's and Google's audience APIs, served by dsr under /demo/processor/meta and /google.

They check each request the way the platforms document them (paths, versions,
headers, the OAuth2 refresh-token grant, payload shapes, SHA-256 hex hashes,
batch limits) and answer as the platforms do: Meta with counts, Google with a
job's resource name and a long-running operation. Neither says whether the
person was in the audience. The tests of the `meta_audience` and `google_ads`
kinds serve the same classes on a local HTTP server, with failure modes.
Not part of dsr's product: switched on only with DEBUG or DSR_DEMO=true.
"""

import hashlib
import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs

from django.conf import settings

META_TOKEN = "demo-meta-token-not-for-production"  # noqa: S105 - the demo map's default, not a secret
GOOGLE_DEVELOPER_TOKEN = "demo-google-developer-token"  # noqa: S105
GOOGLE_REFRESH_TOKEN = "demo-google-refresh-token"  # noqa: S105
GOOGLE_CLIENT_ID = "demo-client.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "demo-client-secret"  # noqa: S105
GOOGLE_ACCESS_TOKEN = "demo-google-access-token"  # noqa: S105
GOOGLE_CUSTOMER = "1234567890"
META_AUDIENCE = "23850000000000001"
GOOGLE_USER_LIST = "7000000001"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
META_SCHEMA = ("EMAIL_SHA256", "PHONE_SHA256")
META_BATCH_LIMIT = 10_000
GOOGLE_FIELDS = ("hashedEmail", "hashedPhoneNumber")
# Failure modes the tests ask for.
MODES = ("normal", "expired_token", "rate_limited", "rate_limited_once", "no_audience", "down")


def _json(status: int, data: dict) -> tuple[int, bytes]:
    return status, json.dumps(data).encode()


class AudienceStore:
    """The audience members, as {(audience id, hash)}; the demo keeps them in SQLite, the tests in memory."""

    def __init__(self, members: set[tuple[str, str]] | None = None):
        self.members = set(members or ())

    def remove(self, audience: str, hashes: list[str]) -> None:
        self.members -= {(audience, value) for value in hashes}


class SqliteAudienceStore(AudienceStore):
    """The demo's audiences in VAR_DIR/demo/platforms.sqlite3, shared by the web processes."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS member (platform TEXT, audience TEXT, hash TEXT, "
        "PRIMARY KEY (platform, audience, hash))"
    )

    def __init__(self, platform: str):
        self.platform = platform

    @staticmethod
    def path() -> Path:
        return Path(settings.VAR_DIR) / "demo" / "platforms.sqlite3"

    def _connect(self) -> sqlite3.Connection:
        self.path().parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path())
        conn.execute(self.SCHEMA)
        return conn

    @property
    def members(self) -> set[tuple[str, str]]:  # type: ignore[override]
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT audience, hash FROM member WHERE platform = ?", (self.platform,)).fetchall()
        return {(audience, value) for audience, value in rows}

    def remove(self, audience: str, hashes: list[str]) -> None:
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                "DELETE FROM member WHERE platform = ? AND audience = ? AND hash = ?",
                [(self.platform, audience, value) for value in hashes],
            )

    def fill(self, audience: str, hashes: list[str]) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM member WHERE platform = ?", (self.platform,))
            conn.executemany(
                "INSERT OR IGNORE INTO member VALUES (?, ?, ?)", [(self.platform, audience, h) for h in hashes]
            )


class MetaFake:
    """Meta's `DELETE /{version}/{audience_id}/users` for custom audiences."""

    def __init__(self, store: AudienceStore, *, mode: str = "normal", audiences: tuple[str, ...] = (META_AUDIENCE,)):
        self.store, self.mode, self.audiences = store, mode, audiences
        self.calls: list[dict] = []
        self.refusals: list[str] = []

    def _error(self, status: int, code: int, message: str, subcode: int | None = None) -> tuple[int, bytes]:
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "demo"}
        if subcode:
            error["error_subcode"] = subcode
        return _json(status, {"error": error})

    def _refuse(self, message: str) -> tuple[int, bytes]:
        self.refusals.append(message)
        return self._error(400, 100, f"(#100) {message}")

    def audience_read(self, path: str, query: str) -> tuple[int, bytes]:
        """Answer `GET /{version}/{audience_id}?fields=id,name`, as a connection check does."""
        match = re.fullmatch(r"/v\d+\.\d+/(\d+)", path)
        params = {key: values[0] for key, values in parse_qs(query).items()}
        if match is None:
            return self._refuse(f"unsupported request GET {path}")
        if params.get("access_token") != META_TOKEN or self.mode == "expired_token":
            return self._error(400, 190, "Error validating access token: Session has expired.", 463)
        if match.group(1) not in self.audiences or self.mode == "no_audience":
            return self._error(400, 100, "Unsupported get request. Object does not exist.", 33)
        return _json(200, {"id": match.group(1), "name": "Retargeting (demo)"})

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        match = re.fullmatch(r"/v\d+\.\d+/(\d+)/users", path)
        if method != "DELETE" or match is None:
            return self._refuse(f"unsupported request {method} {path}")
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        self.calls.append(form)
        if self.mode == "down":
            return _json(500, {"error": {"message": "An unexpected error has occurred.", "code": 2}})
        if form.get("access_token") != META_TOKEN or self.mode == "expired_token":
            return self._error(400, 190, "Error validating access token: Session has expired.", 463)
        if self.mode == "rate_limited" or (self.mode == "rate_limited_once" and len(self.calls) == 1):
            return self._error(400, 80003, "There have been too many calls to this ad-account.", 2446079)
        if match.group(1) not in self.audiences or self.mode == "no_audience":
            return self._error(400, 100, "Unsupported delete request. Object does not exist.", 33)
        try:
            payload = json.loads(form["payload"])
            session = json.loads(form["session"])
        except (KeyError, ValueError):
            return self._refuse("payload and session must be JSON")
        schema, data = payload.get("schema"), payload.get("data")
        if not isinstance(schema, list) or not schema or any(key not in META_SCHEMA for key in schema):
            return self._refuse("schema must list EMAIL_SHA256 and/or PHONE_SHA256")
        if not isinstance(data, list) or not data or len(data) > META_BATCH_LIMIT:
            return self._refuse("data must hold 1 to 10000 rows")
        if not all(isinstance(row, list) and len(row) == len(schema) for row in data):
            return self._refuse("every row must have one value per schema key")
        if not {"session_id", "batch_seq", "last_batch_flag"} <= set(session):
            return self._refuse("session needs session_id, batch_seq and last_batch_flag")
        values = [value for row in data for value in row if value != ""]
        invalid = [value for value in values if not HEX64.match(str(value))]
        self.store.remove(match.group(1), [value for value in values if value not in invalid])
        return _json(
            200,
            {
                "audience_id": match.group(1),
                "session_id": str(session["session_id"]),
                "num_received": len(data),
                "num_invalid_entries": len(invalid),
                "invalid_entry_samples": {},
            },
        )


class GoogleFake:
    """Google's OAuth2 token endpoint and the OfflineUserDataJobService calls Customer Match removal uses."""

    def __init__(
        self,
        store: AudienceStore,
        *,
        mode: str = "normal",
        user_lists: tuple[str, ...] = (GOOGLE_USER_LIST,),
        login_customer: str = "",
    ):
        self.store, self.mode, self.user_lists, self.login_customer = store, mode, user_lists, login_customer
        self.jobs: dict[str, dict] = {}
        self.calls: list[tuple[str, dict]] = []
        self.refusals: list[str] = []

    def _status(self, code: int, status: str, message: str, errors: list | None = None) -> tuple[int, bytes]:
        error: dict = {"code": code, "message": message, "status": status}
        if errors:
            error["details"] = [
                {"@type": "type.googleapis.com/google.ads.googleads.v19.errors.GoogleAdsFailure", "errors": errors}
            ]
        return _json(code, {"error": error})

    def _refuse(self, message: str) -> tuple[int, bytes]:
        self.refusals.append(message)
        return self._status(400, "INVALID_ARGUMENT", message)

    def token(self, body: bytes) -> tuple[int, bytes]:
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        self.calls.append(("token", {key: value for key, value in form.items() if key == "grant_type"}))
        if self.mode == "expired_token" or form.get("refresh_token") != GOOGLE_REFRESH_TOKEN:
            return _json(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        if form.get("grant_type") != "refresh_token" or form.get("client_id") != GOOGLE_CLIENT_ID:
            return _json(401, {"error": "invalid_client"})
        if form.get("client_secret") != GOOGLE_CLIENT_SECRET:
            return _json(401, {"error": "invalid_client"})
        return _json(200, {"access_token": GOOGLE_ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
        if self.mode == "down":
            return self._status(503, "UNAVAILABLE", "The service is currently unavailable.")
        if headers.get("authorization") != f"Bearer {GOOGLE_ACCESS_TOKEN}":
            return self._status(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
        if headers.get("developer-token") != GOOGLE_DEVELOPER_TOKEN:
            return self._status(
                401,
                "UNAUTHENTICATED",
                "The developer token is not valid.",
                [{"errorCode": {"authenticationError": "DEVELOPER_TOKEN_INVALID"}}],
            )
        if self.login_customer and headers.get("login-customer-id") != self.login_customer:
            return self._status(403, "PERMISSION_DENIED", "The caller does not have permission.")
        if method != "POST" or "json" not in headers.get("content-type", ""):
            return self._refuse("expected a JSON POST")
        try:
            data = json.loads(body)
        except ValueError:
            return self._refuse("the body is not JSON")
        self.calls.append((path, data))
        if self.mode == "rate_limited" or (self.mode == "rate_limited_once" and len(self.calls) == 2):
            return self._status(
                429, "RESOURCE_EXHAUSTED", "Too many requests.", [{"errorCode": {"quotaError": "RESOURCE_EXHAUSTED"}}]
            )
        created = re.fullmatch(r"/v\d+/customers/(\d+)/offlineUserDataJobs:create", path)
        if created:
            return self._create(created.group(1), data)
        acted = re.fullmatch(r"/v\d+/(customers/\d+/offlineUserDataJobs/\d+):(addOperations|run)", path)
        if acted is None or acted.group(1) not in self.jobs:
            return self._status(404, "NOT_FOUND", "Requested entity was not found.")
        job = self.jobs[acted.group(1)]
        if acted.group(2) == "run":
            if job["status"] != "PENDING" or data != {}:
                return self._refuse("the job has run already, or run got a body")
            job["status"] = "RUNNING"
            self.store.remove(job["user_list"], job["hashes"])
            job["status"] = "SUCCESS"
            return _json(
                200, {"name": f"{acted.group(1).rsplit('/offlineUserDataJobs', 1)[0]}/operations/{len(self.jobs)}"}
            )
        return self._add(job, data)

    def _create(self, customer: str, data: dict) -> tuple[int, bytes]:
        job = data.get("job") or {}
        user_list = (job.get("customerMatchUserListMetadata") or {}).get("userList", "")
        match = re.fullmatch(rf"customers/{customer}/userLists/(\d+)", user_list)
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or match is None:
            return self._refuse("job.type must be CUSTOMER_MATCH_USER_LIST with customerMatchUserListMetadata.userList")
        if match.group(1) not in self.user_lists or self.mode == "no_audience":
            return self._status(
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                [
                    {
                        "errorCode": {"offlineUserDataJobError": "INVALID_USER_LIST_ID"},
                        "message": "The user list is invalid.",
                    }
                ],
            )
        name = f"customers/{customer}/offlineUserDataJobs/{900 + len(self.jobs)}"
        self.jobs[name] = {"user_list": match.group(1), "hashes": [], "status": "PENDING"}
        return _json(200, {"resourceName": name})

    def _add(self, job: dict, data: dict) -> tuple[int, bytes]:
        operations = data.get("operations")
        if job["status"] != "PENDING" or not isinstance(operations, list) or not operations:
            return self._refuse("operations must be a non-empty list, added before run")
        failures = []
        for index, operation in enumerate(operations):
            identifiers = (
                (operation.get("remove") or {}).get("userIdentifiers") if isinstance(operation, dict) else None
            )
            if not isinstance(identifiers, list) or not identifiers or set(operation) != {"remove"}:
                return self._refuse("each operation must be {remove: {userIdentifiers: [...]}}")
            for identifier in identifiers:
                (field, value), *rest = (
                    identifier.items() if isinstance(identifier, dict) and identifier else [(None, None)]
                )
                if rest or field not in GOOGLE_FIELDS:
                    return self._refuse("each user identifier is one of hashedEmail, hashedPhoneNumber")
                if not HEX64.match(str(value)):
                    failures.append(
                        {
                            "errorCode": {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"},
                            "location": {"fieldPathElements": [{"fieldName": "operations", "index": index}]},
                        }
                    )
                else:
                    job["hashes"].append(value)
        if failures and not data.get("enablePartialFailure"):
            return self._status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", failures)
        answer: dict = {}
        if failures:
            answer["partialFailureError"] = {"code": 3, "message": "invalid", "details": [{"errors": failures}]}
        return _json(200, answer)


def demo_audiences_build(shop_path: Path) -> int:
    """Fill both demo platforms' audiences with the hashed emails of shop customers who consented to retargeting."""
    with closing(sqlite3.connect(shop_path)) as shop:
        emails = [
            row[0]
            for row in shop.execute(
                "SELECT lower(trim(c.email)) FROM customer c JOIN consent k ON k.customer_id = c.id "
                "WHERE k.purpose = 'ad_retargeting' AND k.granted"
            )
        ]
    hashes = [hashlib.sha256(email.encode()).hexdigest() for email in emails]
    SqliteAudienceStore("meta").fill(META_AUDIENCE, hashes)
    SqliteAudienceStore("google").fill(GOOGLE_USER_LIST, hashes)
    return len(hashes)

"""A stand-in for Klaviyo's API: profiles by email and the data privacy deletion request.

It checks requests the way Klaviyo's API reference describes them and answers
with the documented JSON:API documents:

- Every request carries ``Authorization: Klaviyo-API-Key <private key>`` and a
  ``revision`` header (a date, ``YYYY-MM-DD``); a missing revision is a 400.
- ``GET /api/profiles?filter=equals(email,"...")`` (scope ``profiles:read``),
  with ``page[size]`` (1 to 100, default 20) and ``page[cursor]``:
  ``{"data": [{"type": "profile", "id", "attributes": {...}, "links":
  {"self"}}], "links": {"self", "next", "prev"}}``, ``next`` a full URL while
  more pages follow, else null.
- ``POST /api/data-privacy-deletion-jobs`` (scope ``data-privacy:write``) with
  ``{"data": {"type": "data-privacy-deletion-job", "attributes": {"profile":
  {"data": {"type": "profile", "attributes": {<exactly one of email,
  phone_number, id>}}}}}}``: 202 with no body. Klaviyo deletes every profile
  matching the identifier; the fake does so at once, and an identifier that
  matches nothing is accepted just the same.

Errors are ``{"errors": [{"id", "status", "code", "title", "detail",
"source"}]}``; a rate limit is 429 with ``Retry-After``; other answers carry the
``RateLimit-Limit/Remaining/Reset`` headers of the steady window.
Not part of dsr's product: the catalogue's tests serve it on a local port.
"""

import json
import re
import uuid
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode

Answer = tuple[int, dict[str, str], bytes]

API_KEY = "pk_00000000000000000000000000000001"
REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.\w+)?$")
SCOPES = ("profiles:read", "data-privacy:write")
JSONAPI = "application/vnd.api+json"
FILTER = re.compile(r'^equals\((email|phone_number|external_id|id),"([^"]*)"\)$')
IDENTIFIERS = ("email", "phone_number", "id")


def _answer(status: int, data: dict | None, headers: dict[str, str] | None = None) -> Answer:
    body = b"" if data is None else json.dumps(data).encode()
    return status, {"Content-Type": JSONAPI, **(headers or {})}, body


def _errors(status: int, code: str, title: str, detail: str, source: dict | None = None) -> Answer:
    error = {"id": str(uuid.uuid4()), "status": status, "code": code, "title": title, "detail": detail}
    error["source"] = source or {"pointer": "/data/"}
    return _answer(status, {"errors": [error]})


class KlaviyoFake:
    """One Klaviyo account's profiles: ``{"id": ..., "attributes": {"email": ..., ...}}``."""

    def __init__(
        self, profiles: list[dict] = (), *, api_key: str = API_KEY, scopes: tuple[str, ...] = SCOPES, base_url: str = ""
    ):
        self.profiles = {p["id"]: {"id": p["id"], "attributes": dict(p["attributes"])} for p in profiles}
        self.api_key, self.scopes, self.base_url = api_key, set(scopes), base_url
        self.deletion_jobs: list[dict] = []
        self.calls: list[tuple[str, str, str]] = []
        self.refusals: list[str] = []

    def failure(self, kind: str, *, retry_after: int = 1) -> Answer:
        """Answer as Klaviyo does for ``kind``: unauthorized, forbidden, not_found, rate_limited, server_error."""
        if kind == "unauthorized":
            return _errors(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid private key.",
            )
        if kind == "forbidden":
            return _errors(
                403,
                "permission_denied",
                "You do not have permission to perform this action.",
                "The API key is missing required scopes.",
            )
        if kind == "not_found":
            return _errors(404, "not_found", "Not found.", "The requested resource does not exist.")
        if kind == "rate_limited":
            status, headers, body = _errors(
                429,
                "throttled",
                "Request was throttled.",
                f"Request was throttled. Expected available in {retry_after} second{'s' if retry_after != 1 else ''}.",
            )
            return status, {**headers, "Retry-After": str(retry_after)}, body
        return _errors(503, "error", "A server error occurred.", "Service temporarily unavailable.")

    def _refuse(self, message: str, source: dict | None = None) -> Answer:
        self.refusals.append(message)
        return _errors(400, "invalid", "Invalid input.", message, source)

    def _limits(self, answer: Answer) -> Answer:
        status, headers, body = answer
        return status, {**headers, "RateLimit-Limit": "60", "RateLimit-Remaining": "59", "RateLimit-Reset": "42"}, body

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request; ``headers`` have lower-case names."""
        self.calls.append((method, path, query))
        if headers.get("authorization") != f"Klaviyo-API-Key {self.api_key}":
            return self.failure("unauthorized")
        if not REVISION.match(headers.get("revision", "")):
            return self._refuse("Missing or invalid revision header.", {"header": "revision"})
        path = path.rstrip("/")
        if method == "GET" and path == "/api/profiles":
            if "profiles:read" not in self.scopes:
                return self.failure("forbidden")
            return self._limits(self._profiles(query))
        if method == "POST" and path == "/api/data-privacy-deletion-jobs":
            if "data-privacy:write" not in self.scopes:
                return self.failure("forbidden")
            return self._limits(self._deletion(headers, body))
        return self.failure("not_found")

    def _profiles(self, query: str) -> Answer:
        params = {key: values[0] for key, values in parse_qs(query).items()}
        size = params.get("page[size]", "20")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return self._refuse("page[size] must be between 1 and 100.", {"parameter": "page[size]"})
        match = FILTER.match(params.get("filter", ""))
        if match is None:
            return self._refuse('The fake answers only filter=equals(<field>,"<value>").', {"parameter": "filter"})
        field, value = match.groups()
        cursor = params.get("page[cursor]", "0")
        if not cursor.isdigit():
            return self._refuse("Invalid page cursor.", {"parameter": "page[cursor]"})

        def holds(profile: dict) -> bool:
            if field == "id":
                return profile["id"] == value
            # Klaviyo stores emails in lower case and matches them so.
            return str(profile["attributes"].get(field) or "").lower() == value.lower()

        found = sorted((p for p in self.profiles.values() if holds(p)), key=lambda p: p["id"])
        start, size = int(cursor), int(size)
        data = [
            {
                "type": "profile",
                "id": p["id"],
                "attributes": p["attributes"],
                "links": {"self": f"{self.base_url}/api/profiles/{p['id']}/"},
            }
            for p in found[start : start + size]
        ]

        def link(at: int) -> str:
            return f"{self.base_url}/api/profiles/?" + urlencode(
                {"filter": params["filter"], "page[size]": size, "page[cursor]": at}
            )

        links = {
            "self": link(start),
            "next": link(start + size) if start + size < len(found) else None,
            "prev": link(max(0, start - size)) if start else None,
        }
        return _answer(200, {"data": data, "links": links})

    def _deletion(self, headers: Mapping[str, str], body: bytes) -> Answer:
        if headers.get("content-type", "").split(";")[0] not in (JSONAPI, "application/json"):
            return _errors(415, "unsupported_media_type", "Unsupported media type.", f"Content type must be {JSONAPI}.")
        try:
            data = json.loads(body)["data"]
            profile = data["attributes"]["profile"]["data"]
            given = profile["attributes"]
        except (ValueError, KeyError, TypeError):
            return self._refuse("The body must be a data-privacy-deletion-job document.", {"pointer": "/data"})
        if data.get("type") != "data-privacy-deletion-job" or profile.get("type") != "profile":
            return self._refuse("Invalid resource type.", {"pointer": "/data/type"})
        named = [key for key in IDENTIFIERS if given.get(key)]
        if len(named) != 1 or set(given) - set(IDENTIFIERS):
            return self._refuse(
                "Exactly one of email, phone_number or id must be given.",
                {"pointer": "/data/attributes/profile/data/attributes"},
            )
        key, value = named[0], str(given[named[0]])
        matching = [
            pid
            for pid, p in self.profiles.items()
            if (pid == value if key == "id" else str(p["attributes"].get(key) or "").lower() == value.lower())
        ]
        for pid in matching:
            del self.profiles[pid]
        self.deletion_jobs.append({"identifier": key, "deleted": len(matching)})
        return _answer(202, None)

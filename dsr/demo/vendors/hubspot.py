"""A stand-in for HubSpot's CRM v3 contacts API: search by email and the GDPR permanent delete.

It checks requests the way HubSpot's API reference describes them and answers
with the documented JSON:

- ``POST /crm/v3/objects/contacts/search`` with a private app token
  (``Authorization: Bearer ...``) holding ``crm.objects.contacts.read``; the
  body's ``filterGroups`` (at most 5 groups of at most 6 filters, joined by OR,
  filters within a group by AND), ``properties``, ``limit`` (at most 200) and
  the ``after`` cursor. The answer is ``{"total", "results": [{"id",
  "properties", "createdAt", "updatedAt", "archived"}], "paging": {"next":
  {"after"}}}``, ``paging`` only while more pages follow. Property values are
  strings or null, as HubSpot sends them.
- ``POST /crm/v3/objects/contacts/gdpr-delete`` with
  ``crm.objects.contacts.write`` and ``{"objectId": id}`` (or ``{"objectId":
  email, "idProperty": "email"}``): 204 with no body; the contact and everything
  associated with it are gone. An unknown id is a 404 ``OBJECT_NOT_FOUND``; an
  unknown email is blocklisted, as HubSpot does, and answered 204.

Errors carry HubSpot's body ``{"status": "error", "message", "correlationId",
"category"}``; a rate limit adds the ``X-HubSpot-RateLimit-*`` headers.
Not part of dsr's product: the catalogue's tests serve it on a local port.
"""

import json
import uuid
from collections.abc import Mapping

Answer = tuple[int, dict[str, str], bytes]

TOKEN = "pat-eu1-00000000-0000-4000-8000-000000000001"  # noqa: S105 - the fake's own token, not a secret
READ_SCOPE = "crm.objects.contacts.read"
WRITE_SCOPE = "crm.objects.contacts.write"
SEARCH_PATH = "/crm/v3/objects/contacts/search"
GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"
# What a search returns when the body names no properties (HubSpot's documented default set).
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
MAX_LIMIT = 200
MAX_GROUPS = 5
MAX_FILTERS = 6


def _answer(status: int, data: dict | None = None, headers: dict[str, str] | None = None) -> Answer:
    body = b"" if data is None else json.dumps(data).encode()
    return status, {"Content-Type": "application/json;charset=utf-8", **(headers or {})}, body


def _error(status: int, category: str, message: str, **extra) -> Answer:
    return _answer(
        status,
        {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra},
    )


class HubSpotFake:
    """HubSpot's contacts: ``contacts`` are ``{"id": ..., "properties": {...}}`` with string ids."""

    def __init__(self, contacts: list[dict] = (), *, token: str = TOKEN, scopes: tuple[str, ...] = ()):
        self.contacts: dict[str, dict] = {}
        for contact in contacts:
            self.contacts[str(contact["id"])] = {
                "id": str(contact["id"]),
                "properties": {key: None if v is None else str(v) for key, v in contact["properties"].items()},
                "createdAt": contact.get("createdAt", "2025-03-04T09:12:45.123Z"),
                "updatedAt": contact.get("updatedAt", "2026-01-10T14:02:11.456Z"),
                "archived": False,
            }
            record = self.contacts[str(contact["id"])]
            record["properties"].setdefault("createdate", record["createdAt"])
            record["properties"].setdefault("lastmodifieddate", record["updatedAt"])
        self.token = token
        self.scopes = set(scopes or (READ_SCOPE, WRITE_SCOPE))
        self.blocklist: set[str] = set()
        self.calls: list[tuple[str, str, dict | None]] = []
        self.refusals: list[str] = []

    def emails(self) -> set[str]:
        """Return the contacts' primary emails, as the tests check what is left."""
        return {(c["properties"].get("email") or "").lower() for c in self.contacts.values()}

    def failure(self, kind: str, *, retry_after: int = 1) -> Answer:
        """Answer as HubSpot does for ``kind``: unauthorized, forbidden, not_found, rate_limited, server_error."""
        if kind == "unauthorized":
            return _error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        if kind == "forbidden":
            return _error(
                403,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call.",
                errors=[{"message": "One or more of the following scopes are required.", "context": {}}],
            )
        if kind == "not_found":
            return _error(404, "OBJECT_NOT_FOUND", "resource not found")
        if kind == "rate_limited":
            status, headers, body = _answer(
                429,
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "SECONDLY",
                },
            )
            headers.update(
                {
                    "Retry-After": str(retry_after),
                    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                    "X-HubSpot-RateLimit-Max": "190",
                    "X-HubSpot-RateLimit-Remaining": "0",
                }
            )
            return status, headers, body
        return _error(502, "INTERNAL_ERROR", "Bad Gateway: the request timed out upstream.")

    def _refuse(self, message: str) -> Answer:
        self.refusals.append(message)
        return _error(400, "VALIDATION_ERROR", message)

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request; ``headers`` have lower-case names."""
        path = path.rstrip("/")
        if headers.get("authorization") != f"Bearer {self.token}":
            return self.failure("unauthorized")
        if method != "POST" or path not in (SEARCH_PATH, GDPR_DELETE_PATH):
            return _error(404, "OBJECT_NOT_FOUND", f"No route matches {method} {path}")
        if "application/json" not in headers.get("content-type", ""):
            return _error(415, "VALIDATION_ERROR", "Content type must be application/json")
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            return self._refuse(f"Invalid input JSON on line 1: {exc}")
        if not isinstance(data, dict):
            return self._refuse("Invalid input JSON: expected an object")
        self.calls.append((method, path, data))
        if path == SEARCH_PATH:
            if READ_SCOPE not in self.scopes:
                return self.failure("forbidden")
            return self._search(data)
        if WRITE_SCOPE not in self.scopes:
            return self.failure("forbidden")
        return self._gdpr_delete(data)

    def _search(self, data: dict) -> Answer:
        groups = data.get("filterGroups", [])
        if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
            return self._refuse(f"filterGroups must be a list of at most {MAX_GROUPS} groups")
        for group in groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or not filters or len(filters) > MAX_FILTERS:
                return self._refuse(f"each filter group needs 1 to {MAX_FILTERS} filters")
            for item in filters:
                if not isinstance(item, dict) or not {"propertyName", "operator"} <= set(item):
                    return self._refuse("each filter needs propertyName and operator")
                if item["operator"] != "EQ" or "value" not in item:
                    return self._refuse(f"the fake answers only EQ filters with a value, not {item['operator']}")
        properties = data.get("properties") or list(DEFAULT_PROPERTIES)
        if not isinstance(properties, list) or not all(isinstance(name, str) for name in properties):
            return self._refuse("properties must be a list of property names")
        limit = data.get("limit", 10)
        if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
            return self._refuse(f"limit must be between 1 and {MAX_LIMIT}")
        after = data.get("after", "0")
        if not str(after).isdigit():
            return self._refuse("after must be the paging cursor a previous page returned")

        def matches(contact: dict) -> bool:
            if not groups:
                return True
            values = contact["properties"]
            # HubSpot compares emails and other strings without regard to case.
            return any(
                all(
                    str(values.get(item["propertyName"]) or "").lower() == str(item["value"]).lower()
                    for item in group["filters"]
                )
                for group in groups
            )

        found = sorted((c for c in self.contacts.values() if matches(c)), key=lambda c: int(c["id"]))
        start = int(after)
        page = found[start : start + limit]
        results = []
        for contact in page:
            names = [*properties, "hs_object_id", "createdate", "lastmodifieddate"]
            shown = {name: contact["properties"].get(name) for name in dict.fromkeys(names)}
            shown["hs_object_id"] = contact["id"]
            results.append({**contact, "properties": shown})
        answer: dict = {"total": len(found), "results": results}
        if start + limit < len(found):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return _answer(200, answer)

    def _gdpr_delete(self, data: dict) -> Answer:
        object_id, id_property = data.get("objectId"), data.get("idProperty")
        if not isinstance(object_id, str) or not object_id:
            return self._refuse("objectId is required")
        if id_property not in (None, "email"):
            return self._refuse("idProperty may only be email")
        if id_property == "email":
            matching = [
                key
                for key, c in self.contacts.items()
                if (c["properties"].get("email") or "").lower() == object_id.lower()
            ]
            if not matching:
                # HubSpot blocklists an email it does not know, so it cannot be used again.
                self.blocklist.add(object_id.lower())
            for key in matching:
                del self.contacts[key]
            return _answer(204)
        if object_id not in self.contacts:
            return self.failure("not_found")
        del self.contacts[object_id]
        return _answer(204)

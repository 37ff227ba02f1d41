"""A stand-in for Klaviyo's API: profiles found by email, read, and the data privacy deletion request.

Checked as Klaviyo's API reference documents it:

- every request carries ``Authorization: Klaviyo-API-Key <private key>`` and a
  ``revision`` header (``YYYY-MM-DD``); a missing revision is a 400; a key
  without the scope an endpoint needs (``profiles:read``,
  ``data-privacy:write``) gets 403;
- ``GET /api/profiles?filter=equals(email,"...")`` with ``page[size]`` (1 to
  100, default 20) and ``page[cursor]``: ``{"data": [{"type": "profile",
  "id", "attributes", "links"}], "links": {"self", "next", "prev"}}``,
  ``links.next`` the next page's whole address while more follow, else null;
- ``GET /api/profiles/{id}``: ``{"data": {...}, "links": {"self"}}``; the
  marketing consent (``attributes.subscriptions``) only with
  ``additional-fields[profile]=subscriptions``;
- ``POST /api/data-privacy-deletion-jobs`` with ``{"data": {"type":
  "data-privacy-deletion-job", "attributes": {"profile": {"data": {"type":
  "profile", "attributes": {<exactly one of email, phone_number, id>}}}}}}``:
  202 and no body. Klaviyo deletes every profile matching the identifier,
  asynchronously; the stand-in does so at once. An identifier that matches
  nothing is accepted just the same.

Errors are ``{"errors": [{"id", "status", "code", "title", "detail",
"source"}]}``; answers that are not rate limited carry
``RateLimit-Limit/Remaining/Reset``. Klaviyo documents the JSON:API media type
for request bodies; the stand-in also takes ``application/json``.
"""

import re
import uuid
from urllib.parse import urlencode

from dsr.demo.vendors.base import Call, Reply, VendorFake

API_KEY = "pk_00000000000000000000000000000001"  # the stand-in's own key, not a secret
REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.\w+)?$")
SCOPES = ("profiles:read", "data-privacy:write")
JSONAPI = "application/vnd.api+json"
FILTER = re.compile(r'^equals\((email|phone_number|external_id|id),"([^"]*)"\)$')
IDENTIFIERS = ("email", "phone_number", "id")
CODES = {
    400: ("invalid", "Invalid input."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("throttled", "Request was throttled."),
}


def profile(profile_id: str, *, email: str, first_name: str, last_name: str, **attributes) -> dict:
    """Return a profile as Klaviyo's reference shows one."""
    return {
        "type": "profile",
        "id": profile_id,
        "attributes": {
            "email": email,
            "phone_number": None,
            "external_id": None,
            "first_name": first_name,
            "last_name": last_name,
            "organization": None,
            "locale": "da-DK",
            "title": None,
            "image": None,
            "created": "2025-02-01T10:00:00+00:00",
            "updated": "2026-01-15T08:30:00+00:00",
            "last_event_date": "2026-01-14T19:04:12+00:00",
            "location": {"address1": None, "city": "Aarhus", "country": "Denmark", "zip": "8000", "ip": None},
            "properties": {},
            # Sent only when asked for with additional-fields[profile]=subscriptions.
            "subscriptions": {
                "email": {"marketing": {"can_receive_email_marketing": True, "consent": "SUBSCRIBED"}},
                "sms": None,
            },
            **attributes,
        },
    }


class KlaviyoFake(VendorFake):
    """Klaviyo's profiles and data privacy endpoints."""

    name = "klaviyo"
    routes = (
        ("GET", r"/api/profiles/?", "profiles_list"),
        ("GET", r"/api/profiles/(?P<profile_id>[^/]+)/?", "profile_read"),
        ("POST", r"/api/data-privacy-deletion-jobs/?", "deletion_request"),
    )

    def __init__(self, *args, api_key: str = API_KEY, scopes: tuple[str, ...] = SCOPES, **kwargs):
        super().__init__(*args, **kwargs)
        self.api_key, self.scopes = api_key, set(scopes)
        self.deletion_jobs: list[dict] = []

    def authenticated(self, call: Call) -> bool:
        return call.headers.get("authorization") == f"Klaviyo-API-Key {self.api_key}"

    def error(self, status: int, message: str) -> Reply:
        code, title = CODES.get(status, ("error", "A server error occurred."))
        error = {"id": str(uuid.uuid4()), "status": status, "code": code, "title": title, "detail": message}
        error["source"] = {"pointer": "/data/"}
        return Reply(status, {"errors": [error]}, {"Content-Type": JSONAPI})

    def _reply(self, status: int, body=None) -> Reply:
        # The state of the steady window, sent with every answer that is not itself a 429.
        limits = {"RateLimit-Limit": "60", "RateLimit-Remaining": "59", "RateLimit-Reset": "42"}
        return Reply(status, body, {"Content-Type": JSONAPI, **limits})

    def _checked(self, call: Call, scope: str) -> Reply | None:
        if not REVISION.match(call.headers.get("revision", "")):
            return self.refuse("Missing or invalid revision header.")
        if scope not in self.scopes:
            return self.error(403, f"This API key is missing the required scope {scope}.")
        return None

    def _item(self, found: dict, call: Call) -> dict:
        attributes = dict(found["attributes"])
        if "subscriptions" not in (call.param("additional-fields[profile]") or "").split(","):
            attributes.pop("subscriptions", None)
        return {**found, "attributes": attributes, "links": {"self": f"{self.url}/api/profiles/{found['id']}/"}}

    def profiles_list(self, call: Call) -> Reply:
        if refused := self._checked(call, "profiles:read"):
            return refused
        size = call.param("page[size]") or "20"
        if not size.isdigit() or not 1 <= int(size) <= 100:
            return self.refuse("page[size] must be between 1 and 100.")
        match = FILTER.match(call.param("filter") or "")
        if match is None:
            return self.refuse('this stand-in answers only filter=equals(<field>,"<value>")')
        field, value = match.groups()
        cursor = call.param("page[cursor]") or "0"
        if not cursor.isdigit():
            return self.refuse("Invalid page cursor.")

        def holds(found: dict) -> bool:
            if field == "id":
                return found["id"] == value
            # Klaviyo keeps emails in lower case and matches them so.
            return str(found["attributes"].get(field) or "").lower() == value.lower()

        found = sorted((p for p in self.store.items("profiles") if holds(p)), key=lambda p: p["id"])
        start, size = int(cursor), int(size)

        def link(at: int) -> str:
            query = urlencode({"filter": call.param("filter"), "page[size]": size, "page[cursor]": at})
            return f"{self.url}/api/profiles/?{query}"

        return self._reply(
            200,
            {
                "data": [self._item(p, call) for p in found[start : start + size]],
                "links": {
                    "self": link(start),
                    "next": link(start + size) if start + size < len(found) else None,
                    "prev": link(max(0, start - size)) if start else None,
                },
            },
        )

    def profile_read(self, call: Call, profile_id: str) -> Reply:
        if refused := self._checked(call, "profiles:read"):
            return refused
        found = self.store.get("profiles", profile_id)
        if found is None:
            return self.error(404, f"A profile with id {profile_id} does not exist.")
        return self._reply(
            200, {"data": self._item(found, call), "links": {"self": f"{self.url}/api/profiles/{profile_id}/"}}
        )

    def deletion_request(self, call: Call) -> Reply:
        if refused := self._checked(call, "data-privacy:write"):
            return refused
        if call.headers.get("content-type", "").split(";")[0] not in (JSONAPI, "application/json"):
            return self.refuse(f"Content type must be {JSONAPI}.", 415)
        try:
            data = call.json()["data"]
            person = data["attributes"]["profile"]["data"]
            given = person["attributes"]
            if not isinstance(given, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self.refuse("The body must be a data-privacy-deletion-job document.")
        if data.get("type") != "data-privacy-deletion-job" or person.get("type") != "profile":
            return self.refuse("Invalid resource type.")
        named = [key for key in IDENTIFIERS if given.get(key)]
        if len(named) != 1 or set(given) - set(IDENTIFIERS):
            return self.refuse("Exactly one of email, phone_number or id must be given.")
        key, value = named[0], str(given[named[0]])
        matching = [
            p["id"]
            for p in self.store.items("profiles")
            if (p["id"] == value if key == "id" else str(p["attributes"].get(key) or "").lower() == value.lower())
        ]
        for profile_id in matching:
            self.store.delete("profiles", profile_id)
        self.deletion_jobs.append({"identifier": key, "deleted": len(matching)})
        return self._reply(202)

    def add_profile(self, profile_id: str, *, email: str, first_name: str, last_name: str, **attributes) -> None:
        """Put a profile in the store (Klaviyo keeps emails in lower case)."""
        self.store.put(
            "profiles",
            profile_id,
            profile(profile_id, email=email.lower(), first_name=first_name, last_name=last_name, **attributes),
        )

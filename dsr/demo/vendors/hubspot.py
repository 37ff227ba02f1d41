"""A stand-in for HubSpot's CRM API v3: contacts found by email, read, and permanently deleted under the GDPR.

Checked as HubSpot's API reference documents it:

- a private app token as ``Authorization: Bearer ...``, with the scope
  ``crm.objects.contacts.read`` to read and ``crm.objects.contacts.write`` for
  the GDPR delete (a token without it gets 403 ``MISSING_SCOPES``);
- ``POST /crm/v3/objects/contacts/search``: a JSON body with ``filterGroups``
  (at most 5 groups of at most 6 filters; groups are ORed, a group's filters
  ANDed), ``properties``, ``limit`` (at most 200) and the ``after`` cursor.
  The answer is ``{"total", "results": [...], "paging": {"next": {"after"}}}``,
  ``paging`` only while more pages follow;
- ``GET /crm/v3/objects/contacts/{contactId}?properties=a,b&archived=false``:
  one contact ``{"id", "properties", "createdAt", "updatedAt", "archived"}``,
  property values as strings or null; without ``properties``, HubSpot's
  default set;
- ``POST /crm/v3/objects/contacts/gdpr-delete`` with ``{"objectId": id}`` (or
  ``{"objectId": email, "idProperty": "email"}``): 204 and no body; the contact
  and its associated content are gone for good. An id HubSpot does not know is
  a 404; an email it does not know is blocklisted (HubSpot then refuses it for
  good) and answered 204, which is why the catalogue entry deletes by id.

Errors are ``{"status": "error", "message", "correlationId", "category"}``; a
rate limit adds ``policyName`` and the ``X-HubSpot-RateLimit-*`` headers.
"""

import uuid

from dsr.demo.vendors.base import Call, Reply, VendorFake

TOKEN = "pat-eu1-00000000-0000-4000-8000-000000000001"  # noqa: S105 - the stand-in's own token, not a secret
READ_SCOPE = "crm.objects.contacts.read"
WRITE_SCOPE = "crm.objects.contacts.write"
# What HubSpot returns for a contact when the request names no properties.
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
MAX_LIMIT = 200
MAX_GROUPS = 5
MAX_FILTERS = 6
CATEGORIES = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    415: "VALIDATION_ERROR",
    429: "RATE_LIMITS",
}


def contact(contact_id: str, *, email: str, firstname: str, lastname: str, **properties: str | None) -> dict:
    """Return a contact as HubSpot's reference shows one (property values are strings or null)."""
    created, updated = "2025-03-04T09:12:45.123Z", "2026-01-10T14:02:11.456Z"
    return {
        "id": contact_id,
        "properties": {
            "createdate": created,
            "email": email,
            "firstname": firstname,
            "hs_object_id": contact_id,
            "lastmodifieddate": updated,
            "lastname": lastname,
            **properties,
        },
        "createdAt": created,
        "updatedAt": updated,
        "archived": False,
    }


class HubSpotFake(VendorFake):
    """HubSpot's contacts search, read and GDPR delete endpoints."""

    name = "hubspot"
    routes = (
        ("POST", r"/crm/v3/objects/contacts/search", "contacts_search"),
        ("POST", r"/crm/v3/objects/contacts/gdpr-delete", "contact_gdpr_delete"),
        ("GET", r"/crm/v3/objects/contacts/(?P<contact_id>[^/]+)", "contact_read"),
    )

    def __init__(self, *args, token: str = TOKEN, scopes: tuple[str, ...] = (READ_SCOPE, WRITE_SCOPE), **kwargs):
        super().__init__(*args, **kwargs)
        self.token, self.scopes = token, set(scopes)
        self.blocklist: set[str] = set()

    def authenticated(self, call: Call) -> bool:
        return call.headers.get("authorization") == f"Bearer {self.token}"

    def error(self, status: int, message: str) -> Reply:
        body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": CATEGORIES.get(status, "INTERNAL_ERROR"),
        }
        headers = {}
        if status == 429:
            body |= {"errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
            headers = {
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": "190",
                "X-HubSpot-RateLimit-Remaining": "0",
            }
        return Reply(status, body, headers)

    def _scoped(self, scope: str) -> Reply | None:
        if scope not in self.scopes:
            return self.error(403, f"This app hasn't been granted all required scopes to make this call: {scope}")
        return None

    def _json_body(self, call: Call) -> dict | Reply:
        if not call.headers.get("content-type", "").startswith("application/json"):
            return self.refuse("Content-Type must be application/json", 415)
        try:
            data = call.json()
        except ValueError:
            return self.refuse("Invalid input JSON: the body is not JSON")
        if not isinstance(data, dict):
            return self.refuse("Invalid input JSON: expected an object")
        return data

    @staticmethod
    def _shown(found: dict, names: list[str]) -> dict:
        names = [*names, "hs_object_id", "createdate", "lastmodifieddate"]
        return {**found, "properties": {name: found["properties"].get(name) for name in dict.fromkeys(names)}}

    def contacts_search(self, call: Call) -> Reply:
        if refused := self._scoped(READ_SCOPE):
            return refused
        data = self._json_body(call)
        if isinstance(data, Reply):
            return data
        groups = data.get("filterGroups", [])
        if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
            return self.refuse(f"filterGroups must be a list of at most {MAX_GROUPS} groups")
        for group in groups:
            filters = group.get("filters") if isinstance(group, dict) else None
            if not isinstance(filters, list) or not 1 <= len(filters) <= MAX_FILTERS:
                return self.refuse(f"each filter group needs 1 to {MAX_FILTERS} filters")
            for item in filters:
                if not isinstance(item, dict) or not {"propertyName", "operator", "value"} <= set(item):
                    return self.refuse("each filter needs propertyName, operator and value")
                if item["operator"] != "EQ":
                    return self.refuse(f"this stand-in answers EQ filters only, not {item['operator']}")
        properties = data.get("properties") or list(DEFAULT_PROPERTIES)
        if not isinstance(properties, list) or not all(isinstance(name, str) for name in properties):
            return self.refuse("properties must be a list of property names")
        limit = data.get("limit", 10)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            return self.refuse(f"limit must be between 1 and {MAX_LIMIT}")
        after = str(data.get("after", "0"))
        if not after.isdigit():
            return self.refuse("after must be a paging cursor HubSpot gave")

        def matches(found: dict) -> bool:
            # HubSpot compares string properties such as email without regard to case.
            values = found["properties"]
            return not groups or any(
                all(
                    str(values.get(item["propertyName"]) or "").lower() == str(item["value"]).lower()
                    for item in group["filters"]
                )
                for group in groups
            )

        found = sorted((c for c in self.store.items("contacts") if matches(c)), key=lambda c: int(c["id"]))
        start = int(after)
        answer: dict = {
            "total": len(found),
            "results": [self._shown(c, properties) for c in found[start : start + limit]],
        }
        if start + limit < len(found):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return Reply(200, answer)

    def contact_read(self, call: Call, contact_id: str) -> Reply:
        if refused := self._scoped(READ_SCOPE):
            return refused
        if call.param("archived") not in (None, "false", "true"):
            return self.refuse("archived must be true or false")
        found = self.store.get("contacts", contact_id)
        if found is None or call.param("archived") == "true":
            return self.error(404, "resource not found")
        names = [name for name in (call.param("properties") or "").split(",") if name]
        return Reply(200, self._shown(found, names or list(DEFAULT_PROPERTIES)))

    def contact_gdpr_delete(self, call: Call) -> Reply:
        if refused := self._scoped(WRITE_SCOPE):
            return refused
        data = self._json_body(call)
        if isinstance(data, Reply):
            return data
        object_id, id_property = data.get("objectId"), data.get("idProperty")
        if not isinstance(object_id, str) or not object_id:
            return self.refuse("objectId is required")
        if id_property not in (None, "email"):
            return self.refuse("idProperty may only be email")
        if id_property == "email":
            matching = [c["id"] for c in self.store.items("contacts") if c["properties"]["email"] == object_id.lower()]
            if not matching:
                self.blocklist.add(object_id.lower())
            for key in matching:
                self.store.delete("contacts", key)
            return Reply(204)
        if not self.store.delete("contacts", object_id):
            return self.error(404, "resource not found")
        return Reply(204)

    def add_contact(self, contact_id: str, *, email: str, firstname: str, lastname: str, **properties) -> None:
        """Put a contact in the store (HubSpot keeps emails in lower case)."""
        self.store.put(
            "contacts",
            contact_id,
            contact(contact_id, email=email.lower(), firstname=firstname, lastname=lastname, **properties),
        )

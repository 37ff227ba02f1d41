"""A stand-in for the Mailchimp Marketing API 3.0: member search, members, activity feed, notes, deletion.

Checked as https://mailchimp.com/developer/marketing/api/ documents it: the
API key as the password of HTTP basic (any user name), paths under /3.0,
subscriber hashes that are the MD5 of the lower-case email, ``count`` at most
1,000 and ``offset``. Errors are problem documents (type, title, status,
detail, instance). Permanent deletion removes a member with its activity and
notes; a member the stand-in is told to refuse (``delete_refused``) answers
400, and can then be archived (DELETE), which keeps its data with status
"archived", as Mailchimp does.
"""

import base64
import hashlib
import uuid

from dsr.demo.vendors.base import Call, Reply, VendorFake

API_KEY = "demo0mailchimp0key0not0for0production-us21"  # the demo map's default, not a secret
LIST_ID = "a1b2c3d4e5"
MEMBER = r"/3.0/lists/(?P<list_id>[0-9a-z]+)/members/(?P<member>[0-9a-f]{32})"
# The statuses a member may be set to by PATCH.
MEMBER_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")


def subscriber_hash(email: str) -> str:
    """Return Mailchimp's subscriber hash of an email: the MD5 of its lower-case form."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def member(email: str, *, name: str, list_id: str = LIST_ID) -> dict:
    """Return a list member as the API reference shows one."""
    first, _, last = name.partition(" ")
    return {
        "id": subscriber_hash(email),
        "email_address": email,
        "unique_email_id": subscriber_hash(email)[:10],
        "contact_id": subscriber_hash(email)[10:20],
        "full_name": name,
        "web_id": 123456,
        "email_type": "html",
        "status": "subscribed",
        "merge_fields": {"FNAME": first, "LNAME": last, "ADDRESS": "", "PHONE": ""},
        "interests": {},
        "stats": {"avg_open_rate": 0.5, "avg_click_rate": 0.1},
        "ip_signup": "192.0.2.10",
        "timestamp_signup": "2025-03-01T10:00:00+00:00",
        "ip_opt": "192.0.2.10",
        "timestamp_opt": "2025-03-01T10:05:00+00:00",
        "member_rating": 3,
        "last_changed": "2025-03-01T10:05:00+00:00",
        "language": "da",
        "vip": False,
        "email_client": "Gmail",
        "location": {
            "latitude": 0,
            "longitude": 0,
            "gmtoff": 0,
            "dstoff": 0,
            "country_code": "DK",
            "timezone": "Europe/Copenhagen",
            "region": "84",
        },
        "source": "API - Generic",
        "tags_count": 1,
        "tags": [{"id": 1, "name": "måltidskasse"}],
        "list_id": list_id,
    }


class MailchimpFake(VendorFake):
    """Mailchimp's search-members, members, activity-feed and notes endpoints."""

    name = "mailchimp"
    routes = (
        ("GET", r"/3.0/search-members", "members_search"),
        ("GET", MEMBER, "member_read"),
        ("DELETE", MEMBER, "member_archive"),
        ("PATCH", MEMBER, "member_update"),
        ("POST", MEMBER + r"/actions/delete-permanent", "member_delete_permanent"),
        ("GET", MEMBER + r"/activity-feed", "activity_list"),
        ("GET", MEMBER + r"/notes", "notes_list"),
    )

    def __init__(self, *args, api_key: str = API_KEY, **kwargs):
        super().__init__(*args, **kwargs)
        self.api_key = api_key
        self.delete_refused: set[tuple[str, str]] = set()  # (list id, subscriber hash) whose deletion is refused

    def authenticated(self, call: Call) -> bool:
        given = call.headers.get("authorization", "")
        if given == f"Bearer {self.api_key}":
            return True
        if not given.startswith("Basic "):
            return False
        try:
            _, _, password = base64.b64decode(given[6:]).decode().partition(":")
        except ValueError:
            return False
        return password == self.api_key

    def error(self, status: int, message: str) -> Reply:
        titles = {
            400: "Invalid Resource",
            401: "API Key Invalid",
            403: "Forbidden",
            404: "Resource Not Found",
            429: "Too Many Requests",
        }
        return Reply(
            status,
            {
                "type": "https://mailchimp.com/developer/marketing/docs/errors/",
                "title": titles.get(status, "Internal Server Error"),
                "status": status,
                "detail": message,
                "instance": str(uuid.uuid4()),
            },
            {"Content-Type": "application/problem+json"},
        )

    def _member(self, list_id: str, member_hash: str) -> dict | None:
        return self.store.get("members", f"{list_id}:{member_hash}")

    def _page(self, call: Call, items: list[dict], key: str, **extra) -> Reply:
        count, offset = call.param("count") or "10", call.param("offset") or "0"
        if not count.isdigit() or not offset.isdigit() or not 1 <= int(count) <= 1000:
            return self.refuse("count must be 1 to 1000 and offset a whole number")
        start = int(offset)
        return Reply(200, {key: items[start : start + int(count)], **extra, "total_items": len(items)})

    def members_search(self, call: Call) -> Reply:
        query = call.param("query")
        if not query:
            return self.refuse("query is required")
        list_id = call.param("list_id")
        exact = [
            item
            for item in self.store.items("members")
            if item["email_address"].lower() == query.lower() and (list_id is None or item["list_id"] == list_id)
        ]
        return Reply(
            200,
            {
                "exact_matches": {"members": exact, "total_items": len(exact)},
                "full_search": {"members": [], "total_items": 0},
            },
        )

    def member_read(self, call: Call, list_id: str, member: str) -> Reply:
        found = self._member(list_id, member)
        if found is None:
            return self.error(404, "The requested resource could not be found.")
        return Reply(200, found)

    def member_update(self, call: Call, list_id: str, member: str) -> Reply:
        """Change a member's subscription status (``{"status": "unsubscribed"}``), as Mailchimp's PATCH does."""
        try:
            changes = call.json()
        except ValueError:
            return self.refuse("the body must be JSON")
        if not isinstance(changes, dict) or set(changes) - {"status"}:
            return self.refuse("this stand-in changes only status")
        if changes.get("status") not in MEMBER_STATUSES:
            return self.refuse(f"status must be one of {', '.join(MEMBER_STATUSES)}")
        found = self._member(list_id, member)
        if found is None:
            return self.error(404, "The requested resource could not be found.")
        updated = {**found, "status": changes["status"]}
        self.store.put("members", f"{list_id}:{member}", updated)
        return Reply(200, updated)

    def member_archive(self, call: Call, list_id: str, member: str) -> Reply:
        found = self._member(list_id, member)
        if found is None:
            return self.error(404, "The requested resource could not be found.")
        self.store.put("members", f"{list_id}:{member}", {**found, "status": "archived"})
        return Reply(204)

    def member_delete_permanent(self, call: Call, list_id: str, member: str) -> Reply:
        if call.body and call.body.strip() not in (b"", b"{}"):
            return self.refuse("delete-permanent takes no body")
        if self._member(list_id, member) is None:
            return self.error(404, "The requested resource could not be found.")
        if (list_id, member) in self.delete_refused:
            return self.error(400, "This list member cannot be permanently deleted.")
        self.store.delete("members", f"{list_id}:{member}")
        for collection in ("activity", "notes"):
            for item in self.store.items(collection):
                if item["email_id"] == member and item["list_id"] == list_id:
                    self.store.delete(collection, item["key"])
        return Reply(204)

    def _owned(self, collection: str, list_id: str, member: str) -> list[dict]:
        return [
            {name: value for name, value in item.items() if name != "key"}
            for item in self.store.items(collection)
            if item["email_id"] == member and item["list_id"] == list_id
        ]

    def activity_list(self, call: Call, list_id: str, member: str) -> Reply:
        if self._member(list_id, member) is None:
            return self.error(404, "The requested resource could not be found.")
        items = [
            {k: v for k, v in item.items() if k not in ("email_id", "list_id")}
            for item in self._owned("activity", list_id, member)
        ]
        return self._page(call, items, "activity", email_id=member, list_id=list_id)

    def notes_list(self, call: Call, list_id: str, member: str) -> Reply:
        if self._member(list_id, member) is None:
            return self.error(404, "The requested resource could not be found.")
        return self._page(call, self._owned("notes", list_id, member), "notes", email_id=member, list_id=list_id)

    def activity(self, email: str, list_id: str = LIST_ID) -> list[dict]:
        """Return the activity the store holds for a member."""
        return self._owned("activity", list_id, subscriber_hash(email))

    def add_member(self, email: str, *, name: str, activity: int = 0, notes: int = 0, list_id: str = LIST_ID) -> None:
        """Put a member with ``activity`` feed entries and ``notes`` notes in the store."""
        member_hash = subscriber_hash(email)
        self.store.put("members", f"{list_id}:{member_hash}", member(email, name=name, list_id=list_id))
        for index in range(activity):
            key = f"{list_id}:{member_hash}:a{index}"
            self.store.put(
                "activity",
                key,
                {
                    "key": key,
                    "email_id": member_hash,
                    "list_id": list_id,
                    "activity_type": "open" if index % 2 else "sent",
                    "created_at_timestamp": f"2025-04-{index % 28 + 1:02d}T08:00:00+00:00",
                    "campaign_id": f"c{index:04d}",
                    "campaign_title": "Ugens menu",
                },
            )
        for index in range(notes):
            key = f"{list_id}:{member_hash}:n{index}"
            self.store.put(
                "notes",
                key,
                {
                    "key": key,
                    "id": index + 1,
                    "email_id": member_hash,
                    "list_id": list_id,
                    "contact_id": member_hash[10:20],
                    "note": "Ønsker kun vegetarmenuer",
                    "created_at": "2025-04-02T09:00:00+00:00",
                    "created_by": "Kundeservice",
                    "updated_at": "2025-04-02T09:00:00+00:00",
                },
            )

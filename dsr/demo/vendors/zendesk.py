"""A stand-in for the Zendesk Support API v2: user search, users, requested tickets, the permanent deletion flow.

Checked as https://developer.zendesk.com/api-reference/ticketing/ documents it:
HTTP basic with "{agent email}/token" and the API token, ``per_page`` at most
100 with absolute ``next_page`` addresses, errors as ``{"error": ...,
"description": ...}``. Tickets are deleted (soft) before they can be deleted
permanently (a queued job_status), and users likewise (``deleted_user``).
"""

import base64
from urllib.parse import urlencode

from dsr.demo.vendors.base import Call, Reply, VendorFake

AGENT_EMAIL = "privacy@madkassen-demo.example"
API_TOKEN = "demo-zendesk-token-not-for-production"  # noqa: S105 - the demo map's default, not a secret


def user(user_id: int, *, name: str, email: str) -> dict:
    """Return an end user as the API reference shows one."""
    return {
        "id": user_id,
        "url": f"https://demo.zendesk.com/api/v2/users/{user_id}.json",
        "name": name,
        "email": email,
        "created_at": "2025-02-01T10:00:00Z",
        "updated_at": "2025-02-01T10:00:00Z",
        "time_zone": "Copenhagen",
        "iana_time_zone": "Europe/Copenhagen",
        "phone": None,
        "locale": "da",
        "locale_id": 1009,
        "organization_id": None,
        "role": "end-user",
        "verified": True,
        "active": True,
        "details": "",
        "notes": "",
        "tags": [],
        "user_fields": {},
        "last_login_at": None,
    }


def ticket(ticket_id: int, *, requester_id: int, subject: str) -> dict:
    """Return a ticket as the API reference shows one."""
    return {
        "id": ticket_id,
        "url": f"https://demo.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "subject": subject,
        "description": "Min kasse kom ikke i går. Kan I sende den igen?",
        "status": "solved",
        "priority": None,
        "type": "question",
        "requester_id": requester_id,
        "submitter_id": requester_id,
        "assignee_id": 900001,
        "created_at": "2025-03-10T08:00:00Z",
        "updated_at": "2025-03-11T08:00:00Z",
        "tags": ["levering"],
        "via": {"channel": "email"},
    }


class ZendeskFake(VendorFake):
    """Zendesk's users, tickets and deletion endpoints."""

    name = "zendesk"
    routes = (
        ("GET", r"/api/v2/users/search", "users_search"),
        ("GET", r"/api/v2/users/(?P<user_id>\d+)", "user_read"),
        ("DELETE", r"/api/v2/users/(?P<user_id>\d+)", "user_delete"),
        ("DELETE", r"/api/v2/deleted_users/(?P<user_id>\d+)", "user_delete_permanently"),
        ("GET", r"/api/v2/users/(?P<user_id>\d+)/tickets/requested", "tickets_requested"),
        ("DELETE", r"/api/v2/tickets/(?P<ticket_id>\d+)", "ticket_delete"),
        ("DELETE", r"/api/v2/deleted_tickets/(?P<ticket_id>\d+)", "ticket_delete_permanently"),
    )

    def authenticated(self, call: Call) -> bool:
        expected = base64.b64encode(f"{AGENT_EMAIL}/token:{API_TOKEN}".encode()).decode()
        return call.headers.get("authorization") == f"Basic {expected}"

    def error(self, status: int, message: str) -> Reply:
        names = {401: "Couldn't authenticate you", 403: "Forbidden", 404: "RecordNotFound", 429: "TooManyRequests"}
        return Reply(
            status,
            {
                "error": names.get(status, "InvalidRequest" if status < 500 else "ServiceUnavailable"),
                "description": message,
            },
        )

    def _paged(self, call: Call, items: list[dict], key: str, path: str, params: dict) -> Reply:
        per_page, page = call.param("per_page") or "100", call.param("page") or "1"
        if not per_page.isdigit() or not page.isdigit() or not 1 <= int(per_page) <= 100 or int(page) < 1:
            return self.refuse("per_page must be 1 to 100 and page a page number")
        size, number = int(per_page), int(page)
        chunk = items[(number - 1) * size : number * size]
        more = len(items) > number * size
        next_page = f"{self.url}{path}?{urlencode({**params, 'page': number + 1, 'per_page': size})}" if more else None
        return Reply(200, {key: chunk, "next_page": next_page, "previous_page": None, "count": len(items)})

    def users_search(self, call: Call) -> Reply:
        query = call.param("query")
        if not query:
            return self.refuse("query is required")
        found = [item for item in self.store.items("users") if (item["email"] or "").lower() == query.lower()]
        return self._paged(call, found, "users", "/api/v2/users/search", {"query": query})

    def user_read(self, call: Call, user_id: str) -> Reply:
        found = self.store.get("users", user_id)
        return Reply(200, {"user": found}) if found else self.error(404, "Not found")

    def user_delete(self, call: Call, user_id: str) -> Reply:
        found = self.store.get("users", user_id)
        if found is None:
            return self.error(404, "Not found")
        self.store.delete("users", user_id)
        deleted = {**found, "active": False}
        self.store.put("deleted_users", user_id, deleted)
        return Reply(200, {"user": deleted})

    def user_delete_permanently(self, call: Call, user_id: str) -> Reply:
        found = self.store.get("deleted_users", user_id)
        if found is None:
            return self.error(404, "Not found")
        self.store.delete("deleted_users", user_id)
        return Reply(200, {"deleted_user": {"id": int(user_id), "name": "Permanently deleted user", "active": False}})

    def tickets_requested(self, call: Call, user_id: str) -> Reply:
        if self.store.get("users", user_id) is None:
            return self.error(404, "Not found")
        items = [item for item in self.store.items("tickets") if str(item["requester_id"]) == user_id]
        return self._paged(call, items, "tickets", f"/api/v2/users/{user_id}/tickets/requested", {})

    def ticket_delete(self, call: Call, ticket_id: str) -> Reply:
        found = self.store.get("tickets", ticket_id)
        if found is None:
            return self.error(404, "Not found")
        self.store.delete("tickets", ticket_id)
        self.store.put("deleted_tickets", ticket_id, found)
        return Reply(204)

    def ticket_delete_permanently(self, call: Call, ticket_id: str) -> Reply:
        if self.store.get("deleted_tickets", ticket_id) is None:
            return self.error(404, "Not found")
        self.store.delete("deleted_tickets", ticket_id)
        job = {"id": f"job-{ticket_id}", "job_type": "DeleteTicketsPermanently", "status": "queued", "total": 1}
        return Reply(200, {"job_status": job})

    def add_user(self, user_id: int, *, name: str, email: str, tickets: int = 0) -> None:
        """Put an end user and ``tickets`` tickets they requested in the store."""
        self.store.put("users", str(user_id), user(user_id, name=name, email=email))
        for index in range(tickets):
            ticket_id = user_id * 1000 + index
            self.store.put(
                "tickets", str(ticket_id), ticket(ticket_id, requester_id=user_id, subject=f"Levering {index + 1}")
            )

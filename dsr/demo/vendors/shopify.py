"""A stand-in for Shopify's Admin API: customers found by email, read with their orders, and the erasure request.

Checked as Shopify's API reference documents it (version ``2025-01``):

- the access token in ``X-Shopify-Access-Token``, with the scopes
  ``read_customers``, ``read_orders`` and ``write_customer_data_erasure``;
- REST ``GET /admin/api/{version}/customers/search.json?query=email:...``:
  ``{"customers": [...]}``, ``limit`` 1 to 250 (default 50); while more
  follow, a ``Link`` header ``<...page_info=...>; rel="next"`` (with
  ``page_info`` only ``limit`` and ``fields`` may be sent);
- REST ``GET /admin/api/{version}/customers/{id}.json``: ``{"customer": {...}}``;
- REST ``GET /admin/api/{version}/customers/{id}/orders.json?status=any``:
  ``{"orders": [...]}``, paged by ``Link`` like the search;
- GraphQL ``POST /admin/api/{version}/graphql.json`` with the mutation
  ``customerRequestDataErasure(customerId: ID!)``: HTTP 200 and
  ``{"data": {"customerRequestDataErasure": {"customerId", "userErrors":
  [{"field", "message", "code"}]}}}`` (``DOES_NOT_EXIST`` for a customer
  Shopify does not know). Shopify then redacts the customer's personal data
  and keeps the orders' non-personal data (what was sold, when, for how much);
  a customer with an order in the last 180 days is held until 180 days after
  it. ``erasures_process(today)`` does what Shopify's queue would.

REST errors are ``{"errors": "..."}``; a REST rate limit is 429 with
``Retry-After`` in seconds as a decimal (``2.0``) and
``X-Shopify-Shop-Api-Call-Limit``. GraphQL failures are HTTP 200 with an
``errors`` list (``THROTTLED``, ``ACCESS_DENIED``).
"""

import datetime as dt
import re
from urllib.parse import urlencode

from dsr.demo.vendors.base import Call, Reply, VendorFake

TOKEN = "shpat_00000000000000000000000000000001"  # noqa: S105 - the stand-in's own token, not a secret
VERSION = "2025-01"
SCOPES = ("read_customers", "read_orders", "write_customer_data_erasure")
MAX_LIMIT = 250
# Shopify holds the erasure of a customer who ordered recently, for chargebacks and returns.
ERASURE_HOLD_DAYS = 180
GID = re.compile(r"^gid://shopify/Customer/(\d+)$")
ERASURE_MUTATION = re.compile(
    r"\bmutation\b[^{]*\{\s*customerRequestDataErasure\s*\(\s*customerId\s*:\s*\$customerId\s*\)"
)
SEARCH_EMAIL = re.compile(r'^email:"?([^"\s]+)"?$')
# Personal data of an order that the erasure redacts; what was sold, when and for how much stays.
ORDER_PERSONAL = ("email", "phone", "customer", "billing_address", "shipping_address", "note", "browser_ip")


def customer(customer_id: int, *, email: str, first_name: str, last_name: str, **fields) -> dict:
    """Return a customer as Shopify's REST reference shows one."""
    return {
        "id": customer_id,
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "phone": None,
        "state": "enabled",
        "verified_email": True,
        "note": None,
        "tags": "",
        "currency": "DKK",
        "created_at": "2025-02-01T10:00:00+01:00",
        "updated_at": "2026-01-15T08:30:00+01:00",
        "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": None},
        "addresses": [
            {"id": customer_id * 10, "address1": "Vestergade 1", "city": "Aarhus", "zip": "8000", "country": "Denmark"}
        ],
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        **fields,
    }


def order(order_id: int, *, customer_id: int, email: str, created_at: str, total_price: str) -> dict:
    """Return an order as Shopify's REST reference shows one (the fields the catalogue entry reads)."""
    return {
        "id": order_id,
        "name": f"#{order_id}",
        "customer_id": customer_id,
        "email": email,
        "phone": None,
        "created_at": created_at,
        "currency": "DKK",
        "total_price": total_price,
        "financial_status": "paid",
        "fulfillment_status": "fulfilled",
        "line_items": [{"title": "Måltidskasse", "quantity": 1, "price": total_price}],
        "billing_address": {"address1": "Vestergade 1", "city": "Aarhus", "zip": "8000", "country": "Denmark"},
        "shipping_address": {"address1": "Vestergade 1", "city": "Aarhus", "zip": "8000", "country": "Denmark"},
        "browser_ip": "192.0.2.10",
        "note": None,
    }


class ShopifyFake(VendorFake):
    """A shop's customers and orders (REST) and the customer data erasure request (GraphQL)."""

    name = "shopify"
    routes = (
        ("GET", r"/admin/api/(?P<version>\d{4}-\d{2})/customers/search\.json", "customers_search"),
        ("GET", r"/admin/api/(?P<version>\d{4}-\d{2})/customers/(?P<customer_id>\d+)\.json", "customer_read"),
        ("GET", r"/admin/api/(?P<version>\d{4}-\d{2})/customers/(?P<customer_id>\d+)/orders\.json", "orders_list"),
        ("POST", r"/admin/api/(?P<version>\d{4}-\d{2})/graphql\.json", "graphql"),
    )

    def __init__(self, *args, token: str = TOKEN, scopes: tuple[str, ...] = SCOPES, page_size: int = 0, **kwargs):
        # Shopify's Retry-After is seconds as a decimal: "2.0".
        kwargs.setdefault("retry_after", 2.0)
        super().__init__(*args, **kwargs)
        self.token, self.scopes = token, set(scopes)
        # A shop's own cap on a page below the asked limit (0: none); lets a test see the Link header followed.
        self.page_size = page_size
        self.cursors: dict[str, tuple[list, int]] = {}
        # What the next erasure mutations answer instead of taking the request, one a call: "THROTTLED"
        # (GraphQL's cost limit) or "FAILED_TO_REQUEST" (a userError); both with HTTP 200, as Shopify does.
        self.erasure_failures: list[str] = []

    def authenticated(self, call: Call) -> bool:
        return call.headers.get("x-shopify-access-token") == self.token

    def error(self, status: int, message: str) -> Reply:
        if status == 401:
            message = "[API] Invalid API key or access token (unrecognized login or wrong password)"
        elif status == 404:
            message = "Not Found"
        elif status == 429:
            message = (
                "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
            )
        elif status >= 500:
            message = "Unavailable Shop" if status == 503 else "Internal Server Error"
        headers = {"X-Shopify-Shop-Api-Call-Limit": "40/40"} if status == 429 else {}
        return Reply(status, {"errors": message}, headers)

    def _scoped(self, scope: str) -> Reply | None:
        if scope not in self.scopes:
            return self.error(403, f"[API] This action requires merchant approval for {scope} scope.")
        return None

    def _limit(self, call: Call) -> int | Reply:
        raw = call.param("limit") or "50"
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            return self.refuse(f"limit must be between 1 and {MAX_LIMIT}")
        return min(int(raw), self.page_size or MAX_LIMIT)

    @staticmethod
    def _fields(item: dict, call: Call) -> dict:
        names = [name for name in (call.param("fields") or "").split(",") if name]
        return {key: value for key, value in item.items() if not names or key in names}

    def _page(self, call: Call, key: str, items: list[dict]) -> Reply:
        """Answer one page of ``items``, with a Link header to the next while more follow."""
        limit = self._limit(call)
        if isinstance(limit, Reply):
            return limit
        start = 0
        if call.param("page_info") is not None:
            if set(call.query) - {"page_info", "limit", "fields"}:
                return self.refuse("page_info cannot be sent with parameters other than limit and fields")
            if call.param("page_info") not in self.cursors:
                return self.refuse("page_info - Invalid value.")
            items, start = self.cursors[call.param("page_info")]
        headers = {}
        if start + limit < len(items):
            cursor = f"eyJsYXN0X2lkIjo{len(self.cursors) + 1}"
            self.cursors[cursor] = (items, start + limit)
            next_query = urlencode({"limit": call.param("limit") or 50, "page_info": cursor})
            headers["Link"] = f'<{self.url}{call.path}?{next_query}>; rel="next"'
        return Reply(200, {key: [self._fields(item, call) for item in items[start : start + limit]]}, headers)

    def customers_search(self, call: Call, version: str) -> Reply:
        if refused := self._scoped("read_customers"):
            return refused
        found: list[dict] = []
        if call.param("page_info") is None:
            match = SEARCH_EMAIL.match(call.param("query") or "")
            if match is None:
                return self.refuse("this stand-in answers only query=email:<address>")
            wanted = match.group(1).lower()
            found = sorted(
                (c for c in self.store.items("customers") if (c.get("email") or "").lower() == wanted),
                key=lambda c: c["id"],
            )
        return self._page(call, "customers", found)

    def customer_read(self, call: Call, version: str, customer_id: str) -> Reply:
        if refused := self._scoped("read_customers"):
            return refused
        found = self.store.get("customers", customer_id)
        if found is None:
            return self.error(404, "Not Found")
        return Reply(200, {"customer": self._fields(found, call)})

    def orders_list(self, call: Call, version: str, customer_id: str) -> Reply:
        if refused := self._scoped("read_orders"):
            return refused
        if self.store.get("customers", customer_id) is None:
            return self.error(404, "Not Found")
        wanted = call.param("status") or "open"
        if wanted not in ("open", "closed", "cancelled", "any"):
            return self.refuse("status must be open, closed, cancelled or any")
        found = sorted(
            (
                o
                for o in self.store.items("orders")
                if o["customer_id"] == int(customer_id) and (wanted == "any" or o.get("status", "open") == wanted)
            ),
            key=lambda o: o["id"],
        )
        return self._page(call, "orders", found)

    def _graphql_errors(self, message: str, code: str) -> Reply:
        return Reply(200, {"errors": [{"message": message, "extensions": {"code": code}}]})

    def graphql(self, call: Call, version: str) -> Reply:
        if not call.headers.get("content-type", "").startswith("application/json"):
            return self.refuse("Content-Type must be application/json")
        try:
            data = call.json()
            text, variables = data["query"], data.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return self.refuse("query: Required parameter missing or invalid")
        if not isinstance(text, str) or not ERASURE_MUTATION.search(text):
            self.refusals.append("only the customerRequestDataErasure mutation is served")
            return self._graphql_errors("This stand-in serves only customerRequestDataErasure.", "UNSUPPORTED")
        if "write_customer_data_erasure" not in self.scopes:
            return self._graphql_errors("Access denied for customerRequestDataErasure field.", "ACCESS_DENIED")
        gid = variables.get("customerId")
        match = GID.match(gid) if isinstance(gid, str) else None
        if match is None:
            return self._graphql_errors(
                f"Variable $customerId of type ID! was provided invalid value {gid!r}", "INVALID_VARIABLE"
            )
        failure = self.erasure_failures.pop(0) if self.erasure_failures else None
        if failure == "THROTTLED":
            return self._graphql_errors("Throttled", "THROTTLED")
        if failure == "FAILED_TO_REQUEST":
            payload = {
                "customerId": None,
                "userErrors": [
                    {"field": ["customerId"], "message": "Failed to request data erasure", "code": "FAILED_TO_REQUEST"}
                ],
            }
        elif self.store.get("customers", match.group(1)) is None:
            payload = {
                "customerId": None,
                "userErrors": [
                    {"field": ["customerId"], "message": "Customer does not exist", "code": "DOES_NOT_EXIST"}
                ],
            }
        else:
            self.store.put("erasures", match.group(1), {"customer_id": int(match.group(1))})
            payload = {"customerId": gid, "userErrors": []}
        cost = {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0},
        }
        return Reply(200, {"data": {"customerRequestDataErasure": payload}, "extensions": {"cost": cost}})

    def erasures_process(self, today: dt.date) -> dict[int, str | None]:
        """Redact the customers whose erasure is due by ``today``; return each queued id with its hold (None: done)."""
        outcome: dict[int, str | None] = {}
        for erasure in self.store.items("erasures"):
            customer_id = erasure["customer_id"]
            orders = [o for o in self.store.items("orders") if o["customer_id"] == customer_id]
            last = max((dt.date.fromisoformat(o["created_at"][:10]) for o in orders), default=None)
            if last is not None and today < last + dt.timedelta(days=ERASURE_HOLD_DAYS):
                outcome[customer_id] = (last + dt.timedelta(days=ERASURE_HOLD_DAYS)).isoformat()
                continue
            for kept in orders:
                redacted = {key: value for key, value in kept.items() if key not in ORDER_PERSONAL}
                self.store.put("orders", str(kept["id"]), {**redacted, "customer_id": None})
            self.store.delete("customers", str(customer_id))
            self.store.delete("erasures", str(customer_id))
            outcome[customer_id] = None
        return outcome

    def add_customer(self, customer_id: int, *, email: str, first_name: str, last_name: str, orders: tuple = ()):
        """Put a customer and its orders (``(id, created_at, total_price)``) in the store."""
        self.store.put(
            "customers",
            str(customer_id),
            customer(customer_id, email=email, first_name=first_name, last_name=last_name),
        )
        for order_id, created_at, total in orders:
            self.store.put(
                "orders",
                str(order_id),
                order(order_id, customer_id=customer_id, email=email, created_at=created_at, total_price=total),
            )

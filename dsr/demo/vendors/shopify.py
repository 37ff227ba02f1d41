"""A stand-in for Shopify's Admin API: customers by email, their orders, and the customer data erasure request.

It checks requests the way Shopify's API reference describes them and answers
with the documented JSON:

- ``GET /admin/api/{version}/customers/search.json?query=email:...`` with an
  access token in ``X-Shopify-Access-Token`` (scope ``read_customers``):
  ``{"customers": [...]}``, at most ``limit`` (1 to 250, default 50) a page; a
  ``Link`` header with ``rel="next"`` and a ``page_info`` cursor while more
  follow (with ``page_info`` only ``limit`` and ``fields`` may be sent).
- ``GET /admin/api/{version}/customers/{id}/orders.json?status=any`` (scope
  ``read_orders``): ``{"orders": [...]}``.
- ``POST /admin/api/{version}/graphql.json`` with the
  ``customerRequestDataErasure(customerId: ID!)`` mutation (scope
  ``write_customer_data_erasure``): ``{"data": {"customerRequestDataErasure":
  {"customerId", "userErrors": [{"field", "message", "code"}]}}}``, HTTP 200
  either way; ``DOES_NOT_EXIST`` for an unknown customer. Shopify then redacts
  the customer's personal data and keeps the orders' non-personal data (what
  was sold, when, for how much); a customer with an order in the last 180 days
  is held until 180 days after that order. The fake does the redaction when
  ``erasures_process(today)`` is called, as Shopify's queue would.

REST errors are ``{"errors": "..."}``; a REST rate limit is 429 with
``Retry-After`` (seconds, as a decimal) and ``X-Shopify-Shop-Api-Call-Limit``;
GraphQL throttling is HTTP 200 with an ``errors`` entry whose
``extensions.code`` is ``THROTTLED``.
Not part of dsr's product: the catalogue's tests serve it on a local port.
"""

import datetime as dt
import json
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode

Answer = tuple[int, dict[str, str], bytes]

TOKEN = "shpat_00000000000000000000000000000001"  # noqa: S105 - the fake's own token, not a secret
VERSION = "2025-01"
SCOPES = ("read_customers", "read_orders", "write_customer_data_erasure")
MAX_LIMIT = 250
# Shopify holds the erasure of a customer who ordered recently, for chargebacks and returns.
ERASURE_HOLD_DAYS = 180
GID = re.compile(r"^gid://shopify/Customer/(\d+)$")
SEARCH = re.compile(r"^/admin/api/(\d{4}-\d{2})/customers/search\.json$")
ORDERS = re.compile(r"^/admin/api/(\d{4}-\d{2})/customers/(\d+)/orders\.json$")
GRAPHQL = re.compile(r"^/admin/api/(\d{4}-\d{2})/graphql\.json$")
# Personal data in an order that the erasure redacts; what was sold, when and for how much stays.
ORDER_PERSONAL = ("email", "phone", "customer", "billing_address", "shipping_address", "note", "browser_ip")


def _answer(status: int, data: dict, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(data).encode()


class ShopifyFake:
    """A shop's customers (``{"id": int, "email": ..., ...}``) and orders (``{"id", "customer_id", ...}``)."""

    def __init__(
        self,
        customers: list[dict] = (),
        orders: list[dict] = (),
        *,
        token: str = TOKEN,
        scopes: tuple[str, ...] = SCOPES,
        base_url: str = "",
    ):
        self.customers = {int(c["id"]): dict(c) for c in customers}
        self.orders = {int(o["id"]): dict(o) for o in orders}
        self.token, self.scopes, self.base_url = token, set(scopes), base_url
        self.erasures: dict[int, dict] = {}  # customer id -> {"requested": date, "hold_until": date | None}
        self.cursors: dict[str, tuple[list[int], int, str]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.refusals: list[str] = []

    def failure(self, kind: str, *, retry_after: float = 2.0) -> Answer:
        """Answer as Shopify does for ``kind``: unauthorized, forbidden, not_found, rate_limited, server_error."""
        if kind == "unauthorized":
            return _answer(
                401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
            )
        if kind == "forbidden":
            return _answer(403, {"errors": "[API] This action requires merchant approval for read_customers scope."})
        if kind == "not_found":
            return _answer(404, {"errors": "Not Found"})
        if kind == "rate_limited":
            return _answer(
                429,
                {
                    "errors": "Exceeded 2 calls per second for api client. "
                    "Reduce request rates to resume uninterrupted service."
                },
                {"Retry-After": f"{retry_after:.1f}", "X-Shopify-Shop-Api-Call-Limit": "40/40"},
            )
        return _answer(503, {"errors": "Unavailable Shop"})

    def _refuse(self, message: str) -> Answer:
        self.refusals.append(message)
        return _answer(400, {"errors": {"query": [message]}})

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request; ``headers`` have lower-case names."""
        self.calls.append((method, path, query))
        if headers.get("x-shopify-access-token") != self.token:
            return self.failure("unauthorized")
        params = {key: values[0] for key, values in parse_qs(query).items()}
        if method == "GET" and (match := SEARCH.match(path)):
            if "read_customers" not in self.scopes:
                return self.failure("forbidden")
            return self._search(match.group(1), params)
        if method == "GET" and (match := ORDERS.match(path)):
            if "read_orders" not in self.scopes:
                return _answer(403, {"errors": "[API] This action requires merchant approval for read_orders scope."})
            return self._orders(int(match.group(2)), params)
        if method == "POST" and GRAPHQL.match(path):
            return self._graphql(headers, body)
        return self.failure("not_found")

    def _limit(self, params: dict) -> int | None:
        limit = params.get("limit", "50")
        return int(limit) if limit.isdigit() and 0 < int(limit) <= MAX_LIMIT else None

    def _search(self, version: str, params: dict) -> Answer:
        limit = self._limit(params)
        if limit is None:
            return self._refuse(f"limit must be between 1 and {MAX_LIMIT}")
        if "page_info" in params:
            if set(params) - {"page_info", "limit", "fields"}:
                return self._refuse("page_info cannot be combined with other parameters than limit and fields")
            if params["page_info"] not in self.cursors:
                return self._refuse("page_info - Invalid value.")
            ids, start, fields = self.cursors[params["page_info"]]
        else:
            match = re.fullmatch(r'email:"?([^"\s]+)"?', params.get("query", ""))
            if match is None:
                return self._refuse("the fake answers only query=email:<address>")
            email = match.group(1).lower()
            ids = sorted(key for key, c in self.customers.items() if (c.get("email") or "").lower() == email)
            start, fields = 0, params.get("fields", "")
        page = [self._shown(self.customers[key], fields) for key in ids[start : start + limit] if key in self.customers]
        headers = {}
        if start + limit < len(ids):
            cursor = f"c{len(self.cursors) + 1}"
            self.cursors[cursor] = (ids, start + limit, fields)
            link = f"{self.base_url}/admin/api/{version}/customers/search.json?" + urlencode(
                {"limit": limit, "page_info": cursor}
            )
            headers["Link"] = f'<{link}>; rel="next"'
        return _answer(200, {"customers": page}, headers)

    @staticmethod
    def _shown(item: dict, fields: str) -> dict:
        names = [name for name in fields.split(",") if name]
        return {key: value for key, value in item.items() if not names or key in names}

    def _orders(self, customer: int, params: dict) -> Answer:
        if customer not in self.customers:
            return self.failure("not_found")
        if params.get("status", "open") not in ("open", "closed", "cancelled", "any"):
            return self._refuse("status must be open, closed, cancelled or any")
        wanted = params.get("status", "open")
        orders = [
            o
            for _, o in sorted(self.orders.items())
            if o.get("customer_id") == customer and (wanted == "any" or o.get("status", "open") == wanted)
        ]
        return _answer(200, {"orders": [self._shown(o, params.get("fields", "")) for o in orders]})

    def _graphql(self, headers: Mapping[str, str], body: bytes) -> Answer:
        if "application/json" not in headers.get("content-type", ""):
            return _answer(400, {"errors": "Content-Type must be application/json"})
        try:
            data = json.loads(body)
            text, variables = data["query"], data.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return _answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
        if not re.search(
            r"\bmutation\b[^{]*\{\s*customerRequestDataErasure\s*\(\s*customerId\s*:\s*\$customerId", text
        ):
            self.refusals.append("only the customerRequestDataErasure mutation is served")
            return _answer(
                200,
                {
                    "errors": [
                        {
                            "message": "The fake serves only customerRequestDataErasure",
                            "extensions": {"code": "UNSUPPORTED"},
                        }
                    ]
                },
            )
        if "write_customer_data_erasure" not in self.scopes:
            return _answer(
                200,
                {
                    "errors": [
                        {
                            "message": "Access denied for customerRequestDataErasure field.",
                            "extensions": {"code": "ACCESS_DENIED"},
                        }
                    ]
                },
            )
        gid = variables.get("customerId")
        match = GID.match(gid) if isinstance(gid, str) else None
        if match is None:
            return _answer(
                200,
                {
                    "errors": [
                        {
                            "message": f"Variable $customerId of type ID! was provided invalid value {gid!r}",
                            "extensions": {"code": "INVALID_VARIABLE"},
                        }
                    ]
                },
            )
        customer = int(match.group(1))
        if customer not in self.customers:
            payload = {
                "customerId": None,
                "userErrors": [
                    {"field": ["customerId"], "message": "Customer does not exist", "code": "DOES_NOT_EXIST"}
                ],
            }
        else:
            self.erasures.setdefault(customer, {"requested": None})
            payload = {"customerId": gid, "userErrors": []}
        cost = {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0},
        }
        return _answer(200, {"data": {"customerRequestDataErasure": payload}, "extensions": {"cost": cost}})

    def erasures_process(self, today: dt.date) -> list[int]:
        """Redact the customers whose erasure is due by ``today``; return their ids (held ones stay queued)."""
        done = []
        for customer in list(self.erasures):
            last = max(
                (
                    dt.date.fromisoformat(o["created_at"][:10])
                    for o in self.orders.values()
                    if o.get("customer_id") == customer
                ),
                default=None,
            )
            if last is not None and today < last + dt.timedelta(days=ERASURE_HOLD_DAYS):
                self.erasures[customer]["hold_until"] = (last + dt.timedelta(days=ERASURE_HOLD_DAYS)).isoformat()
                continue
            for order in self.orders.values():
                if order.get("customer_id") == customer:
                    for key in ORDER_PERSONAL:
                        order.pop(key, None)
                    order["customer_id"] = None
            self.customers.pop(customer, None)
            del self.erasures[customer]
            done.append(customer)
        return done

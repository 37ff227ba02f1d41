"""A stand-in for Stripe's API (version 2024-06-20): customers, their search, charges and payment methods.

Checked as https://docs.stripe.com/api documents it: the secret key as a
bearer token (or HTTP basic with the key as user name), the Stripe-Version
header's form, the search query language's ``email:'...'`` form, ``limit``
between 1 and 100, cursors (``page`` for search, ``starting_after`` for
lists) that must be ones Stripe gave. Lists come newest first. Deleting a
customer removes its payment methods and leaves the stub Stripe documents
(``{"id": ..., "object": "customer", "deleted": true}``); charges stay.
"""

import base64
import re

from dsr.demo.vendors.base import Call, Reply, VendorFake

API_KEY = "sk_test_demo_not_for_production"  # the demo map's default, not a secret
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
SEARCH_EMAIL = re.compile(r"""^email:(?:'([^']*)'|"([^"]*)")$""")


def customer(customer_id: str, *, email: str, name: str, phone: str | None = None, created: int = 1700000000) -> dict:
    """Return a customer object as Stripe's reference shows one."""
    return {
        "id": customer_id,
        "object": "customer",
        "address": {
            "city": "Aarhus",
            "country": "DK",
            "line1": "Vestergade 1",
            "line2": None,
            "postal_code": "8000",
            "state": None,
        },
        "balance": 0,
        "created": created,
        "currency": "dkk",
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": customer_id[-8:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "phone": phone,
        "preferred_locales": ["da"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def charge(charge_id: str, *, customer_id: str, email: str, name: str, amount: int, created: int) -> dict:
    """Return a charge object as Stripe's reference shows one."""
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "billing_details": {"address": None, "email": email, "name": name, "phone": None},
        "captured": True,
        "created": created,
        "currency": "dkk",
        "customer": customer_id,
        "description": "Måltidskasse",
        "livemode": False,
        "metadata": {},
        "paid": True,
        "payment_method": None,
        "payment_method_details": {
            "card": {"brand": "visa", "country": "DK", "exp_month": 8, "exp_year": 2028, "last4": "4242"},
            "type": "card",
        },
        "receipt_email": email,
        "refunded": False,
        "status": "succeeded",
    }


def payment_method(method_id: str, *, customer_id: str, name: str, created: int = 1700000000) -> dict:
    """Return a card payment method object as Stripe's reference shows one."""
    return {
        "id": method_id,
        "object": "payment_method",
        "billing_details": {"address": None, "email": None, "name": name, "phone": None},
        "card": {
            "brand": "visa",
            "country": "DK",
            "exp_month": 8,
            "exp_year": 2028,
            "funding": "credit",
            "last4": "4242",
        },
        "created": created,
        "customer": customer_id,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


# A customer's address is updated field by field: address[line1], address[city], ...
ADDRESS_PARAM = re.compile(r"^address\[(line1|line2|city|postal_code|state|country)\]$")
# Metadata is set key by key (metadata[key]=value); an empty value removes the key.
METADATA_PARAM = re.compile(r"^metadata\[([A-Za-z0-9_-]{1,40})\]$")


class StripeFake(VendorFake):
    """Stripe's customers, charges and payment methods endpoints."""

    name = "stripe"
    routes = (
        ("GET", r"/v1/customers/search", "customers_search"),
        ("GET", r"/v1/customers/(?P<customer_id>[^/]+)", "customer_read"),
        ("DELETE", r"/v1/customers/(?P<customer_id>[^/]+)", "customer_delete"),
        ("POST", r"/v1/customers/(?P<customer_id>[^/]+)", "customer_update"),
        ("GET", r"/v1/customers/(?P<customer_id>[^/]+)/payment_methods", "payment_methods_list"),
        ("GET", r"/v1/charges", "charges_list"),
    )

    def __init__(self, *args, api_key: str = API_KEY, **kwargs):
        super().__init__(*args, **kwargs)
        self.api_key = api_key

    def authenticated(self, call: Call) -> bool:
        given = call.headers.get("authorization", "")
        if given == f"Bearer {self.api_key}":
            return True
        if given.startswith("Basic "):
            try:
                user = base64.b64decode(given[6:]).decode().split(":", 1)[0]
            except ValueError:
                return False
            return user == self.api_key
        return False

    def error(self, status: int, message: str) -> Reply:
        kind = {401: "invalid_request_error", 429: "invalid_request_error"}.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        error = {"type": kind, "message": message}
        if status == 404:
            error["code"] = "resource_missing"
        if status == 429:
            error["code"] = "rate_limit"
        return Reply(status, {"error": error}, {"Request-Id": "req_demo"})

    def _checked(self, call: Call) -> Reply | None:
        """Refuse what every Stripe call must not have: a malformed Stripe-Version, a body on GET or DELETE."""
        version = call.headers.get("stripe-version")
        if version is not None and not VERSION.match(version):
            return self.refuse(f"Invalid Stripe API version: {version}")
        if call.body:
            return self.refuse(f"{call.method} requests take no body")
        return None

    def _limit(self, call: Call) -> int | Reply:
        raw = call.param("limit") or "10"
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            return self.refuse("Invalid integer: limit must be between 1 and 100")
        return int(raw)

    def _page(self, items: list[dict], call: Call, *, url: str) -> Reply:
        """Answer a list endpoint: newest first, ``limit`` items after ``starting_after``."""
        limit = self._limit(call)
        if isinstance(limit, Reply):
            return limit
        items = sorted(items, key=lambda item: -item["created"])
        after = call.param("starting_after")
        if after is not None:
            ids = [item["id"] for item in items]
            if after not in ids:
                return self.refuse(f"Invalid starting_after: no such object {after}")
            items = items[ids.index(after) + 1 :]
        return Reply(200, {"object": "list", "url": url, "has_more": len(items) > limit, "data": items[:limit]})

    def customers_search(self, call: Call) -> Reply:
        if refused := self._checked(call):
            return refused
        match = SEARCH_EMAIL.match(call.param("query") or "")
        if match is None:
            return self.refuse("this stand-in answers only the search query email:'...'")
        limit = self._limit(call)
        if isinstance(limit, Reply):
            return limit
        wanted = (match.group(1) or match.group(2) or "").lower()
        found = [item for item in self.store.items("customers") if (item.get("email") or "").lower() == wanted]
        found.sort(key=lambda item: -item["created"])
        page = call.param("page")
        start = 0
        if page is not None:
            try:
                start = int(base64.urlsafe_b64decode(page.encode()).decode().removeprefix("offset:"))
            except ValueError:
                return self.refuse("Invalid page: not a page token Stripe gave")
        rest = found[start + limit :]
        next_page = base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode() if rest else None
        return Reply(
            200,
            {
                "object": "search_result",
                "url": "/v1/customers/search",
                "has_more": bool(rest),
                "next_page": next_page,
                "data": found[start : start + limit],
            },
        )

    def customer_read(self, call: Call, customer_id: str) -> Reply:
        if refused := self._checked(call):
            return refused
        found = self.store.get("customers", customer_id) or self.store.get("deleted_customers", customer_id)
        if found is None:
            return self.error(404, f"No such customer: '{customer_id}'")
        return Reply(200, found)

    def customer_delete(self, call: Call, customer_id: str) -> Reply:
        if refused := self._checked(call):
            return refused
        if not self.store.delete("customers", customer_id):
            return self.error(404, f"No such customer: '{customer_id}'")
        for method in self.store.items("payment_methods"):
            if method["customer"] == customer_id:
                self.store.delete("payment_methods", method["id"])
        stub = {"id": customer_id, "object": "customer", "deleted": True}
        self.store.put("deleted_customers", customer_id, stub)
        return Reply(200, stub)

    def customer_update(self, call: Call, customer_id: str) -> Reply:
        """Update a customer from a form body (``name``, ``email``, ``phone``, ``address[...]``, ``metadata[...]``)."""
        if not call.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self.refuse("Stripe takes form-encoded parameters")
        found = self.store.get("customers", customer_id)
        if found is None:
            return self.error(404, f"No such customer: '{customer_id}'")
        updated = dict(found)
        for key, value in call.form().items():
            if key in ("name", "email", "phone"):
                updated[key] = value
            elif (match := ADDRESS_PARAM.match(key)) is not None:
                updated["address"] = {**(updated.get("address") or {}), match.group(1): value}
            elif (match := METADATA_PARAM.match(key)) is not None:
                metadata = dict(updated.get("metadata") or {})
                if value:
                    metadata[match.group(1)] = value
                else:
                    metadata.pop(match.group(1), None)
                updated["metadata"] = metadata
            else:
                return self.refuse(f"Received unknown parameter: {key}")
        self.store.put("customers", customer_id, updated)
        return Reply(200, updated)

    def payment_methods_list(self, call: Call, customer_id: str) -> Reply:
        if refused := self._checked(call):
            return refused
        if self.store.get("customers", customer_id) is None:
            return self.error(404, f"No such customer: '{customer_id}'")
        items = [item for item in self.store.items("payment_methods") if item["customer"] == customer_id]
        return self._page(items, call, url=f"/v1/customers/{customer_id}/payment_methods")

    def charges_list(self, call: Call) -> Reply:
        if refused := self._checked(call):
            return refused
        customer_id = call.param("customer")
        items = [item for item in self.store.items("charges") if customer_id is None or item["customer"] == customer_id]
        return self._page(items, call, url="/v1/charges")

    def add_customer(
        self, customer_id: str, *, email: str, name: str, charges: int = 0, payment_methods: int = 0
    ) -> None:
        """Put a customer with ``charges`` charges and ``payment_methods`` cards in the store."""
        self.store.put("customers", customer_id, customer(customer_id, email=email, name=name))
        for index in range(charges):
            charge_id = f"ch_{customer_id[4:]}{index:04d}"
            self.store.put(
                "charges",
                charge_id,
                charge(
                    charge_id,
                    customer_id=customer_id,
                    email=email,
                    name=name,
                    amount=39900 + index,
                    created=1700000000 + index,
                ),
            )
        for index in range(payment_methods):
            method_id = f"pm_{customer_id[4:]}{index:03d}"
            self.store.put(
                "payment_methods",
                method_id,
                payment_method(method_id, customer_id=customer_id, name=name, created=1700000000 + index),
            )

"""A stand-in for Braintree's GraphQL API: vaulted customers by email, deleting their payment methods and them.

Braintree's GraphQL guide and schema document:

- One endpoint, ``POST /graphql``, with ``Authorization: Basic
  base64(public key:private key)``, ``Braintree-Version: YYYY-MM-DD`` and a JSON
  body ``{"query", "variables"}``.
- Answers are HTTP 200 with ``{"data", "errors", "extensions": {"requestId"}}``
  even when an operation fails: each error is ``{"message", "path",
  "extensions": {"errorClass", "legacyCode"}}`` with ``errorClass`` one of
  ``VALIDATION``, ``NOT_FOUND``, ``AUTHORIZATION``, ``INTERNAL`` ....
  Credentials that are not valid are refused before any operation runs, with
  HTTP 401.
- ``search { customers(input: {email: {is: $email}}) { edges { node {...} } pageInfo {...} } }``.
- ``deletePaymentMethodFromVault(input: {paymentMethodId})`` and
  ``deleteCustomer(input: {customerId})``; a customer who still has vaulted
  payment methods is not deleted (a ``VALIDATION`` error).

Transactions are not deleted by either call: they stay with Braintree (and
the merchant's reports) for the processor's own legal obligations.

The fake does not parse GraphQL: it recognises the three operations by their
root field and answers with every field of the documented node.
Not part of dsr's product: the catalogue's tests serve it on a local port.
"""

import base64
import json
import re
import uuid
from collections.abc import Mapping

Answer = tuple[int, dict[str, str], bytes]

PUBLIC_KEY = "fakepublickey01"
PRIVATE_KEY = "fakeprivatekey0000000000000001"
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OPERATIONS = ("customers", "deletePaymentMethodFromVault", "deleteCustomer")


def _basic(public: str, private: str) -> str:
    return "Basic " + base64.b64encode(f"{public}:{private}".encode()).decode()


def _answer(status: int, data: dict, headers: dict[str, str] | None = None) -> Answer:
    data = {**data, "extensions": {"requestId": str(uuid.uuid4())}}
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()


def _error(path: str | None, error_class: str, message: str, legacy: str | None = None, status: int = 200) -> Answer:
    extensions = {"errorClass": error_class}
    if legacy:
        extensions["legacyCode"] = legacy
    error: dict = {"message": message, "extensions": extensions}
    data: dict = {"errors": [error]}
    if path:
        error["path"] = [path]
        data["data"] = {path: None}
    return _answer(status, data)


class BraintreeFake:
    """Vaulted customers: ``{"id", "email", "firstName", ..., "paymentMethods": [{"id", ...}]}``."""

    def __init__(self, customers: list[dict] = (), *, public_key: str = PUBLIC_KEY, private_key: str = PRIVATE_KEY):
        self.customers = {
            c["id"]: {**c, "paymentMethods": [dict(m) for m in c.get("paymentMethods", [])]} for c in customers
        }
        self.authorization = _basic(public_key, private_key)
        self.calls: list[tuple[str, dict]] = []
        self.refusals: list[str] = []

    def failure(self, kind: str, *, retry_after: int = 1) -> Answer:
        """Answer as Braintree does for ``kind``: unauthorized, forbidden, not_found, rate_limited, server_error."""
        if kind == "unauthorized":
            return _error(None, "AUTHENTICATION", "Authentication credentials are invalid.", status=401)
        if kind == "forbidden":
            return _error(None, "AUTHORIZATION", "You are not authorized to perform this action.", status=403)
        if kind == "not_found":
            return _error(None, "NOT_FOUND", "Not found.", status=404)
        if kind == "rate_limited":
            status, headers, body = _error(None, "RESOURCE_LIMIT", "Too many requests.", status=429)
            return status, {**headers, "Retry-After": str(retry_after)}, body
        return _error(None, "SERVICE_AVAILABILITY", "The service is temporarily unavailable.", status=503)

    def _refuse(self, message: str) -> Answer:
        self.refusals.append(message)
        return _error(None, "VALIDATION", message)

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request; ``headers`` have lower-case names."""
        if method != "POST" or path.rstrip("/") != "/graphql":
            return self.failure("not_found")
        if headers.get("authorization") != self.authorization:
            return self.failure("unauthorized")
        if not VERSION.match(headers.get("braintree-version", "")):
            return self._refuse("Braintree-Version header is missing or not a date (YYYY-MM-DD).")
        try:
            data = json.loads(body)
            text, variables = data["query"], data.get("variables") or {}
            if not isinstance(text, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self._refuse("The body must be a JSON object with query and variables.")
        operation = next((name for name in OPERATIONS if re.search(rf"\b{name}\s*\(", text)), None)
        if operation is None:
            return self._refuse(
                "The fake serves only customer search, deletePaymentMethodFromVault and deleteCustomer."
            )
        self.calls.append((operation, variables))
        if operation == "customers":
            return self._search(text, variables)
        given = variables.get("input") or {}
        if operation == "deletePaymentMethodFromVault":
            return self._delete_method(given)
        return self._delete_customer(given)

    def _search(self, text: str, variables: dict) -> Answer:
        email = ((variables.get("input") or {}).get("email") or {}).get("is")
        if not isinstance(email, str) or "search" not in text:
            return self._refuse("search.customers needs input: {email: {is: String}}.")
        first = variables.get("first", 50)
        after = variables.get("after") or "0"
        if not isinstance(first, int) or not 1 <= first <= 50 or not str(after).isdigit():
            return self._refuse("first must be 1 to 50 and after a cursor from pageInfo.")
        found = sorted(
            (c for c in self.customers.values() if c.get("email", "").lower() == email.lower()), key=lambda c: c["id"]
        )
        start = int(after)
        edges = [
            {
                "node": {
                    **{k: v for k, v in c.items() if k != "paymentMethods"},
                    "paymentMethods": {"edges": [{"node": m} for m in c["paymentMethods"]]},
                },
                "cursor": str(start + i + 1),
            }
            for i, c in enumerate(found[start : start + first])
        ]
        more = start + first < len(found)
        page = {"hasNextPage": more, "endCursor": str(start + len(edges)) if edges else None}
        return _answer(200, {"data": {"search": {"customers": {"edges": edges, "pageInfo": page}}}})

    def _delete_method(self, given: dict) -> Answer:
        method_id = given.get("paymentMethodId")
        for customer in self.customers.values():
            for method in customer["paymentMethods"]:
                if method["id"] == method_id:
                    customer["paymentMethods"].remove(method)
                    payload = {"clientMutationId": given.get("clientMutationId")}
                    return _answer(200, {"data": {"deletePaymentMethodFromVault": payload}})
        return _error("deletePaymentMethodFromVault", "NOT_FOUND", "An object with this ID was not found.")

    def _delete_customer(self, given: dict) -> Answer:
        customer = self.customers.get(given.get("customerId"))
        if customer is None:
            return _error("deleteCustomer", "NOT_FOUND", "An object with this ID was not found.")
        if customer["paymentMethods"]:
            return _error("deleteCustomer", "VALIDATION", "Customer has payment methods and cannot be deleted.")
        del self.customers[customer["id"]]
        return _answer(200, {"data": {"deleteCustomer": {"clientMutationId": given.get("clientMutationId")}}})

"""A stand-in for Braintree's GraphQL API: vaulted customers by email, their payment methods, and deleting them.

Braintree's GraphQL guide and schema document, and the stand-in checks:

- one endpoint, ``POST /graphql``, with ``Authorization: Basic
  base64(public key:private key)``, ``Braintree-Version: YYYY-MM-DD`` and a
  JSON body ``{"query", "variables"}``;
- answers are HTTP 200 with ``{"data", "errors", "extensions": {"requestId"}}``
  even when an operation fails: each error is ``{"message", "path",
  "extensions": {"errorClass", "legacyCode"}}`` (``errorClass`` ``VALIDATION``,
  ``NOT_FOUND``, ``AUTHORIZATION``, ``INTERNAL``, ...);
- ``search { customers(input: {email: {is: $email}}, first, after) { edges {
  node } pageInfo { hasNextPage endCursor } } }``;
- ``node(id: $id) { ... on Customer { ... paymentMethods { edges { node } } } }``:
  one customer by its id, ``null`` with a ``NOT_FOUND`` error when there is none;
- ``deletePaymentMethodFromVault(input: {paymentMethodId})`` and
  ``deleteCustomer(input: {customerId})``; a customer who still has vaulted
  payment methods is not deleted (a ``VALIDATION`` error).

Transactions are not deleted by either call: they stay with Braintree for the
processor's own obligations. The stand-in does not parse GraphQL: it
recognises the three operations by their root field and answers with every
field of the node. Credentials that are not valid are refused with HTTP 401
before any operation runs (not documented as such: the stand-in's choice).
"""

import base64
import re
import uuid

from dsr.demo.vendors.base import Call, Reply, VendorFake

PUBLIC_KEY = "standinpublickey"
PRIVATE_KEY = "standinprivatekey0000000000000001"
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OPERATIONS = ("customers", "node", "deletePaymentMethodFromVault", "deleteCustomer")
ERROR_CLASSES = {
    400: "VALIDATION",
    401: "AUTHENTICATION",
    403: "AUTHORIZATION",
    404: "NOT_FOUND",
    429: "RESOURCE_LIMIT",
}


def basic(public_key: str, private_key: str) -> str:
    """Return the Authorization header Braintree's guide describes for an API key pair."""
    return "Basic " + base64.b64encode(f"{public_key}:{private_key}".encode()).decode()


class BraintreeFake(VendorFake):
    """Braintree's vault: customers (``{"id", "email", ...}``) and their payment methods (``{"id", "customer"}``)."""

    name = "braintree"
    routes = (("POST", r"/graphql", "graphql"),)

    def __init__(self, *args, public_key: str = PUBLIC_KEY, private_key: str = PRIVATE_KEY, **kwargs):
        super().__init__(*args, **kwargs)
        self.authorization = basic(public_key, private_key)

    def authenticated(self, call: Call) -> bool:
        return call.headers.get("authorization") == self.authorization

    def error(self, status: int, message: str, *, path: str | None = None, error_class: str = "") -> Reply:
        error: dict = {
            "message": message,
            "extensions": {"errorClass": error_class or ERROR_CLASSES.get(status, "INTERNAL")},
        }
        body: dict = {"errors": [error], "extensions": {"requestId": str(uuid.uuid4())}}
        if path:
            error["path"] = [path]
            body["data"] = {path: None}
        return Reply(status, body)

    def _reply(self, data: dict) -> Reply:
        return Reply(200, {"data": data, "extensions": {"requestId": str(uuid.uuid4())}})

    def graphql(self, call: Call) -> Reply:
        if not VERSION.match(call.headers.get("braintree-version", "")):
            return self.refuse("Braintree-Version header is missing or not a date (YYYY-MM-DD).")
        try:
            data = call.json()
            text, variables = data["query"], data.get("variables") or {}
            if not isinstance(text, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self.refuse("The body must be a JSON object with query and variables.")
        operation = next((name for name in OPERATIONS if re.search(rf"\b{name}\s*\(", text)), None)
        if operation is None:
            return self.refuse(
                "This stand-in serves customer search, node (a customer), deletePaymentMethodFromVault and "
                "deleteCustomer."
            )
        given = variables.get("input") or {}
        if operation == "customers":
            return self._search(text, variables)
        if operation == "node":
            found = self.store.get("customers", str(variables.get("id")))
            if found is None or not re.search(r"\bon\s+Customer\b", text):
                return self.error(200, "An object with this ID was not found.", path=operation, error_class="NOT_FOUND")
            return self._reply({operation: self._customer_node(found)})
        if operation == "deletePaymentMethodFromVault":
            if not self.store.delete("payment_methods", str(given.get("paymentMethodId"))):
                return self.error(200, "An object with this ID was not found.", path=operation, error_class="NOT_FOUND")
            return self._reply({operation: {"clientMutationId": given.get("clientMutationId")}})
        customer_id = str(given.get("customerId"))
        if self.store.get("customers", customer_id) is None:
            return self.error(200, "An object with this ID was not found.", path=operation, error_class="NOT_FOUND")
        if any(method["customer"] == customer_id for method in self.store.items("payment_methods")):
            return self.error(
                200, "Customer has payment methods and cannot be deleted.", path=operation, error_class="VALIDATION"
            )
        self.store.delete("customers", customer_id)
        return self._reply({operation: {"clientMutationId": given.get("clientMutationId")}})

    def _search(self, text: str, variables: dict) -> Reply:
        email = ((variables.get("input") or {}).get("email") or {}).get("is")
        if not isinstance(email, str) or not re.search(r"\bsearch\s*\{", text):
            return self.refuse("search.customers needs input: {email: {is: String}}.")
        first, after = variables.get("first", 50), str(variables.get("after") or "0")
        if not isinstance(first, int) or not 1 <= first <= 50 or not after.isdigit():
            return self.refuse("first must be 1 to 50 and after a cursor from pageInfo.")
        found = sorted(
            (c for c in self.store.items("customers") if c["email"].lower() == email.lower()), key=lambda c: c["id"]
        )
        start = int(after)
        edges = []
        for offset, found_customer in enumerate(found[start : start + first], start=start + 1):
            edges.append({"node": self._customer_node(found_customer), "cursor": str(offset)})
        page = {"hasNextPage": start + first < len(found), "endCursor": edges[-1]["cursor"] if edges else None}
        return self._reply({"search": {"customers": {"edges": edges, "pageInfo": page}}})

    def _customer_node(self, customer: dict) -> dict:
        methods = [m for m in self.store.items("payment_methods") if m["customer"] == customer["id"]]
        return {**customer, "paymentMethods": {"edges": [{"node": m} for m in methods]}}

    def add_customer(self, customer_id: str, *, email: str, first_name: str, last_name: str, cards: int = 0) -> None:
        """Put a vaulted customer with ``cards`` credit cards in the store."""
        self.store.put(
            "customers",
            customer_id,
            {
                "id": customer_id,
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "company": None,
                "phoneNumber": None,
                "createdAt": "2025-02-01T10:00:00Z",
            },
        )
        for index in range(cards):
            method_id = f"{customer_id}-card{index}"
            self.store.put(
                "payment_methods",
                method_id,
                {
                    "id": method_id,
                    "customer": customer_id,
                    "usage": "MULTI_USE",
                    "details": {
                        "__typename": "CreditCardDetails",
                        "brandCode": "VISA",
                        "last4": "1111",
                        "expirationMonth": "08",
                        "expirationYear": "2028",
                        "cardholderName": f"{first_name} {last_name}",
                    },
                },
            )

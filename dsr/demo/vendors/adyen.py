"""A stand-in for Adyen's Data Protection API: the subject erasure request, by payment.

Adyen's API reference documents one call:

- ``POST /ca/services/DataProtectionService/v1/requestSubjectErasure`` with the
  API key in ``X-API-Key`` and ``{"merchantAccount", "pspReference",
  "forceErasure"}``; 200 with ``{"result": ...}``: ``SUCCESS`` (received,
  processed asynchronously), ``ACTIVE_RECURRING_TOKEN_EXISTS`` (a recurring
  token is stored with the payment details; send ``forceErasure: true`` to erase
  the shopper data anyway, which leaves the recurring contract itself in
  place), ``ALREADY_PROCESSED`` or ``PAYMENT_NOT_FOUND``.

There is no call to find a shopper's payments by email or to read them: the
PSP references come from the merchant's own order records. Erasure removes
the shopper-related data of the payment (name, email, address, card holder);
the payment itself (amount, date, reference) stays with Adyen. The fake
erases at once.

Errors are Adyen's service error ``{"status", "errorCode", "message",
"errorType", "pspReference"}``.
Not part of dsr's product: the catalogue's tests serve it on a local port.
"""

import json
import secrets
from collections.abc import Mapping

Answer = tuple[int, dict[str, str], bytes]

API_KEY = "AQEyhmfxK4-fake-adyen-key"
MERCHANT_ACCOUNT = "DemoShopDK"
PATH = "/ca/services/DataProtectionService/v1/requestSubjectErasure"
# The shopper-related data of a payment, which a subject erasure removes.
SHOPPER_FIELDS = (
    "shopperEmail",
    "shopperName",
    "shopperReference",
    "billingAddress",
    "deliveryAddress",
    "cardHolderName",
    "telephoneNumber",
    "shopperIP",
)


def _psp() -> str:
    return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(16))


def _answer(status: int, data: dict, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()


def _error(status: int, code: str, message: str, error_type: str) -> Answer:
    return _answer(
        status,
        {"status": status, "errorCode": code, "message": message, "errorType": error_type, "pspReference": _psp()},
    )


class AdyenFake:
    """Payments by PSP reference: ``{"pspReference", "merchantAccount", "recurring": bool, <shopper fields>}``."""

    def __init__(self, payments: list[dict] = (), *, api_key: str = API_KEY, roles_granted: bool = True):
        self.payments = {p["pspReference"]: dict(p) for p in payments}
        self.api_key, self.roles_granted = api_key, roles_granted
        self.erased: set[str] = set()
        self.calls: list[dict] = []
        self.refusals: list[str] = []

    def failure(self, kind: str, *, retry_after: int = 1) -> Answer:
        """Answer as Adyen does for ``kind``: unauthorized, forbidden, not_found, rate_limited, server_error."""
        if kind == "unauthorized":
            return _error(401, "000", "HTTP Status Response - Unauthorized", "security")
        if kind == "forbidden":
            return _error(403, "010", "Not allowed", "security")
        if kind == "not_found":
            return _error(404, "000", "HTTP Status Response - Not Found", "security")
        if kind == "rate_limited":
            status, headers, body = _error(429, "000", "Too many requests", "throttling")
            return status, {**headers, "Retry-After": str(retry_after)}, body
        return _error(500, "905", "Internal error: please retry later", "internal")

    def _refuse(self, code: str, message: str) -> Answer:
        self.refusals.append(message)
        return _error(422, code, message, "validation")

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """Answer one request; ``headers`` have lower-case names."""
        if headers.get("x-api-key") != self.api_key:
            return self.failure("unauthorized")
        if method != "POST" or path.rstrip("/") != PATH:
            return self.failure("not_found")
        if not self.roles_granted:
            return self.failure("forbidden")
        if "application/json" not in headers.get("content-type", ""):
            return _error(415, "000", "HTTP Status Response - Unsupported Media Type", "validation")
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            return _error(400, "702", "Structure of request is invalid", "validation")
        self.calls.append(data)
        if not data.get("merchantAccount"):
            return self._refuse("702", "Required field 'merchantAccount' is null")
        if not data.get("pspReference"):
            return self._refuse("702", "Required field 'pspReference' is null")
        if "forceErasure" in data and not isinstance(data["forceErasure"], bool):
            return self._refuse("702", "Field 'forceErasure' must be a boolean")
        reference = data["pspReference"]
        payment = self.payments.get(reference)
        if payment is None or payment.get("merchantAccount") != data["merchantAccount"]:
            return _answer(200, {"result": "PAYMENT_NOT_FOUND"})
        if reference in self.erased:
            return _answer(200, {"result": "ALREADY_PROCESSED"})
        if payment.get("recurring") and not data.get("forceErasure"):
            return _answer(200, {"result": "ACTIVE_RECURRING_TOKEN_EXISTS"})
        for key in SHOPPER_FIELDS:
            payment.pop(key, None)
        self.erased.add(reference)
        return _answer(200, {"result": "SUCCESS"})

    def shopper_data(self, email: str) -> list[str]:
        """Return the PSP references whose payment still holds shopper data with ``email``."""
        return sorted(ref for ref, p in self.payments.items() if (p.get("shopperEmail") or "").lower() == email.lower())

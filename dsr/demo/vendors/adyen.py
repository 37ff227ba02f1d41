"""A stand-in for Adyen's Data Protection API: the subject erasure request, one payment at a time.

Adyen's API reference documents one call, checked here as written:

- ``POST /ca/services/DataProtectionService/v1/requestSubjectErasure`` with the
  API key in ``X-API-Key`` (a credential with the Data Protection API role;
  without it, 403) and ``{"merchantAccount", "pspReference", "forceErasure"}``;
  200 with ``{"result": ...}``: ``SUCCESS`` (received, processed
  asynchronously; the stand-in erases at once), ``ACTIVE_RECURRING_TOKEN_EXISTS``
  (a recurring token is stored with the payment details: send
  ``forceErasure: true`` to erase the shopper data anyway, which leaves the
  recurring contract in place), ``ALREADY_PROCESSED`` or ``PAYMENT_NOT_FOUND``.

Adyen has no call to find a shopper's payments by email or to read them: the
PSP references come from the merchant's own order records. Erasure removes
the shopper-related data of the payment (name, email, addresses, card
holder); the payment itself (amount, date, reference) stays with Adyen.

Errors are Adyen's service error ``{"status", "errorCode", "message",
"errorType", "pspReference"}``.
"""

import secrets

from dsr.demo.vendors.base import Call, Reply, VendorFake

API_KEY = "AQE1hmfxKo-stand-in-key"  # the stand-in's own key, not a secret
MERCHANT_ACCOUNT = "TestfirmaDK"
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
ERRORS = {
    400: ("702", "validation"),
    401: ("000", "security"),
    403: ("010", "security"),
    404: ("000", "security"),
    415: ("000", "validation"),
    422: ("702", "validation"),
    429: ("000", "throttling"),
}


def payment(psp_reference: str, *, email: str, name: str, recurring: bool = False) -> dict:
    """Return what Adyen holds of a payment: its reference, amount and the shopper's data."""
    return {
        "pspReference": psp_reference,
        "merchantAccount": MERCHANT_ACCOUNT,
        "amount": {"currency": "DKK", "value": 39900},
        "recurring": recurring,
        "shopperEmail": email,
        "shopperName": {"firstName": name.split()[0], "lastName": name.split()[-1]},
        "shopperReference": f"customer-{psp_reference[-4:]}",
        "billingAddress": {"street": "Vestergade", "houseNumberOrName": "1", "city": "Aarhus", "postalCode": "8000"},
        "cardHolderName": name,
    }


class AdyenFake(VendorFake):
    """Payments by PSP reference, and Adyen's subject erasure request."""

    name = "adyen"
    routes = (("POST", PATH, "erasure_request"),)

    def __init__(self, *args, api_key: str = API_KEY, role: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.api_key, self.role = api_key, role

    def authenticated(self, call: Call) -> bool:
        return call.headers.get("x-api-key") == self.api_key

    def error(self, status: int, message: str) -> Reply:
        code, kind = ERRORS.get(status, ("905", "internal"))
        reference = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(16))
        body = {"status": status, "errorCode": code, "message": message, "errorType": kind, "pspReference": reference}
        return Reply(status, body)

    def erasure_request(self, call: Call) -> Reply:
        if not self.role:
            return self.error(403, "Not allowed")
        if not call.headers.get("content-type", "").startswith("application/json"):
            return self.refuse("HTTP Status Response - Unsupported Media Type", 415)
        try:
            data = call.json()
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            return self.refuse("Structure of request is invalid")
        for key in ("merchantAccount", "pspReference"):
            if not isinstance(data.get(key), str) or not data[key]:
                return self.refuse(f"Required field '{key}' is null", 422)
        if not isinstance(data.get("forceErasure", False), bool):
            return self.refuse("Field 'forceErasure' must be true or false", 422)
        found = self.store.get("payments", data["pspReference"])
        if found is None or found["merchantAccount"] != data["merchantAccount"]:
            return Reply(200, {"result": "PAYMENT_NOT_FOUND"})
        if found.get("erased"):
            return Reply(200, {"result": "ALREADY_PROCESSED"})
        if found.get("recurring") and not data.get("forceErasure"):
            return Reply(200, {"result": "ACTIVE_RECURRING_TOKEN_EXISTS"})
        kept = {key: value for key, value in found.items() if key not in SHOPPER_FIELDS}
        self.store.put("payments", data["pspReference"], {**kept, "erased": True})
        return Reply(200, {"result": "SUCCESS"})

    def add_payment(self, psp_reference: str, *, email: str, name: str, recurring: bool = False) -> None:
        """Put a payment with its shopper data in the store."""
        self.store.put("payments", psp_reference, payment(psp_reference, email=email, name=name, recurring=recurring))

"""The Adyen catalogue entry, a task worked by hand, and the Data Protection API request it tells the owner to send.

Adyen has no call that finds or reads a shopper's payments, so the entry is
a manual source (dsr/sources/saas/catalogue/manual/adyen.yaml). Its erasure
step is one request per PSP reference; the tests send exactly that request,
as the instructions write it, to the Adyen stand-in (dsr/demo/vendors/adyen.py).
"""

import json
import re

import pytest
import requests

from dsr.demo.vendors.adyen import API_KEY, MERCHANT_ACCOUNT, PATH, AdyenFake
from dsr.demo.vendors.base import serve
from dsr.models import Operation
from dsr.sources.base import ASYNC
from tests.sources.saas.manual_entries import manual_connector


@pytest.fixture
def adyen(request):
    """Serve Adyen's Data Protection API with two of Mette's payments (one with a recurring token) and another's."""
    fake = AdyenFake(mode=getattr(request, "param", "normal"))
    fake.add_payment("QFQTPCQ8HXSKGK82", email="mette.hansen@example.dk", name="Mette Hansen")
    fake.add_payment("NC6HT9CRT65ZGN82", email="mette.hansen@example.dk", name="Mette Hansen", recurring=True)
    fake.add_payment("KHQC5N7G84BLNK43", email="other@example.dk", name="Other Person")
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


def _instructed_body(instructions: str, psp_reference: str) -> dict:
    """Return the JSON body the erasure instructions tell the owner to send, filled in for one payment."""
    template = re.search(r'\{"merchantAccount".*?\}', instructions).group(0)
    filled = template.replace("<merchant account>", MERCHANT_ACCOUNT).replace("<PSP reference>", psp_reference)
    return json.loads(filled)


def _send(fake: AdyenFake, body: dict, *, key: str = API_KEY) -> requests.Response:
    return requests.post(f"{fake.url}{PATH}", json=body, headers={"X-API-Key": key}, timeout=5)


def test_the_entry_is_a_task_for_access_and_erasure_in_danish_and_english_that_states_what_adyen_keeps():
    adyen = manual_connector("adyen")

    assert adyen.capabilities() == {ASYNC}
    access, erasure = adyen.task_for(Operation.ACCESS), adyen.task_for(Operation.ERASURE)
    assert access["owner"] == erasure["owner"] == "Finance team (administrator of the Adyen Customer Area)"
    assert "Transactions > Payments" in access["instructions"]["en"]
    assert "Transactions > Payments" in access["instructions"]["da"]
    for text in erasure["instructions"].values():
        assert "/ca/services/DataProtectionService/v1/requestSubjectErasure" in text
        assert "X-API-Key" in text
    assert "Bookkeeping Act" in erasure["instructions"]["en"]
    assert "bogføringsloven" in erasure["instructions"]["da"]
    assert adyen.task_for(Operation.RECTIFICATION) is None


def test_the_request_the_instructions_give_erases_the_shopper_data_and_keeps_the_payment(adyen):
    instructions = manual_connector("adyen").task_for(Operation.ERASURE)["instructions"]["en"]

    answers = [_send(adyen, _instructed_body(instructions, ref)) for ref in ("QFQTPCQ8HXSKGK82", "NC6HT9CRT65ZGN82")]

    assert [answer.json() for answer in answers] == [{"result": "SUCCESS"}, {"result": "SUCCESS"}]
    for reference in ("QFQTPCQ8HXSKGK82", "NC6HT9CRT65ZGN82"):
        kept = adyen.store.get("payments", reference)
        assert "shopperEmail" not in kept
        assert "cardHolderName" not in kept
        assert kept["amount"] == {"currency": "DKK", "value": 39900}  # the payment itself stays, as the task says
    assert adyen.store.get("payments", "KHQC5N7G84BLNK43")["shopperEmail"] == "other@example.dk"
    # Sent again, Adyen says it is done already; nothing changes.
    again = _send(adyen, _instructed_body(instructions, "QFQTPCQ8HXSKGK82"))
    assert again.json() == {"result": "ALREADY_PROCESSED"}
    assert adyen.refusals == []


def test_without_force_erasure_a_payment_with_a_recurring_token_is_not_erased(adyen):
    answer = _send(adyen, {"merchantAccount": MERCHANT_ACCOUNT, "pspReference": "NC6HT9CRT65ZGN82"})

    assert answer.json() == {"result": "ACTIVE_RECURRING_TOKEN_EXISTS"}
    assert adyen.store.get("payments", "NC6HT9CRT65ZGN82")["shopperEmail"] == "mette.hansen@example.dk"


def test_a_reference_of_another_merchant_account_is_not_found(adyen):
    answer = _send(adyen, {"merchantAccount": "SomeoneElse", "pspReference": "QFQTPCQ8HXSKGK82", "forceErasure": True})

    assert answer.json() == {"result": "PAYMENT_NOT_FOUND"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"pspReference": "QFQTPCQ8HXSKGK82"}, 422, "Required field 'merchantAccount' is null"),
        ({"merchantAccount": MERCHANT_ACCOUNT, "pspReference": "X", "forceErasure": "yes"}, 422, "forceErasure"),
    ],
)
def test_adyen_refuses_a_malformed_request_with_its_service_error(adyen, body, status, message):
    answer = _send(adyen, body)

    assert answer.status_code == status
    assert answer.json()["errorType"] == "validation"
    assert message in answer.json()["message"]


def test_a_wrong_key_or_a_key_without_the_role_is_refused_as_adyen_documents(adyen):
    body = {"merchantAccount": MERCHANT_ACCOUNT, "pspReference": "QFQTPCQ8HXSKGK82", "forceErasure": True}

    refused = _send(adyen, body, key="wrong")
    adyen.role = False
    forbidden = _send(adyen, body)

    assert (refused.status_code, refused.json()["errorCode"], refused.json()["errorType"]) == (401, "000", "security")
    assert (forbidden.status_code, forbidden.json()["message"]) == (403, "Not allowed")
    assert adyen.store.get("payments", "QFQTPCQ8HXSKGK82")["shopperEmail"] == "mette.hansen@example.dk"

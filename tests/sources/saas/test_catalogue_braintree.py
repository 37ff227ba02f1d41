"""The Braintree catalogue entry, a task worked by hand, and the API behaviour that makes it one.

Braintree's API is GraphQL: it answers HTTP 200 with failures inside the
body, and deletes a vaulted customer only after each payment method, so the
entry is a manual source (dsr/sources/saas/catalogue/manual/braintree.yaml).
The Braintree stand-in (dsr/demo/vendors/braintree.py) shows the facts the
task's steps follow.
"""

import pytest
import requests

from dsr.demo.vendors.base import serve
from dsr.demo.vendors.braintree import PRIVATE_KEY, PUBLIC_KEY, BraintreeFake, basic
from dsr.models import Operation
from dsr.sources.base import ASYNC
from tests.sources.saas.manual_entries import manual_connector

SEARCH = (
    "query Search($input: CustomerSearchInput!) { search { customers(input: $input) "
    "{ edges { node { id email paymentMethods { edges { node { id } } } } } pageInfo { hasNextPage endCursor } } } }"
)
DELETE_METHOD = (
    "mutation Delete($input: DeletePaymentMethodFromVaultInput!) "
    "{ deletePaymentMethodFromVault(input: $input) { clientMutationId } }"
)
DELETE_CUSTOMER = "mutation Delete($input: DeleteCustomerInput!) { deleteCustomer(input: $input) { clientMutationId } }"


@pytest.fixture
def braintree(request):
    """Serve Braintree's GraphQL API with Mette (a vaulted customer with two cards) and another person."""
    fake = BraintreeFake(mode=getattr(request, "param", "normal"))
    fake.add_customer("mette01", email="mette.hansen@example.dk", first_name="Mette", last_name="Hansen", cards=2)
    fake.add_customer("other01", email="other@example.dk", first_name="Other", last_name="Person", cards=1)
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


def _graphql(fake: BraintreeFake, query: str, variables: dict, *, private_key: str = PRIVATE_KEY) -> requests.Response:
    headers = {"Authorization": basic(PUBLIC_KEY, private_key), "Braintree-Version": "2019-01-01"}
    return requests.post(
        f"{fake.url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=5
    )


def test_the_entry_is_a_task_for_access_and_erasure_in_danish_and_english_that_states_what_braintree_keeps():
    braintree = manual_connector("braintree")

    assert braintree.capabilities() == {ASYNC}
    access, erasure = braintree.task_for(Operation.ACCESS), braintree.task_for(Operation.ERASURE)
    assert access["owner"] == "Finance team (administrator of the Braintree Control Panel)"
    assert "Vault" in access["instructions"]["en"]
    assert "Vault" in access["instructions"]["da"]
    assert "delete every payment method first, then the customer" in erasure["instructions"]["en"]
    assert "først alle betalingsmetoder og derefter kunden" in erasure["instructions"]["da"]
    assert "transactions are not deleted" in erasure["instructions"]["en"]
    assert "Bookkeeping Act" in erasure["instructions"]["en"]
    assert "bogføringsloven" in erasure["instructions"]["da"]


def test_a_customer_is_deleted_only_after_its_payment_methods_as_the_task_says(braintree):
    found = _graphql(braintree, SEARCH, {"input": {"email": {"is": "Mette.Hansen@example.dk"}}}).json()
    node = found["data"]["search"]["customers"]["edges"][0]["node"]
    methods = [edge["node"]["id"] for edge in node["paymentMethods"]["edges"]]
    assert (node["id"], len(methods)) == ("mette01", 2)

    refused = _graphql(braintree, DELETE_CUSTOMER, {"input": {"customerId": "mette01"}})
    # HTTP 200, the failure inside the body: why the saas kind cannot do this yet.
    assert refused.status_code == 200
    assert refused.json()["errors"][0]["extensions"]["errorClass"] == "VALIDATION"
    assert braintree.store.get("customers", "mette01") is not None

    for method in methods:
        assert _graphql(braintree, DELETE_METHOD, {"input": {"paymentMethodId": method}}).json()["data"]
    deleted = _graphql(braintree, DELETE_CUSTOMER, {"input": {"customerId": "mette01"}}).json()

    assert deleted["data"] == {"deleteCustomer": {"clientMutationId": None}}
    assert [customer["id"] for customer in braintree.store.items("customers")] == ["other01"]
    assert [method["customer"] for method in braintree.store.items("payment_methods")] == ["other01"]
    again = _graphql(braintree, DELETE_CUSTOMER, {"input": {"customerId": "mette01"}}).json()
    assert again["errors"][0]["extensions"]["errorClass"] == "NOT_FOUND"
    assert braintree.refusals == []


def test_wrong_keys_are_refused_before_any_operation_runs(braintree):
    answer = _graphql(braintree, DELETE_CUSTOMER, {"input": {"customerId": "other01"}}, private_key="wrong")

    assert answer.status_code == 401
    assert answer.json()["errors"][0]["extensions"]["errorClass"] == "AUTHENTICATION"
    assert braintree.store.get("customers", "other01") is not None


def test_a_request_without_the_braintree_version_header_is_refused(braintree):
    answer = requests.post(
        f"{braintree.url}/graphql",
        json={"query": SEARCH, "variables": {"input": {"email": {"is": "x@example.dk"}}}},
        headers={"Authorization": basic(PUBLIC_KEY, PRIVATE_KEY)},
        timeout=5,
    )

    assert answer.json()["errors"][0]["extensions"]["errorClass"] == "VALIDATION"
    assert braintree.refusals == ["Braintree-Version header is missing or not a date (YYYY-MM-DD)."]

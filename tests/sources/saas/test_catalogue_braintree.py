"""The Braintree catalogue entry against the Braintree stand-in (dsr/demo/vendors/braintree.py).

Braintree's GraphQL API answers HTTP 200 with failures inside the body and deletes a vaulted customer only
once its payment methods are gone; the entry reads the errors by their errorClass and deletes the methods
first, one call each.
"""

import pytest

from dsr.demo.vendors.base import serve
from dsr.demo.vendors.braintree import PRIVATE_KEY, PUBLIC_KEY, BraintreeFake, basic
from dsr.sources.base import ACCESS, DELETE, ERASURE, ErasurePlan, SourcePermanentError, SourceTransientError
from tests.sources.saas.conftest import METTE, saas_connector


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


@pytest.fixture(autouse=True)
def braintree_keys(monkeypatch):
    monkeypatch.setenv("TEST_BRAINTREE_PUBLIC", PUBLIC_KEY)
    monkeypatch.setenv("TEST_BRAINTREE_PRIVATE", PRIVATE_KEY)


def braintree_connector(fake, **config):
    secrets = {"public_key": "${env:TEST_BRAINTREE_PUBLIC}", "private_key": "${env:TEST_BRAINTREE_PRIVATE}"}
    return saas_connector("braintree", fake.url, secrets=secrets, **config)


def test_access_returns_exactly_the_customer_and_cards_braintree_holds_for_the_person(braintree):
    connector = braintree_connector(braintree)
    assert connector.capabilities() == {ACCESS, ERASURE}

    records = list(connector.records(METTE, reference="DSR-1"))

    tables = {}
    for record in records:
        tables.setdefault(record.table, []).append(record.row)
    held = braintree.store.get("customers", "mette01")
    assert [{key: row[key] for key in held} for row in tables["customers"]] == [held]
    cards = sorted(tables["payment_methods"], key=lambda row: row["id"])
    assert cards == [braintree.store.get("payment_methods", f"mette01-card{index}") for index in range(2)]
    assert records[0].categories["email"] == "contact"
    assert all(record.provided for record in records)
    search = braintree.calls_to("POST", "/graphql")[0]
    assert search.json()["variables"]["input"] == {"email": {"is": "mette.hansen@example.dk"}}
    assert search.headers["authorization"] == basic(PUBLIC_KEY, PRIVATE_KEY)
    assert search.headers["braintree-version"] == "2019-01-01"
    assert braintree.refusals == []


def test_a_search_over_several_pages_sends_the_cursor_in_the_graphql_variables(braintree):
    # More matches than one page of 50 (the stand-in, unlike a vault, lets an email be on many customers).
    for index in range(60):
        braintree.add_customer(f"mette{100 + index}", email="mette.hansen@example.dk", first_name="M", last_name="H")

    subjects = braintree_connector(braintree).subjects(METTE)

    assert len(subjects) == 61
    searches = braintree.calls_to("POST", "/graphql")
    assert [call.json()["variables"].get("after") for call in searches] == [None, "50"]
    assert searches[1].json()["variables"]["input"] == searches[0].json()["variables"]["input"]
    assert braintree.refusals == []


def test_erasure_deletes_each_card_then_the_customer_and_a_second_run_changes_nothing(braintree):
    connector = braintree_connector(braintree)

    plan = connector.erasure_plan(METTE, reference="DSR-1")
    assert [(table.table, table.action, table.count) for table in plan.tables] == [
        ("payment_methods", DELETE, 2),
        ("customers", DELETE, 1),
    ]
    assert "mette" not in str(plan.to_dict()).lower().replace("mette01", "")
    result = connector.erasure_execute(ErasurePlan.from_dict(plan.to_dict()))

    assert result.complete
    assert [(fact.table, fact.action, fact.found, fact.changed) for fact in result.facts] == [
        ("payment_methods", DELETE, 2, 2),
        ("customers", DELETE, 1, 1),
    ]
    deletes = [call.json()["variables"]["input"] for call in braintree.calls_to("POST", "/graphql")[-3:]]
    assert deletes == [
        {"paymentMethodId": "mette01-card0"},
        {"paymentMethodId": "mette01-card1"},
        {"customerId": "mette01"},
    ]
    assert [customer["id"] for customer in braintree.store.items("customers")] == ["other01"]
    assert [method["customer"] for method in braintree.store.items("payment_methods")] == ["other01"]

    again = connector.erasure_execute(connector.erasure_plan(METTE))
    assert [(fact.found, fact.changed) for fact in again.facts] == [(0, 0), (0, 0)]
    assert braintree.refusals == []


def test_a_plan_run_again_after_braintree_deleted_the_customer_takes_not_found_as_already_gone(braintree):
    connector = braintree_connector(braintree)
    plan = connector.erasure_plan(METTE)
    # The first run's deletions went through, then the worker stopped before it recorded them.
    for index in range(2):
        braintree.store.delete("payment_methods", f"mette01-card{index}")
    braintree.store.delete("customers", "mette01")

    result = connector.erasure_execute(plan)

    # HTTP 200 with a NOT_FOUND error for each: found, already gone, nothing changed by this run.
    assert result.complete
    assert [(fact.found, fact.changed) for fact in result.facts] == [(2, 0), (1, 0)]


def test_a_refused_deletion_inside_a_200_answer_is_a_permanent_error_not_a_deletion(braintree):
    connector = braintree_connector(braintree)
    plan = connector.erasure_plan(METTE)
    # A card added after the plan: Braintree refuses the customer's deletion (VALIDATION, in an HTTP 200).
    braintree.store.put("payment_methods", "mette01-late", {"id": "mette01-late", "customer": "mette01"})

    with pytest.raises(SourcePermanentError) as raised:
        connector.erasure_execute(plan)

    assert "HTTP 200 with an error at errors" in str(raised.value)
    assert "VALIDATION" in str(raised.value)
    assert "mette" not in str(raised.value).lower()
    assert braintree.store.get("customers", "mette01") is not None


@pytest.mark.parametrize(
    ("braintree", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401: the credentials were refused"),
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("rate_limited", SourceTransientError, "HTTP 429 and asked us to wait 1 seconds (after 3 attempts)"),
        ("down", SourceTransientError, "HTTP 503 (after 3 attempts)"),
        ("malformed", SourcePermanentError, "not JSON"),
        ("slow", SourceTransientError, "did not answer within 0.3 seconds"),
    ],
    indirect=["braintree"],
)
def test_failures_end_as_the_right_error_with_a_message_that_names_no_one(braintree, error, words):
    connector = braintree_connector(braintree, timeout_seconds=0.3, retries=2)

    with pytest.raises(error) as raised:
        list(connector.records(METTE))

    message = str(raised.value)
    assert words in message
    assert "Braintree: POST /graphql" in message
    assert "mette" not in message.lower()


def test_wrong_keys_are_a_permanent_error_and_nothing_is_deleted(braintree, monkeypatch):
    monkeypatch.setenv("TEST_BRAINTREE_PRIVATE", "wrong")

    with pytest.raises(SourcePermanentError, match="HTTP 401"):
        braintree_connector(braintree).erasure_plan(METTE)
    assert braintree.store.get("customers", "mette01") is not None

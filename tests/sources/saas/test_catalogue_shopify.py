"""The Shopify catalogue entry against the Shopify stand-in (dsr/demo/vendors/shopify.py)."""

import datetime as dt

import pytest
import requests

from dsr.demo.vendors.base import serve
from dsr.demo.vendors.shopify import TOKEN, ShopifyFake
from dsr.rights.outcome import PROCESSOR, fact_lines
from dsr.sources.base import ACCESS, ERASURE, KEEP, REQUEST, SourcePermanentError, SourceTransientError
from tests.sources.saas.conftest import METTE, OTHER, saas_connector

SEARCH = "/admin/api/2025-01/customers/search.json"
SEARCH_LABEL = "/admin/api/2025-01/customers/search.json"


@pytest.fixture
def shopify(request):
    """Serve a shop with Mette (two customers: 3 orders and none) and another person (1 order)."""
    fake = ShopifyFake(mode=getattr(request, "param", "normal"))
    fake.add_customer(
        7001,
        email="mette.hansen@example.dk",
        first_name="Mette",
        last_name="Hansen",
        orders=[
            (9001, "2025-03-01T10:00:00+01:00", "399.00"),
            (9002, "2025-04-01T10:00:00+02:00", "399.00"),
            (9003, "2026-11-20T10:00:00+01:00", "449.00"),
        ],
    )
    fake.add_customer(7002, email="Mette.Hansen@example.dk", first_name="Mette", last_name="H.")
    fake.add_customer(7003, email=OTHER, first_name="Other", last_name="Person", orders=[(9100, "2026-01-01", "99.00")])
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def shopify_token(monkeypatch):
    monkeypatch.setenv("TEST_SHOPIFY_TOKEN", TOKEN)


def shopify_connector(fake, **config):
    # The catalogue's address is https://{settings.shop}.myshopify.com; the test points the map's url at the stand-in.
    return saas_connector(
        "shopify",
        fake.url,
        secrets={"access_token": "${env:TEST_SHOPIFY_TOKEN}"},
        settings={"shop": "testfirma"},
        **config,
    )


def _by_table(records) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {}
    for record in records:
        tables.setdefault(record.table, []).append(record.row)
    return tables


def test_access_returns_exactly_the_customers_and_orders_shopify_holds_for_the_person(shopify):
    connector = shopify_connector(shopify)
    assert connector.capabilities() == {ACCESS, ERASURE}

    records = list(connector.records(METTE, reference="DSR-1"))

    tables = _by_table(records)
    assert tables["customers"] == [shopify.store.get("customers", "7001"), shopify.store.get("customers", "7002")]
    assert tables["orders"] == [shopify.store.get("orders", str(key)) for key in (9001, 9002, 9003)]
    customer = next(record for record in records if record.table == "customers")
    assert customer.categories["email_marketing_consent"] == "marketing"
    assert customer.provided
    assert shopify.refusals == []
    search = shopify.calls_to("GET", SEARCH)[0]
    assert search.param("query") == "email:mette.hansen@example.dk"
    assert search.headers["x-shopify-access-token"] == TOKEN
    assert [call.param("status") for call in shopify.calls_to("GET", "/admin/api/2025-01/customers/7001/orders")] == [
        "any"
    ]


def test_orders_over_several_pages_are_all_read_by_following_shopifys_link_header(shopify):
    shopify.page_size = 2  # the shop answers two orders a page

    records = list(shopify_connector(shopify).records(METTE))

    assert [row["id"] for row in _by_table(records)["orders"]] == [9001, 9002, 9003]
    pages = shopify.calls_to("GET", "/admin/api/2025-01/customers/7001/orders")
    assert [sorted(call.query) for call in pages] == [["limit", "status"], ["limit", "page_info"]]
    assert shopify.refusals == []


def test_a_person_shopify_does_not_know_has_no_records(shopify):
    assert list(shopify_connector(shopify).records({"email": {"nobody@example.dk"}})) == []


def test_erasure_asks_shopify_for_each_customer_and_says_it_was_asked_not_that_the_data_is_gone(shopify):
    connector = shopify_connector(shopify)
    plan = connector.erasure_plan(METTE)
    assert [(table.table, table.action, table.count) for table in plan.tables] == [
        ("customers", REQUEST, 2),
        ("orders", KEEP, 3),
    ]

    result = connector.erasure_execute(plan)

    customers, orders = result.facts
    assert (customers.action, customers.changed, customers.found, customers.confirmed) == (REQUEST, 2, None, None)
    assert customers.reference == "gid://shopify/Customer/7001, gid://shopify/Customer/7002"
    assert (orders.action, orders.kept, orders.hold) == (KEEP, 3, "bookkeeping")
    assert result.complete  # nothing to poll: Shopify gives no status for its erasure request
    assert sorted(item["customer_id"] for item in shopify.store.items("erasures")) == [7001, 7002]
    assert [line.kind for line in fact_lines(customers)] == [PROCESSOR]
    assert fact_lines(customers)[0].confirmed is None  # the letter says "asked; not yet confirmed"
    assert shopify.refusals == []
    # Shopify has only queued the erasure: the customer is there until its queue runs.
    assert shopify.store.get("customers", "7001") is not None


def test_a_run_again_after_a_stopped_worker_does_not_ask_shopify_twice(shopify):
    connector = shopify_connector(shopify)
    plan = connector.erasure_plan(METTE)
    connector.erasure_execute(plan)

    again = connector.erasure_execute(plan)

    assert again.facts[0].changed == 2
    assert len(shopify.calls_to("POST", "/admin/api/2025-01/graphql.json")) == 2


def test_a_customer_shopify_no_longer_knows_was_not_asked(shopify):
    connector = shopify_connector(shopify)
    plan = connector.erasure_plan(METTE)
    shopify.store.delete("customers", "7002")  # erased since the plan

    result = connector.erasure_execute(plan)

    assert (result.facts[0].changed, result.facts[0].reference) == (1, "gid://shopify/Customer/7001")


def test_a_throttled_erasure_request_is_retried_and_then_taken(shopify):
    shopify.erasure_failures = ["THROTTLED"]
    connector = shopify_connector(shopify)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    assert result.facts[0].changed == 2
    assert len(shopify.calls_to("POST", "/admin/api/2025-01/graphql.json")) == 3


def test_throttled_past_the_retries_is_transient_and_a_refusal_is_permanent_naming_no_one(shopify):
    connector = shopify_connector(shopify, retries=1)
    plan = connector.erasure_plan(METTE)
    shopify.erasure_failures = ["THROTTLED", "THROTTLED"]
    with pytest.raises(SourceTransientError, match=r"answered HTTP 200 with an error at errors\[\*\] \(THROTTLED\)"):
        connector.erasure_execute(plan)

    shopify.erasure_failures = ["FAILED_TO_REQUEST"]
    with pytest.raises(SourcePermanentError) as raised:
        shopify_connector(shopify).erasure_execute(plan)

    message = str(raised.value)
    assert "Shopify: POST /admin/api/2025-01/graphql.json answered HTTP 200 with an error" in message
    assert "(FAILED_TO_REQUEST)" in message
    assert "mette" not in message.lower()
    assert "7001" not in message
    assert shopify.store.items("erasures") == []


def test_a_token_without_the_erasure_scope_is_a_permanent_error(shopify):
    shopify.scopes = {"read_customers", "read_orders"}
    connector = shopify_connector(shopify)

    with pytest.raises(SourcePermanentError, match="ACCESS_DENIED"):
        connector.erasure_execute(connector.erasure_plan(METTE))


@pytest.mark.parametrize(
    ("shopify", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401: the credentials were refused"),
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("not_found", SourcePermanentError, "HTTP 404"),
        # Shopify's decimal Retry-After ("2.0") is read: longer than the map's max_wait_seconds, it ends the run.
        ("rate_limited", SourceTransientError, "HTTP 429 and asked us to wait 2 seconds"),
        ("down", SourceTransientError, "HTTP 503 (after 3 attempts)"),
        ("malformed", SourcePermanentError, "not JSON"),
        ("slow", SourceTransientError, "did not answer within 0.3 seconds"),
    ],
    indirect=["shopify"],
)
def test_failures_end_as_the_right_error_with_a_message_that_names_no_one(shopify, error, words):
    connector = shopify_connector(shopify, timeout_seconds=0.3, retries=2, max_wait_seconds=1)

    with pytest.raises(error) as raised:
        list(connector.records(METTE))

    message = str(raised.value)
    assert words in message
    assert f"Shopify: GET {SEARCH_LABEL}" in message
    assert "mette" not in message.lower()


@pytest.mark.parametrize("shopify", ["rate_limited_once", "down_once"], indirect=True)
def test_a_passing_rate_limit_or_outage_is_retried_and_the_answer_is_complete(shopify):
    records = list(shopify_connector(shopify).records(METTE))

    assert len(records) == 2 + 3


def test_a_token_without_read_orders_is_refused_and_reported_as_permanent(shopify):
    shopify.scopes = {"read_customers"}

    with pytest.raises(SourcePermanentError, match="HTTP 403"):
        list(shopify_connector(shopify).records(METTE))


def _erasure_request(fake: ShopifyFake, customer_id: int) -> dict:
    mutation = (
        "mutation customerRequestDataErasure($customerId: ID!) { customerRequestDataErasure(customerId: $customerId)"
        " { customerId userErrors { field message code } } }"
    )
    answer = requests.post(
        f"{fake.url}/admin/api/2025-01/graphql.json",
        json={"query": mutation, "variables": {"customerId": f"gid://shopify/Customer/{customer_id}"}},
        headers={"X-Shopify-Access-Token": TOKEN},
        timeout=5,
    )
    assert answer.status_code == 200  # Shopify answers 200 whether the request was taken or not
    return answer.json()


def test_what_the_entry_says_shopify_keeps_is_what_its_erasure_leaves(shopify):
    taken = _erasure_request(shopify, 7001)
    unknown = _erasure_request(shopify, 7999)

    assert taken["data"]["customerRequestDataErasure"] == {
        "customerId": "gid://shopify/Customer/7001",
        "userErrors": [],
    }
    assert unknown["data"]["customerRequestDataErasure"]["userErrors"][0]["code"] == "DOES_NOT_EXIST"
    # Mette's last order was on 20 November 2026: Shopify holds the erasure until 180 days after it.
    assert shopify.erasures_process(dt.date(2026, 12, 3)) == {7001: "2027-05-19"}
    assert shopify.store.get("customers", "7001") is not None
    assert shopify.erasures_process(dt.date(2027, 5, 19)) == {7001: None}
    assert shopify.store.get("customers", "7001") is None
    kept = [order for order in shopify.store.items("orders") if order["id"] in (9001, 9002, 9003)]
    assert [(order["total_price"], order["customer_id"], "email" in order) for order in kept] == [
        ("399.00", None, False),
        ("399.00", None, False),
        ("449.00", None, False),
    ]
    assert shopify.store.get("orders", "9100")["email"] == OTHER

"""The Stripe catalogue entry against the Stripe stand-in (dsr/demo/vendors/stripe.py)."""

import pytest

from dsr.demo.vendors.base import Call
from dsr.demo.vendors.stripe import API_KEY
from dsr.sources.base import (
    ACCESS,
    DELETE,
    ERASURE,
    KEEP,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ErasurePlan,
    SourcePermanentError,
    SourceTransientError,
)
from tests.sources.saas.conftest import METTE, saas_connector


@pytest.fixture(autouse=True)
def stripe_key(monkeypatch):
    monkeypatch.setenv("TEST_STRIPE_KEY", API_KEY)


def stripe_connector(fake, **config):
    return saas_connector("stripe", fake.url, secrets={"api_key": "${env:TEST_STRIPE_KEY}"}, **config)


def _by_table(records) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {}
    for record in records:
        tables.setdefault(record.table, []).append(record.row)
    return tables


def test_access_returns_exactly_the_customers_charges_and_cards_stripe_holds_for_the_person(stripe):
    connector = stripe_connector(stripe)
    assert connector.capabilities() == {ACCESS, ERASURE, RECTIFICATION, RESTRICTION}

    records = list(connector.records(METTE, reference="DSR-1"))

    tables = _by_table(records)
    held = {customer["id"]: customer for customer in stripe.store.items("customers")}
    assert tables["customers"] == [held["cus_mette0001"], held["cus_mette0002"]]
    mine = {"cus_mette0001", "cus_mette0002"}
    assert sorted(charge["id"] for charge in tables["charges"]) == sorted(
        charge["id"] for charge in stripe.store.items("charges") if charge["customer"] in mine
    )
    assert len(tables["charges"]) == 121  # two pages of 100 for the first customer, one for the second
    assert sorted(method["id"] for method in tables["payment_methods"]) == ["pm_mette0001000", "pm_mette0001001"]
    customer = next(record for record in records if record.table == "customers")
    assert customer.categories["email"] == "contact"
    assert customer.provided
    assert stripe.refusals == []
    # The search asks by the normalised email, with the key as a bearer token and the pinned API version.
    search = stripe.calls_to("GET", "/v1/customers/search")[0]
    assert search.param("query") == "email:'mette.hansen@example.dk'"
    assert search.headers["authorization"] == f"Bearer {API_KEY}"
    assert search.headers["stripe-version"] == "2024-06-20"
    pages = [call.param("starting_after") for call in stripe.calls_to("GET", "/v1/charges")]
    assert pages == [None, "ch_mette00010020", None]


def test_a_person_stripe_does_not_know_has_no_records_and_nothing_to_erase(stripe):
    connector = stripe_connector(stripe)

    assert list(connector.records({"email": {"nobody@example.dk"}})) == []
    plan = connector.erasure_plan({"email": {"nobody@example.dk"}})
    assert [(table.table, table.count) for table in plan.tables] == [
        ("customers", 0),
        ("payment_methods", 0),
        ("charges", 0),
    ]
    result = connector.erasure_execute(plan)
    assert [fact.changed for fact in result.facts] == [0, 0, 0]
    assert stripe.calls_to("DELETE", "/") == []


def test_erasure_deletes_the_customers_and_keeps_charges_under_the_bookkeeping_hold(stripe):
    connector = stripe_connector(stripe)

    plan = connector.erasure_plan(METTE, reference="DSR-1")
    assert {table.table: (table.action, table.count) for table in plan.tables} == {
        "customers": (DELETE, 2),
        "payment_methods": (DELETE, 2),
        "charges": (KEEP, 121),
    }
    # The stored plan carries Stripe's keys only, never the person's details.
    assert "mette" not in str(ErasurePlan.from_dict(plan.to_dict()).to_dict()).replace("cus_mette", "").replace(
        "ch_mette", ""
    ).replace("pm_mette", "")

    result = connector.erasure_execute(ErasurePlan.from_dict(plan.to_dict()))

    facts = {fact.table: fact for fact in result.facts}
    assert result.complete
    assert (facts["customers"].action, facts["customers"].changed) == (DELETE, 2)
    assert (facts["payment_methods"].action, facts["payment_methods"].changed) == (DELETE, 2)
    charges = facts["charges"]
    assert (charges.action, charges.kept, charges.changed, charges.hold) == (KEEP, 121, 0, "bookkeeping")
    assert [customer["id"] for customer in stripe.store.items("customers")] == ["cus_other0001"]
    assert [method["customer"] for method in stripe.store.items("payment_methods")] == ["cus_other0001"]
    assert len(stripe.store.items("charges")) == 124  # kept, and said so
    assert list(connector.records(METTE)) == []
    assert stripe.refusals == []


def test_erasure_run_again_after_a_worker_stopped_midway_counts_only_what_this_run_deleted(stripe):
    connector = stripe_connector(stripe)
    plan = connector.erasure_plan(METTE)
    stripe.customer_delete(Call("DELETE", "", {}, {}), "cus_mette0001")  # the first run got this far, then stopped

    result = connector.erasure_execute(plan)

    customers = result.facts[0]
    # Stripe's 404 for the first customer: found, and deleted by the earlier run, not this one.
    assert (customers.found, customers.changed) == (2, 1)
    assert [customer["id"] for customer in stripe.store.items("customers")] == ["cus_other0001"]
    again = connector.erasure_execute(plan)
    assert [(fact.found, fact.changed) for fact in again.facts[:2]] == [(2, 0), (2, 0)]


@pytest.mark.parametrize(
    ("stripe", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401: the credentials were refused"),
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("not_found", SourcePermanentError, "HTTP 404"),
        ("rate_limited", SourceTransientError, "HTTP 429 and asked us to wait 1 seconds (after 3 attempts)"),
        ("down", SourceTransientError, "HTTP 503 (after 3 attempts)"),
        ("malformed", SourcePermanentError, "not JSON"),
        ("slow", SourceTransientError, "did not answer within 0.3 seconds"),
    ],
    indirect=["stripe"],
)
def test_failures_end_as_the_right_error_with_a_message_that_names_no_one(stripe, error, words):
    connector = stripe_connector(stripe, timeout_seconds=0.3, retries=2)

    with pytest.raises(error) as raised:
        list(connector.records(METTE))

    message = str(raised.value)
    assert words in message
    assert "Stripe: GET /v1/customers/search" in message
    assert "mette" not in message.lower()


@pytest.mark.parametrize("stripe", ["rate_limited_once", "down_once"], indirect=True)
def test_a_passing_rate_limit_or_outage_is_retried_and_the_answer_is_complete(stripe):
    records = list(stripe_connector(stripe).records(METTE))

    assert len(records) == 2 + 121 + 2


def test_a_retry_after_longer_than_the_wait_allowed_is_left_to_the_job_retry(stripe):
    stripe.mode, stripe.retry_after = "rate_limited", 120
    connector = stripe_connector(stripe, max_wait_seconds=5)

    with pytest.raises(SourceTransientError, match="asked us to wait 120 seconds"):
        list(connector.records(METTE))
    assert len(stripe.calls) == 1  # not hammered while Stripe asks for two minutes


def test_a_wrong_key_is_refused_by_stripe_and_reported_as_permanent(stripe, monkeypatch):
    monkeypatch.setenv("TEST_STRIPE_KEY", "sk_test_wrong")

    with pytest.raises(SourcePermanentError, match="401"):
        stripe_connector(stripe).erasure_plan(METTE)
    assert len(stripe.store.items("customers")) == 3


def test_rectification_sets_only_the_values_that_differ_and_a_second_run_changes_nothing(stripe):
    connector = stripe_connector(stripe)
    assert RECTIFICATION in connector.capabilities()
    corrections = [
        {"field": "name", "correct": "Mette Hansen"},
        {"field": "city", "correct": "Aarhus C"},
        {"field": "first_name", "correct": "Mette"},
    ]

    preview = connector.rectification_preview(METTE, corrections)
    assert [(f.table, f.item, f.found, f.changed) for f in preview] == [
        ("customers", "name", 2, 1),  # cus_mette0002 is "Mette H."
        ("customers", "city", 2, 2),
    ]
    assert stripe.calls_to("POST", "/v1/customers/cus") == []

    result = connector.rectify(METTE, corrections, reference="DSR-1")

    assert [(f.table, f.action, f.item, f.found, f.changed, f.categories) for f in result.facts] == [
        ("customers", UPDATE, "name", 2, 1, ["identity"]),
        ("customers", UPDATE, "city", 2, 2, ["contact"]),
    ]
    assert result.not_applicable == ["first_name"]  # Stripe holds no first name: reported, not guessed
    assert stripe.store.get("customers", "cus_mette0002")["name"] == "Mette Hansen"
    assert {stripe.store.get("customers", c)["address"]["city"] for c in ("cus_mette0001", "cus_mette0002")} == {
        "Aarhus C"
    }
    assert stripe.store.get("customers", "cus_other0001")["name"] == "Other Person"
    updates = stripe.calls_to("POST", "/v1/customers/cus")
    assert sorted((call.form() for call in updates), key=str) == sorted(
        [{"name": "Mette Hansen"}, {"address[city]": "Aarhus C"}, {"address[city]": "Aarhus C"}], key=str
    )
    assert stripe.refusals == []

    again = connector.rectify(METTE, corrections)
    assert [(f.found, f.changed) for f in again.facts] == [(2, 0), (2, 0)]
    assert len(stripe.calls_to("POST", "/v1/customers/cus")) == 3


def test_restriction_marks_each_customer_once_and_lifting_removes_the_mark(stripe):
    connector = stripe_connector(stripe)
    assert RESTRICTION in connector.capabilities()

    result = connector.restrict(METTE, restricted=True, reference="DSR-1")

    assert [(f.table, f.action, f.found, f.changed, f.columns) for f in result.facts] == [
        ("customers", UPDATE, 2, 2, ["metadata.dsr_restricted"])
    ]
    assert result.facts[0].categories == ["contact", "identity", "transaction"]
    for customer in ("cus_mette0001", "cus_mette0002"):
        assert stripe.store.get("customers", customer)["metadata"] == {"dsr_restricted": "true"}
    assert stripe.store.get("customers", "cus_other0001")["metadata"] == {}
    assert sorted(call.form()["metadata[dsr_restricted]"] for call in stripe.calls_to("POST", "/v1/customers/cus")) == [
        "true",
        "true",
    ]
    # Marked already: found, not changed, and Stripe is sent nothing more.
    again = connector.restrict(METTE, restricted=True)
    assert [(f.found, f.changed, f.categories) for f in again.facts] == [(2, 0, [])]
    assert len(stripe.calls_to("POST", "/v1/customers/cus")) == 2

    lifted = connector.restrict(METTE, restricted=False, reference="DSR-1")

    assert [(f.found, f.changed) for f in lifted.facts] == [(2, 2)]
    for customer in ("cus_mette0001", "cus_mette0002"):
        assert stripe.store.get("customers", customer)["metadata"] == {}
    assert stripe.refusals == []


def test_restriction_of_a_person_stripe_does_not_hold_finds_and_changes_nothing(stripe):
    result = stripe_connector(stripe).restrict({"email": {"nobody@example.dk"}}, restricted=True)
    assert [(f.found, f.changed) for f in result.facts] == [(0, 0)]
    assert stripe.calls_to("POST", "/v1/customers/cus") == []


def test_a_map_can_leave_restriction_to_staff(stripe):
    connector = stripe_connector(stripe, operations=["access", "erasure"])
    assert RESTRICTION not in connector.capabilities()


def test_a_customer_deleted_before_the_correction_is_not_counted_as_corrected(stripe):
    connector = stripe_connector(stripe)
    original = connector.client().call

    def deleted_first(request, values, **kwargs):
        # The customer is deleted in Stripe between the read and the update.
        if request["method"] == "POST":
            stripe.store.delete("customers", values["record"]["key"])
        return original(request, values, **kwargs)

    connector.client().call = deleted_first
    result = connector.rectify(METTE, [{"field": "name", "correct": "Mette Hansen"}])

    assert (result.facts[0].found, result.facts[0].changed) == (2, 0)


def test_a_refused_correction_is_a_permanent_error_naming_no_one(stripe):
    connector = stripe_connector(stripe)
    # Stripe refuses the update (a value it cannot take): the error names the path, not the value.
    stripe.customer_update = lambda call, customer_id: stripe.error(400, "Invalid string: Mette Hansen")

    with pytest.raises(SourcePermanentError) as raised:
        connector.rectify(METTE, [{"field": "name", "correct": "Mette Hansen"}])

    assert "Stripe: POST /v1/customers/{record.key} was refused with HTTP 400" in str(raised.value)
    assert "mette" not in str(raised.value).lower()

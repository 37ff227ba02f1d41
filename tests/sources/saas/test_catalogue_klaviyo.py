"""The Klaviyo catalogue entry against the Klaviyo stand-in (dsr/demo/vendors/klaviyo.py)."""

import pytest

from dsr.demo.vendors.base import serve
from dsr.demo.vendors.klaviyo import API_KEY, KlaviyoFake
from dsr.sources.base import ACCESS, DELETE, ERASURE, ErasurePlan, SourcePermanentError, SourceTransientError
from tests.sources.saas.conftest import METTE, OTHER, saas_connector

PROFILES = "/api/profiles"
DELETION = "/api/data-privacy-deletion-jobs"
PHONE = "+4512345678"


@pytest.fixture
def klaviyo(request):
    """Serve Klaviyo's API with Mette's email profile, a profile with only her phone number, and another person."""
    fake = KlaviyoFake(mode=getattr(request, "param", "normal"))
    fake.add_profile(
        "01HMETTE0000000000000000A1", email="Mette.Hansen@example.dk", first_name="Mette", last_name="Hansen"
    )
    fake.add_profile("01HMETTE0000000000000000B2", email="", first_name="", last_name="", phone_number=PHONE)
    fake.add_profile("01HOTHER0000000000000000C3", email=OTHER, first_name="Other", last_name="Person")
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def klaviyo_key(monkeypatch):
    monkeypatch.setenv("TEST_KLAVIYO_KEY", API_KEY)


def klaviyo_connector(fake, **config):
    return saas_connector("klaviyo", fake.url, secrets={"api_key": "${env:TEST_KLAVIYO_KEY}"}, **config)


def test_access_returns_exactly_the_profile_and_its_marketing_consent_klaviyo_holds(klaviyo):
    connector = klaviyo_connector(klaviyo)
    assert connector.capabilities() == {ACCESS, ERASURE}

    records = list(connector.records(METTE, reference="DSR-1"))

    held = klaviyo.store.get("profiles", "01HMETTE0000000000000000A1")["attributes"]
    assert [record.table for record in records] == ["profiles"]
    assert records[0].row == held  # every attribute, the subscriptions included
    assert records[0].row["subscriptions"]["email"]["marketing"]["consent"] == "SUBSCRIBED"
    assert records[0].categories["subscriptions"] == "marketing"
    assert records[0].categories["email"] == "contact"
    assert klaviyo.refusals == []
    search = klaviyo.calls_to("GET", PROFILES)[0]
    assert search.param("filter") == 'equals(email,"mette.hansen@example.dk")'
    assert search.headers["authorization"] == f"Klaviyo-API-Key {API_KEY}"
    assert search.headers["revision"] == "2025-01-15"
    assert search.headers["accept"] == "application/vnd.api+json"


def test_a_profile_found_by_phone_number_is_the_persons_too(klaviyo):
    records = list(klaviyo_connector(klaviyo).records({**METTE, "phone": {"12 34 56 78"}}))

    assert sorted(record.row["phone_number"] or record.row["email"] for record in records) == [
        PHONE,
        "mette.hansen@example.dk",
    ]
    assert 'equals(phone_number,"+4512345678")' in [call.param("filter") for call in klaviyo.calls_to("GET", PROFILES)]


def test_erasure_asks_klaviyo_to_delete_each_profile_by_id_and_a_second_run_changes_nothing(klaviyo):
    connector = klaviyo_connector(klaviyo)
    mette = {**METTE, "phone": {PHONE}}

    plan = connector.erasure_plan(mette, reference="DSR-1")
    assert [(table.table, table.action, table.count) for table in plan.tables] == [("profiles", DELETE, 2)]
    result = connector.erasure_execute(ErasurePlan.from_dict(plan.to_dict()))

    fact = result.facts[0]
    assert result.complete
    assert (fact.action, fact.found, fact.changed) == (DELETE, 2, 2)
    assert set(fact.categories) == {"contact", "identity", "profile", "marketing", "usage"}
    sent = [call.json()["data"] for call in klaviyo.calls_to("POST", DELETION)]
    assert sorted(item["attributes"]["profile"]["data"]["attributes"]["id"] for item in sent) == [
        "01HMETTE0000000000000000A1",
        "01HMETTE0000000000000000B2",
    ]
    assert {item["type"] for item in sent} == {"data-privacy-deletion-job"}
    assert [profile["id"] for profile in klaviyo.store.items("profiles")] == ["01HOTHER0000000000000000C3"]
    assert list(connector.records(mette)) == []

    again = connector.erasure_execute(connector.erasure_plan(mette))
    assert [(fact.found, fact.changed) for fact in again.facts] == [(0, 0)]
    assert len(klaviyo.calls_to("POST", DELETION)) == 2
    assert klaviyo.refusals == []


def test_a_person_klaviyo_does_not_know_has_no_records_and_nothing_is_sent_for_deletion(klaviyo):
    connector = klaviyo_connector(klaviyo)
    nobody = {"email": {"nobody@example.dk"}}

    assert list(connector.records(nobody)) == []
    result = connector.erasure_execute(connector.erasure_plan(nobody))
    assert [(fact.found, fact.changed) for fact in result.facts] == [(0, 0)]
    assert klaviyo.calls_to("POST", DELETION) == []


@pytest.mark.parametrize(
    ("klaviyo", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401: the credentials were refused"),
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("not_found", SourcePermanentError, "HTTP 404"),
        ("rate_limited", SourceTransientError, "HTTP 429 and asked us to wait 1 seconds (after 3 attempts)"),
        ("down", SourceTransientError, "HTTP 503 (after 3 attempts)"),
        ("malformed", SourcePermanentError, "not JSON"),
        ("slow", SourceTransientError, "did not answer within 0.3 seconds"),
    ],
    indirect=["klaviyo"],
)
def test_failures_end_as_the_right_error_with_a_message_that_names_no_one(klaviyo, error, words):
    connector = klaviyo_connector(klaviyo, timeout_seconds=0.3, retries=2)

    with pytest.raises(error) as raised:
        list(connector.records(METTE))

    message = str(raised.value)
    assert words in message
    assert f"Klaviyo: GET {PROFILES}" in message
    assert "mette" not in message.lower()


@pytest.mark.parametrize("klaviyo", ["rate_limited_once", "down_once"], indirect=True)
def test_a_passing_rate_limit_or_outage_is_retried_and_the_answer_is_complete(klaviyo):
    records = list(klaviyo_connector(klaviyo).records(METTE))

    assert [record.row["email"] for record in records] == ["mette.hansen@example.dk"]


def test_a_key_without_the_data_privacy_scope_is_refused_and_the_profile_stays(klaviyo):
    klaviyo.scopes = {"profiles:read"}
    connector = klaviyo_connector(klaviyo)
    plan = connector.erasure_plan(METTE)

    with pytest.raises(SourcePermanentError, match="HTTP 403"):
        connector.erasure_execute(plan)
    assert klaviyo.store.get("profiles", "01HMETTE0000000000000000A1") is not None


def test_klaviyo_refuses_a_request_without_the_revision_header(klaviyo):
    connector = klaviyo_connector(klaviyo)
    connector.spec = {**connector.spec, "headers": {}}

    with pytest.raises(SourcePermanentError, match="refused with HTTP 400"):
        list(connector.records(METTE))
    assert klaviyo.refusals == ["Missing or invalid revision header."]

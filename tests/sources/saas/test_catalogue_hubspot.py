"""The HubSpot catalogue entry against the HubSpot stand-in (dsr/demo/vendors/hubspot.py)."""

import pytest

from dsr.demo.vendors.base import serve
from dsr.demo.vendors.hubspot import READ_SCOPE, TOKEN, HubSpotFake
from dsr.sources.base import ACCESS, DELETE, ERASURE, ErasurePlan, SourcePermanentError, SourceTransientError
from tests.sources.saas.conftest import METTE, OTHER, saas_connector

SEARCH = "/crm/v3/objects/contacts/search"
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"


@pytest.fixture
def hubspot(request):
    """Serve HubSpot's contacts API with Mette's contact and another person's."""
    fake = HubSpotFake(mode=getattr(request, "param", "normal"))
    fake.add_contact(
        "151", email="Mette.Hansen@example.dk", firstname="Mette", lastname="Hansen", phone="+4512345678", city="Aarhus"
    )
    fake.add_contact("152", email=OTHER, firstname="Other", lastname="Person")
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def hubspot_token(monkeypatch):
    monkeypatch.setenv("TEST_HUBSPOT_TOKEN", TOKEN)


def hubspot_connector(fake, **config):
    return saas_connector("hubspot", fake.url, secrets={"token": "${env:TEST_HUBSPOT_TOKEN}"}, **config)


def test_access_returns_exactly_the_contact_properties_hubspot_holds_for_the_person(hubspot):
    connector = hubspot_connector(hubspot)
    assert connector.capabilities() == {ACCESS, ERASURE}

    records = list(connector.records(METTE, reference="DSR-1"))

    held = hubspot.store.get("contacts", "151")["properties"]
    assert [record.table for record in records] == ["contacts"]
    row = records[0].row
    # Every property the entry asks for, as HubSpot holds it (null where the contact has none).
    assert {key: value for key, value in row.items() if value is not None} == {
        key: value for key, value in held.items() if value is not None
    }
    assert row["email"] == "mette.hansen@example.dk"
    assert row["phone"] == "+4512345678"
    assert records[0].categories["email"] == "contact"
    assert records[0].categories["firstname"] == "identity"
    assert records[0].provided
    assert hubspot.refusals == []
    # The search asks by the normalised email, with the private app token as a bearer token.
    search = hubspot.calls_to("POST", SEARCH)[0]
    assert search.json()["filterGroups"] == [
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "mette.hansen@example.dk"}]}
    ]
    assert search.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_search_over_several_pages_sends_hubspots_cursor_in_the_json_body(hubspot):
    # More matches than one page of 100 (the stand-in, unlike an account, lets an email be on many contacts).
    for index in range(150):
        hubspot.add_contact(str(1000 + index), email="mette.hansen@example.dk", firstname="Mette", lastname="Hansen")

    subjects = hubspot_connector(hubspot).subjects(METTE)

    assert len(subjects) == 151
    searches = hubspot.calls_to("POST", SEARCH)
    assert ["after" in call.json() for call in searches] == [False, True]
    assert searches[1].json()["after"] == "100"
    assert searches[1].json()["filterGroups"] == searches[0].json()["filterGroups"]
    assert [sorted(call.query) for call in searches] == [[], []]
    assert hubspot.refusals == []


def test_a_person_hubspot_does_not_know_is_never_sent_to_the_gdpr_delete(hubspot):
    connector = hubspot_connector(hubspot)
    nobody = {"email": {"nobody@example.dk"}}

    assert list(connector.records(nobody)) == []
    plan = connector.erasure_plan(nobody)
    result = connector.erasure_execute(plan)

    assert [(fact.table, fact.found, fact.changed) for fact in result.facts] == [("contacts", 0, 0)]
    # HubSpot blocklists an email it does not know; the entry deletes by id, so nothing is blocklisted.
    assert hubspot.calls_to("POST", GDPR_DELETE) == []
    assert hubspot.blocklist == set()


def test_erasure_deletes_the_contact_with_hubspots_gdpr_delete_and_a_second_run_changes_nothing(hubspot):
    connector = hubspot_connector(hubspot)

    plan = connector.erasure_plan(METTE, reference="DSR-1")
    assert [(table.table, table.action, table.count) for table in plan.tables] == [("contacts", DELETE, 1)]
    assert "mette" not in str(plan.to_dict()).lower()
    result = connector.erasure_execute(ErasurePlan.from_dict(plan.to_dict()))

    fact = result.facts[0]
    assert result.complete
    assert (fact.action, fact.found, fact.changed) == (DELETE, 1, 1)
    assert set(fact.categories) == {"identity", "contact", "profile", "usage"}
    assert [call.json() for call in hubspot.calls_to("POST", GDPR_DELETE)] == [{"objectId": "151"}]
    assert [contact["id"] for contact in hubspot.store.items("contacts")] == ["152"]
    assert list(connector.records(METTE)) == []

    again = connector.erasure_execute(connector.erasure_plan(METTE))
    assert [(fact.found, fact.changed, fact.categories) for fact in again.facts] == [(0, 0, [])]
    assert len(hubspot.calls_to("POST", GDPR_DELETE)) == 1
    assert hubspot.refusals == []


def test_a_plan_run_again_after_hubspot_deleted_the_contact_takes_the_404_as_already_gone(hubspot):
    connector = hubspot_connector(hubspot)
    plan = connector.erasure_plan(METTE)
    hubspot.store.delete("contacts", "151")  # the first run's delete went through, then the worker stopped

    result = connector.erasure_execute(plan)

    # Found, already gone: this run changed nothing (the letter says it was already erased).
    assert (result.facts[0].found, result.facts[0].changed) == (1, 0)
    assert [contact["id"] for contact in hubspot.store.items("contacts")] == ["152"]


@pytest.mark.parametrize(
    ("hubspot", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401: the credentials were refused"),
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("not_found", SourcePermanentError, "HTTP 404"),
        ("rate_limited", SourceTransientError, "HTTP 429 and asked us to wait 1 seconds (after 3 attempts)"),
        ("down", SourceTransientError, "HTTP 503 (after 3 attempts)"),
        ("malformed", SourcePermanentError, "not JSON"),
        ("slow", SourceTransientError, "did not answer within 0.3 seconds"),
    ],
    indirect=["hubspot"],
)
def test_failures_end_as_the_right_error_with_a_message_that_names_no_one(hubspot, error, words):
    connector = hubspot_connector(hubspot, timeout_seconds=0.3, retries=2)

    with pytest.raises(error) as raised:
        list(connector.records(METTE))

    message = str(raised.value)
    assert words in message
    assert f"HubSpot: POST {SEARCH}" in message
    assert "mette" not in message.lower()


@pytest.mark.parametrize("hubspot", ["rate_limited_once", "down_once"], indirect=True)
def test_a_passing_rate_limit_or_outage_is_retried_and_the_answer_is_complete(hubspot):
    records = list(hubspot_connector(hubspot).records(METTE))

    assert [record.row["hs_object_id"] for record in records] == ["151"]


def test_a_token_without_the_write_scope_is_refused_and_the_contact_stays(hubspot):
    hubspot.scopes = {READ_SCOPE}
    connector = hubspot_connector(hubspot)
    plan = connector.erasure_plan(METTE)

    with pytest.raises(SourcePermanentError, match="HTTP 403"):
        connector.erasure_execute(plan)
    assert hubspot.store.get("contacts", "151") is not None


def test_a_wrong_token_is_refused_by_hubspot_and_reported_as_permanent(hubspot, monkeypatch):
    monkeypatch.setenv("TEST_HUBSPOT_TOKEN", "pat-eu1-wrong")

    with pytest.raises(SourcePermanentError, match="401"):
        hubspot_connector(hubspot).erasure_plan(METTE)
    assert len(hubspot.store.items("contacts")) == 2

"""The Zendesk catalogue entry against the Zendesk stand-in: users, requested tickets, permanent deletion."""

import pytest

from dsr.demo.vendors.zendesk import AGENT_EMAIL, API_TOKEN
from dsr.sources.base import DELETE, SourcePermanentError, SourceTransientError
from tests.sources.saas.conftest import METTE, saas_connector


@pytest.fixture(autouse=True)
def zendesk_token(monkeypatch):
    monkeypatch.setenv("TEST_ZENDESK_TOKEN", API_TOKEN)


def zendesk_connector(fake, **config):
    return saas_connector(
        "zendesk",
        fake.url,
        secrets={"api_token": "${env:TEST_ZENDESK_TOKEN}"},
        settings={"subdomain": "madkassen", "agent_email": AGENT_EMAIL},
        **config,
    )


def test_access_returns_the_persons_users_and_every_page_of_their_tickets(zendesk):
    records = list(zendesk_connector(zendesk).records(METTE))

    users = [record.row for record in records if record.table == "users"]
    tickets = [record.row for record in records if record.table == "tickets"]
    assert [row["id"] for row in users] == [101, 102]
    assert sorted(row["id"] for row in tickets) == sorted(
        item["id"] for item in zendesk.store.items("tickets") if item["requester_id"] in (101, 102)
    )
    assert len(tickets) == 131
    pages = [call.param("page") for call in zendesk.calls_to("GET", "/api/v2/users/101/tickets/requested")]
    assert pages == [None, "2"]
    assert zendesk.refusals == []


def test_erasure_deletes_tickets_then_users_permanently_and_leaves_the_others(zendesk):
    connector = zendesk_connector(zendesk)
    plan = connector.erasure_plan(METTE)

    result = connector.erasure_execute(plan)

    assert [(fact.table, fact.action, fact.changed) for fact in result.facts] == [
        ("tickets", DELETE, 131),
        ("users", DELETE, 2),
    ]
    assert [item["requester_id"] for item in zendesk.store.items("tickets")] == [201, 201]
    assert zendesk.store.items("deleted_tickets") == []
    assert [item["id"] for item in zendesk.store.items("users")] == [201]
    assert zendesk.store.items("deleted_users") == []
    # Each ticket was deleted before it was deleted permanently; users after their tickets.
    order = [call.path.split("/")[3] for call in zendesk.calls if call.method == "DELETE"]
    assert order.index("users") > order.index("deleted_tickets")
    assert zendesk.refusals == []


def test_erasure_run_again_after_a_stop_between_the_two_deletions_finishes_the_flow(zendesk):
    connector = zendesk_connector(zendesk)
    plan = connector.erasure_plan(METTE)
    zendesk.user_delete(None, "101")  # the first run soft-deleted a user, then stopped

    result = connector.erasure_execute(plan)

    assert result.facts[1].changed == 2
    assert zendesk.store.items("deleted_users") == []


@pytest.mark.parametrize(
    ("zendesk", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401"),
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("rate_limited", SourceTransientError, "HTTP 429 and asked us to wait 1 seconds"),
        ("down", SourceTransientError, "HTTP 503"),
        ("malformed", SourcePermanentError, "not JSON"),
    ],
    indirect=["zendesk"],
)
def test_failures_end_as_the_right_error(zendesk, error, words):
    with pytest.raises(error, match=words):
        list(zendesk_connector(zendesk).records(METTE))

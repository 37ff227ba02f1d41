"""The Mailchimp catalogue entry against the Mailchimp stand-in: search, members, activity, notes, deletion."""

import base64

import pytest

from dsr.demo.vendors.mailchimp import API_KEY, LIST_ID, subscriber_hash
from dsr.sources.base import DELETE, KEEP, SourcePermanentError, SourceTransientError
from tests.sources.saas.conftest import METTE, OTHER, saas_connector

METTE_HASH = subscriber_hash("mette.hansen@example.dk")


@pytest.fixture(autouse=True)
def mailchimp_key(monkeypatch):
    monkeypatch.setenv("TEST_MAILCHIMP_KEY", API_KEY)


def mailchimp_connector(fake, **config):
    return saas_connector(
        "mailchimp",
        f"{fake.url}/3.0",
        secrets={"api_key": "${env:TEST_MAILCHIMP_KEY}"},
        settings={"dc": "us21"},
        holds={"members": "bookkeeping"},
        **config,
    )


def test_access_returns_every_membership_with_all_its_activity_and_notes(mailchimp):
    records = list(mailchimp_connector(mailchimp).records(METTE, reference="DSR-1"))

    tables: dict[str, list] = {}
    for record in records:
        tables.setdefault(record.table, []).append(record.row)
    assert sorted(row["list_id"] for row in tables["members"]) == [LIST_ID, "f6e5d4c3b2"]
    assert len(tables["activity"]) == 1500 + 3
    assert tables["activity"][:1500] == [
        {key: value for key, value in item.items() if key not in ("email_id", "list_id")}
        for item in mailchimp.activity("mette.hansen@example.dk")
    ]
    assert [row["note"] for row in tables["notes"]] == ["Ønsker kun vegetarmenuer"] * 2
    offsets = [
        call.param("offset")
        for call in mailchimp.calls_to("GET", f"/3.0/lists/{LIST_ID}/members/{METTE_HASH}/activity-feed")
    ]
    assert offsets == ["0", "1000"]
    auth = mailchimp.calls[0].headers["authorization"]
    assert base64.b64decode(auth[6:]).decode() == f"dsr:{API_KEY}"
    assert mailchimp.refusals == []


def test_erasure_deletes_each_membership_permanently_with_its_activity_and_notes(mailchimp):
    connector = mailchimp_connector(mailchimp)
    plan = connector.erasure_plan(METTE)
    assert {table.table: table.count for table in plan.tables} == {"members": 2, "activity": 1503, "notes": 2}

    result = connector.erasure_execute(plan)

    assert [(fact.table, fact.action, fact.changed) for fact in result.facts] == [
        ("members", DELETE, 2),
        ("activity", DELETE, 1503),
        ("notes", DELETE, 2),
    ]
    assert [member["email_address"] for member in mailchimp.store.items("members")] == [OTHER]
    assert len(mailchimp.calls_to("POST", "/3.0/lists/")) == 2
    assert mailchimp.calls_to("DELETE", "/3.0/") == []
    assert list(connector.records(METTE)) == []
    assert mailchimp.refusals == []


def test_a_member_mailchimp_refuses_to_delete_is_archived_and_reported_kept_not_deleted(mailchimp):
    mailchimp.delete_refused.add((LIST_ID, METTE_HASH))
    connector = mailchimp_connector(mailchimp)

    result = connector.erasure_execute(connector.erasure_plan(METTE))

    facts = [(fact.table, fact.action, fact.changed, fact.kept, fact.hold) for fact in result.facts]
    assert facts == [
        ("members", DELETE, 1, 0, ""),
        ("members", KEEP, 0, 1, "bookkeeping"),
        ("activity", DELETE, 3, 0, ""),
        ("activity", KEEP, 0, 1500, "bookkeeping"),
        ("notes", DELETE, 0, 0, ""),
        ("notes", KEEP, 0, 2, "bookkeeping"),
    ]
    archived = mailchimp.store.get("members", f"{LIST_ID}:{METTE_HASH}")
    assert archived["status"] == "archived"


def test_the_map_must_say_why_an_archived_member_is_kept():
    from dsr.datamap.schema import DataMapInvalid

    with pytest.raises(
        DataMapInvalid, match=r"sources.vendor.holds.members: mailchimp.yaml keeps members under a legal hold"
    ):
        saas_connector(
            "mailchimp", "https://us21.api.mailchimp.com/3.0", secrets={"api_key": "${env:K}"}, settings={"dc": "us21"}
        )


@pytest.mark.parametrize(
    ("mailchimp", "error", "words"),
    [
        ("unauthorized", SourcePermanentError, "HTTP 401"),
        ("rate_limited", SourceTransientError, "HTTP 429"),
        ("down", SourceTransientError, "HTTP 503"),
        ("malformed", SourcePermanentError, "not JSON"),
    ],
    indirect=["mailchimp"],
)
def test_failures_end_as_the_right_error(mailchimp, error, words):
    with pytest.raises(error, match=words):
        list(mailchimp_connector(mailchimp).records(METTE))

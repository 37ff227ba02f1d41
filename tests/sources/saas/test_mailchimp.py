"""The Mailchimp catalogue entry against the Mailchimp stand-in: search, members, activity, notes, deletion."""

import base64

import pytest

from dsr.demo.vendors.mailchimp import API_KEY, LIST_ID, subscriber_hash
from dsr.sources.base import CONSENT_WITHDRAWAL, DELETE, KEEP, UPDATE, SourcePermanentError, SourceTransientError
from dsr.sources.saas.connector import SaasConnector
from tests.sources.maps import BASE_MAP, map_build
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


def newsletter_connector(fake, **config):
    """Return a Mailchimp source serving the newsletter purpose, whose consent is "newsletter"."""
    purposes = {
        **BASE_MAP["purposes"],
        "newsletter": {**BASE_MAP["purposes"]["newsletter"], "consent_key": "newsletter"},
    }
    source = {
        "name": "Newsletter (test)",
        "kind": "saas",
        "purposes": ["newsletter"],
        "origin": {"da": "Fra dig", "en": "From you"},
        "system": "mailchimp",
        "url": f"{fake.url}/3.0",
        "secrets": {"api_key": "${env:TEST_MAILCHIMP_KEY}"},
        "settings": {"dc": "us21"},
        "holds": {"members": "bookkeeping"},
        "retries": 1,
        "backoff_seconds": 0.01,
        "rate_limit": {"per_second": 1000},
        **config,
    }
    datamap = map_build({"newsletter_source": source}, purposes=purposes)
    return SaasConnector(datamap.sources["newsletter_source"], datamap)


def test_withdrawing_the_newsletter_consent_unsubscribes_each_membership_once(mailchimp):
    connector = newsletter_connector(mailchimp)
    assert CONSENT_WITHDRAWAL in connector.capabilities()

    result = connector.consent_withdraw(METTE, ["newsletter", "ad_retargeting"], reference="DSR-1")

    assert [(f.table, f.action, f.item, f.found, f.changed, f.categories) for f in result.facts] == [
        ("members", UPDATE, "newsletter", 2, 2, ["marketing"]),
    ]
    members = mailchimp.store.items("members")
    assert sorted(m["status"] for m in members if m["email_address"].lower() == "mette.hansen@example.dk") == [
        "unsubscribed",
        "unsubscribed",
    ]
    assert [m["status"] for m in members if m["email_address"] == OTHER] == ["subscribed"]
    assert [call.json() for call in mailchimp.calls_to("PATCH", "/3.0/lists/")] == [{"status": "unsubscribed"}] * 2
    assert mailchimp.refusals == []

    again = connector.consent_withdraw(METTE, ["newsletter"])
    assert [(f.found, f.changed) for f in again.facts] == [(2, 0)]
    assert len(mailchimp.calls_to("PATCH", "/3.0/lists/")) == 2


def test_a_consent_the_source_does_not_rest_on_is_not_touched_and_no_consent_purpose_means_no_withdrawal(mailchimp):
    connector = newsletter_connector(mailchimp)
    assert connector.consent_withdraw(METTE, ["call_recording"]).facts == []
    assert mailchimp.calls == []
    # A source whose purposes need no consent has no consent to withdraw.
    assert CONSENT_WITHDRAWAL not in mailchimp_connector(mailchimp).capabilities()


def test_a_refused_unsubscribe_is_a_permanent_error_and_a_member_gone_meanwhile_is_not_counted(mailchimp):
    connector = newsletter_connector(mailchimp)
    mailchimp.member_update = lambda call, list_id, member: mailchimp.error(400, "Invalid Resource")
    with pytest.raises(SourcePermanentError, match=r"PATCH /lists/\{subject.list_id\}/members/\{subject.id\}"):
        connector.consent_withdraw(METTE, ["newsletter"])

    del mailchimp.member_update
    original = connector.client().call

    def gone_first(request, values, **kwargs):
        if request["method"] == "PATCH":
            mailchimp.store.delete("members", f"{values['subject']['list_id']}:{values['subject']['id']}")
        return original(request, values, **kwargs)

    connector.client().call = gone_first
    result = connector.consent_withdraw(METTE, ["newsletter"])
    assert (result.facts[0].found, result.facts[0].changed) == (2, 0)

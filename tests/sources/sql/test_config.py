"""Checking a sql source's configuration when the map is loaded, and what it says of its tables' lineage."""

import pytest

from dsr.datamap.schema import DataMapInvalid
from dsr.sources.sql import SqlConnector
from tests.sources.maps import map_build
from tests.sources.sql.loyalty import loyalty_source, loyalty_tables

RECIPIENTS = {
    "mailer": {
        "name": "Mailer ApS",
        "role": "processor",
        "country": "DK",
        "safeguard": {"da": "Inden for EU", "en": "Within the EU"},
        "purposes": ["newsletter"],
    }
}


def _errors(tables: dict, **sections) -> list[str]:
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"loyalty": loyalty_source("sqlite:///x.sqlite3", tables)}, **sections)
    return [str(error) for error in caught.value.errors]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t["card"].update(link={"table": "members", "columns": {"org_id": "org_id"}}),
            'sources.loyalty.tables.card.link.table: unknown table "members"',
        ),
        (
            lambda t: t["card"].update(link=t["card"]["link"], links=[t["card"]["link"]]),
            "sources.loyalty.tables.card: give link (one path) or links (a list of paths), not both",
        ),
        (
            lambda t: t["card"].update(link={"table": "card", "columns": {"org_id": "org_id"}}),
            "sources.loyalty.tables.card.link.table: a table cannot link to itself",
        ),
        (
            lambda t: t["card"].update(shared="sometimes"),
            "sources.loyalty.tables.card.shared: must be skip or unlink",
        ),
        (
            lambda t: t["member"].update(shared="skip"),
            "sources.loyalty.tables.member.shared: a table with identifiers holds the person's own rows",
        ),
        (
            lambda t: t["points"].update(context={"label": 3}),
            "sources.loyalty.tables.points.context: must name the column that labels a row",
        ),
        (
            lambda t: t.update(city={"context": {"label": "name"}, "erasure": {"strategy": "delete"}}),
            "sources.loyalty.tables.city.erasure: unknown key",
        ),
        (
            lambda t: (
                t["card"].update(link={"table": "city", "columns": {"org_id": "id"}})
                or t.update(city={"context": {"label": "name"}})
            ),
            'sources.loyalty.tables.card.link.table: "city" is a context table',
        ),
        (
            lambda t: t["card"].update(erasure={"strategy": "keep", "hold": "bookkeeping", "date_column": "issued"}),
            "sources.loyalty.tables.card.erasure.after_hold: is required with date_column",
        ),
        (
            lambda t: t["card"].update(erasure={"strategy": "keep", "hold": "bookkeeping", "after_hold": "shred"}),
            "sources.loyalty.tables.card.erasure.after_hold: must be delete or anonymise",
        ),
        (
            lambda t: t["card"].update(
                erasure={"strategy": "keep", "hold": "bookkeeping", "date_column": "d", "after_hold": "anonymise"}
            ),
            "sources.loyalty.tables.card.erasure.fields: name the columns to anonymise when the hold has ended",
        ),
        (
            lambda t: t["card"].update(erasure={"strategy": "delete", "after_hold": "delete"}),
            "sources.loyalty.tables.card.erasure.after_hold: only rows that are kept are kept under a hold",
        ),
        (
            lambda t: t["points"].update(erasure={"strategy": "anonymise", "fields": {"points": {"set": [1]}}}),
            "sources.loyalty.tables.points.erasure.fields.points: {set: ...} takes one value",
        ),
        (
            lambda t: t["points"].update(erasure={"strategy": "anonymise", "fields": {"points": {"truncate": "day"}}}),
            "sources.loyalty.tables.points.erasure.fields.points: {truncate: ...} takes year or month",
        ),
        (
            lambda t: t["member"].update(identifiers={"email": []}),
            "sources.loyalty.tables.member.identifiers.email: must be a column name or a list of column names",
        ),
        (
            lambda t: t["member"].update(link={"table": "points", "columns": {"x": "y"}}),
            "sources.loyalty.tables.member: links go round in a circle",
        ),
        (
            lambda t: t["card"].update(erasure={"strategy": "keep", "hold": "tax"}),
            'sources.loyalty.tables.card.erasure.hold: unknown legal hold "tax"',
        ),
        (
            lambda t: t["member"]["categories"].update(email="contacts"),
            'sources.loyalty.tables.member.categories.email: unknown category "contacts"',
        ),
        (
            lambda t: t["points"].update(erasure={"strategy": "anonymise", "fields": {"points": "shred"}}),
            "sources.loyalty.tables.points.erasure.fields.points: must be clear, redact, hash, {set: VALUE}",
        ),
        (
            lambda t: t["consent"].pop("identifiers"),
            "sources.loyalty.tables.consent: give identifiers",
        ),
        (
            lambda t: t["consent"]["consent"].update(given_value=True),
            "sources.loyalty.tables.consent.consent.given_value: unknown key",
        ),
        (
            lambda t: t["member"].update(purposes=["marketing"]),
            'sources.loyalty.tables.member.purposes: unknown purpose "marketing"',
        ),
        (
            lambda t: t["member"].update(recipients="mailer"),
            "sources.loyalty.tables.member.recipients: must be a list of recipient keys",
        ),
        (
            lambda t: t["member"].update(recipients=["printer"]),
            'sources.loyalty.tables.member.recipients: unknown recipient "printer"',
        ),
        (
            lambda t: t["points"].update(withdrawal={"consents": ["x"], "action": "delete", "give": {"at": "{then}"}}),
            'sources.loyalty.tables.points.withdrawal.give.at: unknown placeholder "{then}"; only "{now}" is known',
        ),
        (
            lambda t: t["points"].update(withdrawal={"consents": ["x"], "action": "delete", "give": ["at"]}),
            "sources.loyalty.tables.points.withdrawal.give: must map columns to values",
        ),
        (
            lambda t: t["member"].update(withdrawal={"consents": ["x"], "action": "delete", "give": {"at": "{now}"}}),
            "sources.loyalty.tables.member.withdrawal.give: needs a table with exactly one link",
        ),
        (
            lambda t: t["points"].update(withdrawal={"consents": ["x"], "action": "delete", "give": {"at": [1]}}),
            "sources.loyalty.tables.points.withdrawal.give.at: must be a single value",
        ),
    ],
)
def test_invalid_table_configuration_is_rejected_with_its_path(change, expected):
    tables = loyalty_tables()
    change(tables)
    errors = _errors(tables, recipients=RECIPIENTS)
    assert any(error.startswith(expected) for error in errors), errors


def test_a_correction_field_the_map_does_not_declare_is_refused_with_where_to_declare_it():
    tables = loyalty_tables()
    tables["member"]["rectify"] = {"name": "full_name", "nickname": "full_name"}
    assert _errors(tables) == [
        'sources.loyalty.tables.member.rectify.nickname: unknown correction field "nickname"; '
        "declare it under corrections with its labels and category "
        "(nickname: {name: {da: ..., en: ...}, category: ...})"
    ]


def test_tables_describe_their_own_purposes_and_recipients_or_leave_them_to_the_source():
    tables = loyalty_tables()
    tables["consent"].update(purposes=["newsletter"], recipients=["mailer"])
    tables["member"].update(recipients=[])
    datamap = map_build({"loyalty": loyalty_source("sqlite:///x.sqlite3", tables)}, recipients=RECIPIENTS)

    described = SqlConnector.groups_describe(datamap.sources["loyalty"]["config"])

    lineage = {name: (d["purposes"], d["recipients"], d["categories"]) for name, d in described.items()}
    assert lineage == {
        "member": (None, [], ["contact", "identity"]),
        "card": (None, None, ["profile"]),
        "points": (None, None, ["transaction"]),
        "consent": (["newsletter"], ["mailer"], ["marketing"]),
    }
    assert {name for name, d in described.items() if d["records_consents"]} == {"consent"}
    # The category of each identifier a table finds the person by: an Art. 19 notice names only those a
    # recipient received.
    assert all(set(d["identifiers"].values()) <= set(d["categories"]) for d in described.values())
    assert {name: d["hold"] for name, d in described.items()} == {
        name: (table["erasure"].get("hold") if table["erasure"]["strategy"] == "keep" else None)
        for name, table in tables.items()
    }


@pytest.mark.parametrize("timeout", ["soon", 0, -1, 301, True])
def test_a_connect_timeout_must_be_a_number_of_seconds(timeout):
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"loyalty": loyalty_source("sqlite:///x.sqlite3", connect_timeout=timeout)})

    assert [str(error) for error in caught.value.errors] == [
        "sources.loyalty.connect_timeout: must be a number of seconds above 0 and at most 300"
    ]

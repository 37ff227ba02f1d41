"""The sql connector reads the person's consents and records one they give, in the demo shop."""

import pytest
import yaml

from dsr.datamap.parsing import datamap_parse
from dsr.sources.base import CONSENT_GIVE, CONSENT_READ, UPDATE, SourceUnsupported
from dsr.sources.registry import connector_for
from tests.rights.conftest import PERSON, map_document, shop_build, shop_consents, shop_rows
from tests.sources.sql.loyalty import loyalty_connector

PERSON_IDS = {"email": {PERSON}}


def _connector(shop, change=None):
    document = map_document(shop=shop, chinook=None, processor_url="http://127.0.0.1:9/")
    if change:
        change(document["sources"]["shop"]["tables"]["consent"])
    datamap = datamap_parse(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return connector_for("shop", datamap)


@pytest.fixture
def shop(tmp_path):
    return shop_build(tmp_path / "shop.sqlite3")


def test_the_demo_shop_reports_each_consent_given_or_withdrawn_and_leaves_out_the_unrecorded(shop):
    connector = _connector(shop)
    assert {CONSENT_READ, CONSENT_GIVE} <= connector.capabilities()
    shop_consents(shop, given=("newsletter",), withdrawn=("ad_retargeting",))

    assert connector.consents_read(PERSON_IDS) == {"newsletter": "given", "ad_retargeting": "withdrawn"}
    assert connector.consents_read({"email": {"nobody@example.com"}}) == {}


def test_giving_a_consent_writes_a_dated_row_from_the_preference_centre_and_keeps_the_withdrawn_one(shop):
    connector = _connector(shop)
    shop_consents(shop, withdrawn=("call_recording",))

    result = connector.consent_give(PERSON_IDS, "call_recording", channel="preference_centre")
    again = connector.consent_give(PERSON_IDS, "call_recording", channel="preference_centre")

    assert [(f.table, f.action, f.found, f.changed, f.item) for f in result.facts] == [
        ("consent", UPDATE, 1, 1, "call_recording")
    ]
    assert result.facts[0].categories == ["marketing"]
    # Already given: nothing more is written.
    assert [(f.found, f.changed) for f in again.facts] == [(2, 0)]
    rows = shop_rows(
        shop,
        "SELECT granted, withdrawn_at IS NULL, channel, given_at IS NOT NULL FROM consent "
        "WHERE customer_id = 1 AND purpose = 'call_recording' ORDER BY id",
    )
    assert rows == [(0, 0, "web", 1), (1, 1, "preference_centre", 1)]
    assert connector.consents_read(PERSON_IDS)["call_recording"] == "given"


def test_a_person_the_shop_does_not_know_gets_no_row(shop):
    connector = _connector(shop)
    before = shop_rows(shop, "SELECT count(*) FROM consent")

    result = connector.consent_give({"email": {"nobody@example.com"}}, "newsletter", channel="preference_centre")

    # Neither a consent row nor, for the newsletter, a subscription: nothing found, nothing written.
    assert [(f.table, f.found, f.changed) for f in result.facts] == [
        ("consent", 0, 0),
        ("newsletter_subscription", 0, 0),
    ]
    assert shop_rows(shop, "SELECT count(*) FROM consent") == before
    assert shop_rows(shop, "SELECT count(*) FROM newsletter_subscription WHERE email = 'nobody@example.com'") == [(0,)]


def test_a_consent_table_without_a_given_at_column_cannot_record_a_consent(shop):
    connector = _connector(shop, lambda table: table["consent"].pop("given_at_column"))

    assert CONSENT_READ in connector.capabilities()
    assert CONSENT_GIVE not in connector.capabilities()
    with pytest.raises(SourceUnsupported):
        connector.consent_give(PERSON_IDS, "newsletter", channel="preference_centre")


def test_consents_are_read_alike_on_sqlite_and_postgresql(loyalty_url):
    connector = loyalty_connector(loyalty_url)

    assert connector.consents_read({"email": {"mette@example.dk"}}) == {"newsletter": "given", "sms": "withdrawn"}
    # Its consent rows are found by their own email column: there is no one row a new consent would belong to.
    assert CONSENT_GIVE not in connector.capabilities()

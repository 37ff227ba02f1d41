"""The demo company end to end: seed it, then reach every source through its connector."""

import pytest
from django.core.management import call_command

from dsr.datamap.selectors import controller_current
from dsr.demo.seed import demo_company_seed
from dsr.sources.base import ANONYMISE, DELETE, KEEP, REQUEST
from dsr.sources.registry import connector_for


@pytest.fixture
def seeded(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return demo_company_seed(customers=40)


def test_seed_builds_the_shop_and_loads_the_demo_map(seeded, tmp_path):
    assert seeded["shop_path"] == str(tmp_path / "demo" / "shop.sqlite3")
    assert seeded["sources"] == ["shop", "chats", "payments", "newsletter", "adpartner", "meta", "google"]
    assert controller_current()["name"] == "Madkassen Demo ApS"


def test_the_shop_finds_a_customer_and_plans_erasure_with_bookkeeping_kept(seeded):
    shop = connector_for("shop")
    shop.test_connection()
    email = seeded["sample_email"].upper()
    tables = {record.table for record in shop.records({"email": {email}})}
    assert {"customer", "address", "preference", "payment_reference", "login"} <= tables
    assert "password_hash" not in next(r for r in shop.records({"email": {email}}) if r.table == "customer").row
    plan = {t.table: t for t in shop.erasure_plan({"email": {email}}).tables}
    assert plan["customer"].action == ANONYMISE
    assert plan["address"].action == DELETE
    assert plan["invoice"].action == KEEP
    assert plan["invoice"].hold == "bookkeeping"


def test_the_http_source_plans_a_processor_request(seeded):
    assert connector_for("adpartner").erasure_plan({"email": {seeded["sample_email"]}}).tables[0].action == REQUEST


@pytest.mark.urls("tests.demo.urls")
def test_the_demo_vendors_answer_for_the_sample_customer_and_erase_them(seeded, live_server, settings):
    settings.DSR_BASE_URL = live_server.url
    person = {"email": {seeded["sample_email"]}}
    for key, tables in (
        ("chats", {"interactions"}),
        ("payments", {"customers", "charges", "payment_methods"}),
        ("newsletter", {"members", "activity", "notes"}),
    ):
        connector = connector_for(key)
        assert {record.table for record in connector.records(person, reference="R-1")} == tables, key
        # Genesys fulfils its delete request within the polls of one run (the map's jobs.wait_seconds).
        result = connector.erasure_execute(connector.erasure_plan(person, reference="R-2"))
        assert result.complete, key
    # Stripe's charges stay (bookkeeping), and the person is gone from every system.
    assert {record.table for record in connector_for("payments").records(person)} == set()
    assert list(connector_for("newsletter").records(person)) == []
    assert connector_for("chats").subjects(person) == []


@pytest.mark.urls("tests.demo.urls")
def test_check_sources_reaches_the_demo_processor(seeded, live_server, settings, capsys):
    settings.DSR_BASE_URL = live_server.url
    call_command("dsr_check_sources")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "shop (sql): OK",
        "chats (saas): OK",
        "payments (saas): OK",
        "newsletter (saas): OK",
        "adpartner (http): OK",
        "meta (meta_audience): OK",
        "google (google_ads): OK",
    ]


@pytest.mark.urls("tests.demo.urls")
def test_the_demo_processor_erases_a_consenting_customer_from_its_audience(seeded, live_server, settings):
    import sqlite3
    from contextlib import closing

    settings.DSR_BASE_URL = live_server.url
    with closing(sqlite3.connect(seeded["shop_path"])) as conn:
        email = conn.execute(
            "SELECT c.email FROM customer c JOIN consent k ON k.customer_id = c.id "
            "WHERE k.purpose = 'ad_retargeting' AND k.granted ORDER BY c.id LIMIT 1"
        ).fetchone()[0]
    adpartner = connector_for("adpartner")
    before = list(adpartner.records({"email": {email}}, reference="R-1"))
    assert [r.table for r in before] == ["audience"]

    result = adpartner.erasure_execute(adpartner.erasure_plan({"email": {email}}, reference="R-2"))

    assert result.complete
    assert list(adpartner.records({"email": {email}}, reference="R-3")) == []

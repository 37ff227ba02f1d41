"""Loading the data map: atomic replacement, history, rows in both languages, commands and system checks."""

import datetime as dt

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from dsr.checks_sources import check_sources
from dsr.datamap.loading import datamap_load
from dsr.datamap.rules import rule_date_apply, rule_describe
from dsr.datamap.schema import DataMapInvalid
from dsr.datamap.selectors import (
    controller_current,
    datamap_active,
    datamap_versions,
    legal_holds_active,
    purposes_active,
    recipients_active,
    sources_active,
)
from dsr.models import DataMapVersion, Purpose
from tests.datamap.conftest import DEMO_MAP, PAYMENTS_MAP


def _changed(text: str, change) -> str:
    document = yaml.safe_load(text)
    change(document)
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def test_loading_a_valid_map_makes_it_active(db, demo_text):
    version = datamap_load(text=demo_text, loaded_by="privacy-admin")
    assert version.active is True
    assert version.loaded_by == "privacy-admin"
    assert len(version.sha256) == 64
    assert sorted(purposes_active().values_list("key", flat=True))[:3] == [
        "ad_retargeting",
        "bookkeeping",
        "call_recording",
    ]
    assert list(sources_active().values_list("key", flat=True)) == [
        "adpartner",
        "chats",
        "google",
        "meta",
        "newsletter",
        "payments",
        "shop",
    ]
    assert {r.key for r in recipients_active(purposes=["payment"])} == {"adyen", "braintree"}


def test_laws_and_source_names_are_stored_in_both_languages(db, demo_text):
    datamap_load(text=demo_text, loaded_by="x")
    hold = legal_holds_active().get(key="bookkeeping")
    assert (hold.law_da, hold.law_en) == ("Bogføringsloven § 10", "Danish Bookkeeping Act (Bogføringsloven) § 10")
    shop = sources_active().get(key="shop")
    assert (shop.name_da, shop.name_en) == ("Webshop og kundekonti", "Web shop and customer accounts")
    assert str(shop) == "Web shop and customer accounts (sql)"


def test_a_plain_law_is_stored_as_both_languages(db, demo_text):
    text = _changed(demo_text, lambda d: d["legal_holds"]["bookkeeping"].update(law="Bogføringsloven § 10"))
    datamap_load(text=text, loaded_by="x")
    hold = legal_holds_active().get(key="bookkeeping")
    assert (hold.law_da, hold.law_en) == ("Bogføringsloven § 10", "Bogføringsloven § 10")


def test_record_groups_are_stored_with_the_source(db, described_kind):
    datamap_load(text=yaml.safe_dump(PAYMENTS_MAP, allow_unicode=True), loaded_by="x")
    shop = sources_active().get(key="shop")
    assert shop.groups["card"]["purposes"] == ["card_payment"]
    assert datamap_active().sources["shop"]["groups"] == shop.groups


def test_controller_current_returns_the_plain_controller(db, demo_text):
    assert controller_current() is None
    datamap_load(text=demo_text, loaded_by="x")
    assert controller_current() == {
        "name": "Madkassen Demo ApS",
        "address": "Demovej 1, 2300 København S",
        "cvr": "12345678",
        "email": "privacy@madkassen-demo.example",
        "phone": "12 34 56 78",
        "dpo_email": "dpo@madkassen-demo.example",
        "authority": {
            "name": "Datatilsynet",
            "address": "Carl Jacobsens Vej 35, 2500 Valby",
            "phone": "33 19 32 00",
            "email": "dt@datatilsynet.dk",
            "url": "https://www.datatilsynet.dk",
        },
    }


def test_loading_the_same_file_again_adds_no_version(db, demo_text):
    first = datamap_load(text=demo_text, loaded_by="x")
    again = datamap_load(text=demo_text, loaded_by="y")
    assert again.pk == first.pk
    assert DataMapVersion.objects.count() == 1


def test_a_new_version_replaces_the_old_and_the_history_is_kept(db, demo_text):
    first = datamap_load(text=demo_text, loaded_by="x")
    second_text = _changed(demo_text, lambda d: d["purposes"].pop("comments"))
    second = datamap_load(text=second_text, loaded_by="y")
    first.refresh_from_db()
    assert (first.active, second.active) == (False, True)
    assert [v.pk for v in datamap_versions()] == [second.pk, first.pk]
    assert "comments" not in set(purposes_active().values_list("key", flat=True))
    assert Purpose.objects.filter(version=first, key="comments").exists()


def test_an_invalid_map_changes_nothing(db, demo_text):
    first = datamap_load(text=demo_text, loaded_by="x")
    broken = _changed(demo_text, lambda d: d["sources"]["shop"]["tables"]["invoice"]["link"].update(table="invoices"))
    with pytest.raises(DataMapInvalid):
        datamap_load(text=broken, loaded_by="y")
    assert list(DataMapVersion.objects.values_list("pk", "active")) == [(first.pk, True)]


@pytest.mark.parametrize(
    ("rule", "event", "expected"),
    [
        ({"after": "account_deactivated", "months": 36}, dt.date(2024, 2, 29), dt.date(2027, 2, 28)),
        ({"after": "account_deactivated", "months": 1}, dt.date(2025, 1, 31), dt.date(2025, 2, 28)),
        ({"after": "last_consent_use", "years": 2}, dt.date(2025, 5, 5), dt.date(2027, 5, 5)),
        ({"after": "end_of_financial_year", "years": 5}, dt.date(2025, 3, 1), dt.date(2030, 12, 31)),
        ({"after": "collected", "days": 90}, dt.date(2025, 1, 1), dt.date(2025, 4, 1)),
    ],
)
def test_period_rules_compute_the_end_date(rule, event, expected):
    assert rule_date_apply(rule, event) == expected


def test_a_financial_year_ending_in_june():
    rule = {"after": "end_of_financial_year", "years": 5}
    assert rule_date_apply(rule, dt.date(2025, 8, 1), year_end=(6, 30)) == dt.date(2031, 6, 30)
    assert rule_describe(rule) == "5 years after the end of the financial year the record belongs to"


def test_load_command_loads_a_good_file(db, capsys):
    call_command("dsr_load_datamap", str(DEMO_MAP), "--loaded-by", "ops")
    assert "Loaded" in capsys.readouterr().out
    assert DataMapVersion.objects.get(active=True).loaded_by == "ops"


def test_load_command_says_when_the_file_is_already_active(db, capsys):
    call_command("dsr_load_datamap", str(DEMO_MAP))
    call_command("dsr_load_datamap", str(DEMO_MAP))
    assert "is already the active data map" in capsys.readouterr().out
    assert DataMapVersion.objects.count() == 1


def test_load_command_lists_the_errors_and_loads_nothing(db, tmp_path, demo_text, capsys):
    broken = tmp_path / "map.yaml"
    broken.write_text(_changed(demo_text, lambda d: d["sources"]["shop"].update(kind="oracle")), encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("dsr_load_datamap", str(broken))
    assert "sources.shop.kind: unknown kind 'oracle'" in capsys.readouterr().err
    assert not DataMapVersion.objects.exists()


def test_load_command_check_only_validates(db, capsys):
    call_command("dsr_load_datamap", str(DEMO_MAP), "--check")
    assert "is valid: 7 source(s)" in capsys.readouterr().out
    assert not DataMapVersion.objects.exists()


def test_load_command_reports_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("dsr_load_datamap", str(tmp_path / "absent.yaml"))


def test_check_sources_command_fails_for_a_source_that_is_down(db, settings, tmp_path, demo_text, capsys):
    settings.VAR_DIR = tmp_path  # no shop database there
    datamap_load(text=demo_text, loaded_by="x")
    with pytest.raises(CommandError, match="source\\(s\\) failed"):
        call_command("dsr_check_sources", "shop", "adpartner")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "shop (sql): FAILED (permanent): the SQLite database file does not exist"
    assert lines[1].startswith("adpartner (http): FAILED (transient)")


def test_system_check_tells_when_no_map_is_loaded(db):
    assert [problem.id for problem in check_sources(None)] == ["dsr.I101"]


def test_system_check_rejects_an_unknown_kind_in_the_active_map(db, demo_text):
    version = datamap_load(text=demo_text, loaded_by="x")
    snapshot = version.snapshot
    snapshot["sources"]["shop"]["kind"] = "cobol"
    DataMapVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    assert [problem.id for problem in check_sources(None)] == ["dsr.E101"]


def test_system_check_rejects_a_configuration_that_is_no_longer_valid(db, demo_text):
    version = datamap_load(text=demo_text, loaded_by="x")
    snapshot = version.snapshot
    snapshot["sources"]["shop"]["config"]["tables"]["invoice"]["erasure"]["hold"] = "gone"
    DataMapVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    problems = check_sources(None)
    assert [problem.id for problem in problems] == ["dsr.E102"]
    assert 'sources.shop.tables.invoice.erasure.hold: unknown legal hold "gone"' in problems[0].msg


# --- In a worker's task the active version is read once -------------------------------------


@pytest.fixture
def in_a_task():
    """As config/celery.py does around a worker's task: the active version read once, forgotten after."""
    from types import SimpleNamespace

    from config.celery import _active_map_read_again, _active_map_read_once

    task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    _active_map_read_once(sender=task)
    yield
    _active_map_read_again(sender=task)


def _queries(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries.captured_queries)


def test_in_a_task_the_active_version_is_read_once_and_a_map_loaded_in_it_is_seen(db, demo_text, in_a_task):
    from dsr.datamap.selectors import active_version_key

    first = datamap_load(text=demo_text, loaded_by="test")
    assert active_version_key() == (first.pk, first.sha256)
    assert _queries(active_version_key) == 0
    assert controller_current()["name"]

    second = datamap_load(text=_changed(demo_text, lambda d: d["controller"].update(name="Ny Butik")), loaded_by="t")

    assert active_version_key() == (second.pk, second.sha256)
    assert controller_current()["name"] == "Ny Butik"


def test_outside_a_task_every_call_reads_the_active_version(db, demo_text):
    from dsr.datamap.selectors import active_version_key

    datamap_load(text=demo_text, loaded_by="test")
    active_version_key()

    assert _queries(active_version_key) == 1
    # A version made active by anyone else is seen at the next call.
    DataMapVersion.objects.update(active=False)
    assert active_version_key() is None


def test_a_task_run_inline_does_not_read_it_once(db, demo_text):
    from types import SimpleNamespace

    from config.celery import _active_map_read_again, _active_map_read_once
    from dsr.datamap.selectors import active_version_key

    datamap_load(text=demo_text, loaded_by="test")
    eager = SimpleNamespace(request=SimpleNamespace(is_eager=True))
    _active_map_read_once(sender=eager)
    try:
        active_version_key()
        assert _queries(active_version_key) == 1
    finally:
        _active_map_read_again(sender=eager)

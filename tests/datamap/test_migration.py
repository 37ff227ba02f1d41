"""Migration 0008: a law and a source name loaded as one text are kept as that text in both languages."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("dsr", "0007_rights_and_facts")]
AFTER = [("dsr", "0008_datamap_languages")]


def _migrate(targets: list[tuple[str, str]] | None = None):
    """Migrate the test database to ``targets`` (default: the latest) and return the models as they are there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0007(transactional_db):
    yield _migrate(BEFORE)
    _migrate()


def test_old_texts_are_copied_into_both_languages_in_rows_and_snapshots(at_0007):
    DataMapVersion = at_0007.get_model("dsr", "DataMapVersion")
    snapshot = {
        "legal_holds": {"bookkeeping": {"key": "bookkeeping", "law": "Bogføringsloven § 10"}},
        "sources": {"shop": {"key": "shop", "name": "Webshop"}},
    }
    version = DataMapVersion.objects.create(
        yaml_text="", sha256="0" * 64, snapshot=snapshot, loaded_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), active=True
    )
    at_0007.get_model("dsr", "LegalHold").objects.create(
        version=version,
        key="bookkeeping",
        name_da="Bogføring",
        name_en="Bookkeeping",
        law="Bogføringsloven § 10",
        period_rule={},
    )
    at_0007.get_model("dsr", "Source").objects.create(
        version=version, key="shop", name="Webshop", kind="sql", origin_da="", origin_en=""
    )

    apps = _migrate(AFTER)

    hold = apps.get_model("dsr", "LegalHold").objects.get()
    assert (hold.law_da, hold.law_en) == ("Bogføringsloven § 10", "Bogføringsloven § 10")
    source = apps.get_model("dsr", "Source").objects.get()
    assert (source.name_da, source.name_en, source.groups) == ("Webshop", "Webshop", {})
    snapshot = apps.get_model("dsr", "DataMapVersion").objects.get().snapshot
    assert snapshot["legal_holds"]["bookkeeping"]["law"] == {"da": "Bogføringsloven § 10", "en": "Bogføringsloven § 10"}
    assert snapshot["sources"]["shop"]["name"] == {"da": "Webshop", "en": "Webshop"}

"""The draft of each hard schema loads as it is, passes the live checks, and runs without breaking a key."""

import datetime as dt

import pytest
from django.core.management import call_command

from dsr.datamap.parsing import datamap_parse
from dsr.sources.registry import connector_for, datamap_live_errors
from dsr.sources.sql import engines_dispose
from tests.sources.sql.hard.clinic import clinic_statements
from tests.sources.sql.hard.events import events_statements
from tests.sources.sql.hard.rental import rental_statements
from tests.sources.sql.hard.support import METTE, database_create, dialect_of, select

SCHEMAS = {
    "rental": (rental_statements, "customer.email"),
    "clinic": (clinic_statements, "patient.email"),
    "events": (events_statements, "app_user.email"),
}


@pytest.fixture(params=["sqlite", "postgres"])
def draft(request, tmp_path):
    """Return a function that builds a hard schema, drafts its map and returns (url, the draft's text)."""

    def build(schema: str) -> tuple[str, str]:
        statements, identity = SCHEMAS[schema]
        url = database_create(request, tmp_path, statements)
        out = tmp_path / f"{schema}.yaml"
        call_command("dsr_datamap_draft", url, "--identity", identity, "--out", str(out))
        return url, out.read_text(encoding="utf-8")

    yield build
    engines_dispose()


def _foreign_key_problems(url: str) -> list:
    if dialect_of(url) == "sqlite":
        return select(url, "PRAGMA foreign_key_check")
    return []  # PostgreSQL checks every key as each statement runs


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_draft_loads_unedited_and_passes_the_live_checks(draft, schema):
    _, text = draft(schema)
    datamap = datamap_parse(text)  # raises DataMapInvalid, naming every problem, if it does not load
    errors, unchecked = datamap_live_errors(datamap)
    assert errors == []
    assert unchecked == []
    assert "# DECIDE:" in text
    assert "mette" not in text.lower()  # no sampled value is written


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_draft_runs_access_and_erasure_as_it_is(draft, schema):
    url, text = draft(schema)
    datamap = datamap_parse(text)
    (key,) = datamap.sources
    connector = connector_for(key, datamap)

    found = list(connector.records(METTE))
    assert found, schema
    plan = connector.erasure_plan(METTE)
    result = connector.erasure_execute(plan)

    assert sum(fact.changed for fact in result.facts) > 0
    assert _foreign_key_problems(url) == []
    # What is left of her is only what a running hold keeps, or rows others still use.
    for fact in result.facts:
        if fact.kept:
            assert fact.hold
            assert fact.hold_until is None or dt.date.fromisoformat(fact.hold_until) >= dt.date.today()
    # A second erasure finds nothing more to change.
    again = connector.erasure_execute(connector.erasure_plan(METTE))
    assert sum(fact.changed for fact in again.facts) == 0

"""The data map meets the live database: loading refuses what it would break, and a dry run touches nothing."""

import hashlib
import sqlite3

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from dsr.models import DataMapVersion
from tests.sources.maps import BASE_MAP, CHAT_SOURCE, chinook_source

EMAIL = "luisg@embraer.com.br"  # Chinook customer 1


def _map_file(tmp_path, url: str, change=None):
    source = chinook_source(url, "pascal")
    if change:
        change(source["tables"])
    document = {**BASE_MAP, "sources": {"chinook": source, "chats": CHAT_SOURCE}}
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _digest(path) -> str:
    with sqlite3.connect(path) as conn:
        tables = ("Customer", "Invoice", "InvoiceLine")
        rows = [conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables]  # noqa: S608
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_a_map_the_database_would_refuse_is_not_loaded_and_names_the_constraint(db, chinook_sqlite, tmp_path, capsys):
    # Deleting customers would break the invoices' foreign key: Invoice keeps its rows.
    def customers_deleted(tables: dict) -> None:
        tables["Customer"]["erasure"] = {"strategy": "delete"}

    path = _map_file(tmp_path, f"sqlite:///{chinook_sqlite}", customers_deleted)

    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("dsr_load_datamap", str(path))

    err = capsys.readouterr().err
    assert 'sources.chinook.tables.Customer.erasure.strategy: cannot delete "Customer"' in err
    assert "Invoice(CustomerId) -> Customer(CustomerId)" in err
    assert not DataMapVersion.objects.exists()


def test_check_only_also_reads_the_database(db, chinook_sqlite, tmp_path, capsys):
    path = _map_file(
        tmp_path,
        f"sqlite:///{chinook_sqlite}",
        lambda tables: tables["Customer"]["erasure"]["fields"].update(Email="clear"),
    )
    with pytest.raises(CommandError):
        call_command("dsr_load_datamap", str(path), "--check")
    err = capsys.readouterr().err
    assert "sources.chinook.tables.Customer.erasure.fields.Email" in err
    assert "is NOT NULL, so it cannot be cleared" in err


def test_a_source_that_cannot_be_reached_is_named_and_the_map_still_loads(db, tmp_path, capsys):
    path = _map_file(tmp_path, f"sqlite:///{tmp_path / 'absent.sqlite'}")
    call_command("dsr_load_datamap", str(path))
    assert "chinook was not checked against the source itself: the SQLite database file does not exist" in (
        capsys.readouterr().err
    )
    assert DataMapVersion.objects.filter(active=True).exists()


def test_the_dry_run_prints_access_and_erasure_per_table_and_changes_nothing(db, chinook_sqlite, tmp_path, capsys):
    call_command("dsr_load_datamap", str(_map_file(tmp_path, f"sqlite:///{chinook_sqlite}")))
    capsys.readouterr()
    before = _digest(chinook_sqlite)

    call_command("dsr_check_sources", "--person", EMAIL.upper())

    out = capsys.readouterr().out
    assert _digest(chinook_sqlite) == before
    assert f"Dry run for {EMAIL.upper()}: nothing is changed." in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "access 1 row " in lines["Customer"]
    assert "erasure: anonymise 1 (FirstName: redact" in lines["Customer"]
    assert "Email: hash" in lines["Customer"]
    assert "access 7 rows" in lines["Invoice"]
    assert "erasure: keep 7 under bookkeeping, until 2030-12-31" in lines["Invoice"]
    assert "access 38 rows" in lines["InvoiceLine"]
    assert "keep 38 under bookkeeping, until 2030-12-31" in lines["InvoiceLine"]
    assert "chats (manual)" in out
    assert "not dry-run: a request here asks a processor or makes a task for a person" in out


def test_the_dry_run_says_when_nobody_is_found_and_refuses_what_is_no_email(db, chinook_sqlite, tmp_path, capsys):
    call_command("dsr_load_datamap", str(_map_file(tmp_path, f"sqlite:///{chinook_sqlite}")))
    call_command("dsr_check_sources", "chinook", "--person", "nobody@example.com")
    assert "  nothing found" in capsys.readouterr().out
    with pytest.raises(CommandError, match="takes an email address"):
        call_command("dsr_check_sources", "--person", "Luís")

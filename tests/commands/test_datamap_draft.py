"""`dsr_datamap_draft`: a whole, commented data map drafted from a live database, that loads as it is."""

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from sqlalchemy.engine import make_url

from dsr.datamap.parsing import datamap_parse
from dsr.sources.registry import datamap_live_errors
from tests.sources.conftest import chinook_postgres, chinook_sqlite, postgres_database  # noqa: F401
from tests.sources.sql.test_draft import SAMPLED, shop_schema_create, shop_url  # noqa: F401


def draft_run(url: str, identity: str, tmp_path: Path, **options) -> tuple[str, str]:
    """Run the command with --out; return the file's text and what the command printed."""
    out, printed = tmp_path / "datamap.yaml", io.StringIO()
    call_command("dsr_datamap_draft", url, identity=identity, out=out, stdout=printed, stderr=printed, **options)
    return out.read_text(encoding="utf-8"), printed.getvalue()


def source_tables(text: str) -> tuple[str, dict]:
    document = yaml.safe_load(text)
    [(key, source)] = document["sources"].items()
    return key, source["tables"]


@pytest.fixture(params=["sqlite", "postgres"])
def chinook(request) -> tuple[str, dict]:
    """Return Chinook's URL and its table and column names on that database."""
    if request.param == "sqlite":
        url = f"sqlite:///{request.getfixturevalue('chinook_sqlite')}"
        return url, {"customer": "Customer", "email": "Email", "invoice": "Invoice", "line": "InvoiceLine",
                     "track": "Track", "name": "Name", "date": "InvoiceDate", "employee": "Employee"}  # fmt: skip
    url = request.getfixturevalue("chinook_postgres")
    return url, {"customer": "customer", "email": "email", "invoice": "invoice", "line": "invoice_line",
                 "track": "track", "name": "name", "date": "invoice_date", "employee": "employee"}  # fmt: skip


def _customer_values(url: str, names: dict) -> list[str]:
    """Return the longer text values of Chinook's customers (emails, names, phones, streets), to look for leaks."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f'SELECT * FROM "{names["customer"]}"')).all()  # noqa: S608
    finally:
        engine.dispose()
    return sorted({value for row in rows for value in row if isinstance(value, str) and len(value) >= 6})


def test_chinook_is_drafted_from_the_customer_email(chinook, tmp_path):
    url, n = chinook
    text, printed = draft_run(url, f"{n['customer']}.{n['email']}", tmp_path)
    _, tables = source_tables(text)
    assert list(tables) == [n["customer"], n["invoice"], n["line"], n["track"]]
    customer = tables[n["customer"]]
    assert customer["identifiers"]["email"] == n["email"]
    assert customer["erasure"]["strategy"] == "anonymise"
    assert customer["erasure"]["fields"][n["email"]] == "hash"
    invoice = tables[n["invoice"]]["erasure"]
    assert (invoice["strategy"], invoice["hold"], invoice["date_column"]) == ("keep", "bookkeeping", n["date"])
    assert invoice["after_hold"] == "delete"  # with its lines, which it dates
    assert tables[n["line"]]["erasure"] == {"strategy": "keep", "hold": "bookkeeping"}
    assert tables[n["track"]] == {"context": {"label": n["name"]}}
    # The support representative is an employee, another person: not mapped, and said so.
    assert n["employee"] not in tables
    assert f"Not mapped: {n['employee']}: holds other people" in text
    assert "tables mapped: 3" in printed
    assert "context tables: 1" in printed
    # The controller, purposes, retention, recipients, the hold's period, the source's name and origin, finding
    # people by phone too, and the guess that Company is about the customer.
    assert "decisions to take: 9" in printed


def test_the_chinook_draft_loads_as_it_is_and_keeps_every_live_constraint(chinook, tmp_path):
    url, n = chinook
    text, printed = draft_run(url, f"{n['customer']}.{n['email']}", tmp_path)
    datamap = datamap_parse(text)  # raises DataMapInvalid, listing every error, if it does not load
    assert datamap_live_errors(datamap) == ([], [])
    assert "does not load" not in printed


def test_the_chinook_draft_names_no_customer_value(chinook, tmp_path):
    url, n = chinook
    text, printed = draft_run(url, f"{n['customer']}.{n['email']}", tmp_path)
    leaked = [value for value in _customer_values(url, n) if value in text or value in printed]
    assert leaked == []


def test_every_human_decision_is_marked(shop_url, tmp_path):
    text, printed = draft_run(shop_url, "customer.email", tmp_path)
    decisions = [line for line in text.splitlines() if "# DECIDE:" in line]
    assert f"decisions to take: {len(decisions)}" in printed
    expected = {
        "controller": r"your organisation",
        "purposes": r"legal basis \(GDPR Art\. 6\(1\)",
        "retention": r"retention_rule: .*# DECIDE: how long",
        "hold period": r"period_rule: .*# DECIDE: the period",
        "recipients": r"who receives data",
        "shared address": r"shared: skip  # DECIDE: skip leaves shared rows .* unlink is not possible",
        "guess by values": r"dag: birth_date  # DECIDE: a guess, values look like dates of birth",
        "card by values": r"backup_ref: payment  # DECIDE: a guess, values look like card numbers",
        "kept without date": r"DECIDE: no date column",
        "phone identifier": r"mobil  # DECIDE: finding people by phone",
        "unreached table": r"DECIDE: no foreign key leads from customer",
    }
    missing = [what for what, pattern in expected.items() if not re.search(pattern, text)]
    assert missing == []


def test_the_shop_draft_loads_as_it_is_and_keeps_every_live_constraint(shop_url, tmp_path):
    datamap = datamap_parse(draft_run(shop_url, "customer.email", tmp_path)[0])
    assert datamap_live_errors(datamap) == ([], [])
    [source] = datamap.sources.values()
    assert source["groups"]["customer"]["categories"] == [
        "contact", "identity", "national_id", "birth_date",
    ]  # fmt: skip
    assert source["purposes"] == ["customer_account"]
    assert source["groups"]["orders"]["purposes"] == ["customer_account", "bookkeeping"]


def test_the_shop_draft_writes_no_sampled_value_anywhere(shop_url, tmp_path):
    text, printed = draft_run(shop_url, "customer.email", tmp_path)
    # The source's own URL and the output's folder are given, not sampled: a random database name such as
    # dsr_test_9123f6abe15b must not read as the sampled "123", in any form the draft writes it (the source's
    # name "Dsr test 9123f6abe15b", its password variable DSR_TEST_9123F6ABE15B_DB_PASSWORD).
    given = (make_url(shop_url).database or "", str(tmp_path))
    for value in given:
        written = re.compile(re.escape(value).replace("_", "[_ ]"), re.IGNORECASE)
        text, printed = written.sub("", text), written.sub("", printed)
    assert [value for value in SAMPLED if value in text or value in printed] == []


def test_the_shop_draft_has_the_new_keys_in_place(shop_url, tmp_path):
    _, tables = source_tables(draft_run(shop_url, "customer.email", tmp_path)[0])
    assert tables["customer"]["identifiers"] == {"email": ["email", "alt_email"], "phone": "mobil"}
    assert tables["customer"]["erasure"]["fields"]["active"] == {"set": False}
    assert tables["customer"]["erasure"]["fields"]["foedselsdato"] == {"truncate": "year"}
    assert tables["address"]["links"] == [
        {"table": "customer", "columns": {"id": "home_address_id"}},
        {"table": "orders", "columns": {"id": "shipping_address_id"}},
    ]
    assert tables["address"]["shared"] == "skip"
    assert tables["city"] == {"context": {"label": "name"}}
    assert tables["line_note"]["link"] == {
        "table": "order_line",
        "columns": {"order_id": "order_id", "line_no": "line_no"},
    }
    assert tables["customer"]["exclude"] == ["password_hash"]
    assert "password_hash" not in tables["customer"]["categories"]
    assert tables["invoice"]["erasure"] == {
        "strategy": "keep",
        "hold": "bookkeeping",
        "date_column": "issued_on",
        "after_hold": "delete",
    }
    assert tables["saved_card"]["erasure"] == {"strategy": "delete"}


def test_a_password_in_the_url_becomes_an_environment_placeholder(postgres_database, tmp_path, monkeypatch):
    parsed = make_url(postgres_database[0])
    # The local server trusts its users; a suite run against one with passwords has one in its URL already.
    secret = parsed.password or "Hemmelig-Kode7"
    url = parsed.set(password=secret).render_as_string(hide_password=False)
    shop_schema_create(url)
    text, printed = draft_run(url, "customer.email", tmp_path)
    key, _ = source_tables(text)
    assert secret not in text
    assert secret not in printed
    assert f"postgres:${{env:{key.upper()}_DB_PASSWORD}}@" in yaml.safe_load(text)["sources"][key]["url"]
    assert f"{key.upper()}_DB_PASSWORD" in printed
    # With the variable set, the map as drafted reaches the database and keeps its constraints.
    monkeypatch.setenv(f"{key.upper()}_DB_PASSWORD", secret)
    assert datamap_live_errors(datamap_parse(text)) == ([], [])


def test_without_out_the_map_goes_to_stdout_and_the_summary_to_stderr(shop_url):
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("dsr_datamap_draft", shop_url, identity="customer.email", stdout=stdout, stderr=stderr)
    assert "customer" in source_tables(stdout.getvalue())[1]
    assert "decisions to take" in stderr.getvalue()
    assert "decisions to take" not in stdout.getvalue()


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ("customer", "must be TABLE.COLUMN"),
        ("kunde.email", 'table "kunde" does not exist'),
        ("customer.e_mail", 'table "customer" has no column "e_mail"'),
    ],
)
def test_a_wrong_identity_is_a_clear_error(shop_url, identity, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("dsr_datamap_draft", shop_url, identity=identity, stdout=io.StringIO())


def test_an_identity_table_without_a_primary_key_is_refused(tmp_path):
    path = tmp_path / "guests.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE guest (email VARCHAR(120) NOT NULL, name VARCHAR(60))")
    engine.dispose()
    with pytest.raises(CommandError, match='"guest" has no primary key'):
        call_command("dsr_datamap_draft", f"sqlite:///{path}", identity="guest.email", stdout=io.StringIO())


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read the database at postgresql"):
        call_command(
            "dsr_datamap_draft",
            "postgresql+psycopg://postgres:Hemmelig@127.0.0.1:1/shop",
            identity="customer.email",
            stdout=io.StringIO(),
        )
    with pytest.raises(CommandError, match="does not exist"):
        call_command("dsr_datamap_draft", f"sqlite:///{tmp_path / 'nowhere.sqlite'}", identity="a.b")
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_a_postgresql_schema_is_read_and_named_in_the_map(postgres_database, tmp_path):
    url = postgres_database[0]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA butik")
        conn.exec_driver_sql("CREATE TABLE butik.kunde (id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL)")
        conn.exec_driver_sql(
            "CREATE TABLE butik.ordre (id INTEGER PRIMARY KEY, kunde_id INTEGER NOT NULL REFERENCES butik.kunde (id),"
            " bestilt DATE NOT NULL, beloeb NUMERIC(10, 2) NOT NULL)"
        )
        conn.exec_driver_sql("INSERT INTO butik.kunde VALUES (1, 'lise.holm@example.dk')")
    engine.dispose()
    text, printed = draft_run(url, "kunde.email", tmp_path, schema="butik")
    key, tables = source_tables(text)
    assert yaml.safe_load(text)["sources"][key]["schema"] == "butik"
    assert tables["ordre"]["erasure"]["strategy"] == "keep"
    assert tables["ordre"]["erasure"]["date_column"] == "bestilt"
    assert "lise.holm@example.dk" not in text + printed

"""The sql connector on databases shaped unlike Chinook: composite keys, deletion, restriction, consent, errors."""

import socket
import sqlite3
import tracemalloc

import pytest
import sqlalchemy as sa

from dsr.datamap.schema import DataMapInvalid
from dsr.sources.base import (
    CONSENT_WITHDRAWAL,
    DELETE,
    RESTRICTION,
    SourcePermanentError,
    SourceTransientError,
    SourceUnsupported,
)
from dsr.sources.sql import SqlConnector
from tests.sources.maps import map_build

LOYALTY_SCHEMA = """
CREATE TABLE member (
    org_id INTEGER NOT NULL,
    member_no INTEGER NOT NULL,
    email VARCHAR(120) NOT NULL UNIQUE,
    phone VARCHAR(30),
    full_name VARCHAR(100) NOT NULL,
    restricted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (org_id, member_no)
);
CREATE TABLE card (
    card_no VARCHAR(20) PRIMARY KEY,
    org_id INTEGER NOT NULL,
    member_no INTEGER NOT NULL,
    FOREIGN KEY (org_id, member_no) REFERENCES member (org_id, member_no)
);
CREATE TABLE points (
    card_no VARCHAR(20) NOT NULL REFERENCES card (card_no),
    seq INTEGER NOT NULL,
    points INTEGER NOT NULL,
    PRIMARY KEY (card_no, seq)
);
CREATE TABLE consent (
    id INTEGER PRIMARY KEY,
    email VARCHAR(120) NOT NULL,
    purpose VARCHAR(40) NOT NULL,
    granted BOOLEAN NOT NULL,
    withdrawn_at TIMESTAMP NULL
);
INSERT INTO member VALUES (1, 10, 'Mette@Example.dk', '+45 20 30 40 50', 'Mette Hansen', FALSE);
INSERT INTO member VALUES (2, 10, 'other@example.dk', '11223344', 'Ole Nielsen', FALSE);
INSERT INTO card VALUES ('C-1', 1, 10), ('C-2', 1, 10), ('C-3', 2, 10);
INSERT INTO points VALUES ('C-1', 1, 100), ('C-1', 2, 50), ('C-2', 1, 5), ('C-3', 1, 70);
INSERT INTO consent VALUES (1, 'mette@example.dk', 'newsletter', TRUE, NULL);
INSERT INTO consent VALUES (2, 'other@example.dk', 'newsletter', TRUE, NULL);
"""

LOYALTY_TABLES = {
    "member": {
        "identifiers": {"email": "email", "phone": "phone"},
        "categories": {"email": "contact", "phone": "contact", "full_name": "identity"},
        "erasure": {"strategy": "delete"},
        "restriction": {"column": "restricted"},
        "rectify": {"name": "full_name"},
    },
    "card": {
        "link": {"table": "member", "columns": {"org_id": "org_id", "member_no": "member_no"}},
        "categories": {"card_no": "profile"},
        "erasure": {"strategy": "delete"},
    },
    "points": {
        "link": {"table": "card", "columns": {"card_no": "card_no"}},
        "categories": {"points": "transaction"},
        "erasure": {"strategy": "delete"},
    },
    "consent": {
        "identifiers": {"email": "email"},
        "categories": {"purpose": "marketing"},
        "erasure": {"strategy": "delete"},
        "consent": {"key_column": "purpose", "state_column": "granted", "withdrawn_at_column": "withdrawn_at"},
    },
}


def loyalty_connector(url: str, tables: dict | None = None, **config) -> SqlConnector:
    datamap = map_build(
        {
            "loyalty": {
                "name": "Loyalty club",
                "kind": "sql",
                "purposes": ["account"],
                "origin": {"da": "Fra medlemmet", "en": "From the member"},
                "url": url,
                "tables": tables or LOYALTY_TABLES,
                **config,
            }
        }
    )
    return SqlConnector(datamap.sources["loyalty"], datamap)


def _schema_create(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in LOYALTY_SCHEMA.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def loyalty_url(request, tmp_path) -> str:
    """Return the URL of a fresh loyalty-club database (SQLite file or throwaway PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'loyalty.sqlite'}"
        (tmp_path / "loyalty.sqlite").touch()
    else:
        url = request.getfixturevalue("postgres_database")[0]
    _schema_create(url)
    yield url
    from dsr.sources.sql import engines_dispose

    engines_dispose()


def _scalar(url: str, sql: str):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.exec_driver_sql(sql).scalar()
    engine.dispose()
    return value


def test_access_follows_composite_links_transitively(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    records = list(connector.records({"email": {"mette@example.dk"}}))
    assert sorted((r.table, r.row.get("card_no")) for r in records if r.table != "points") == [
        ("card", "C-1"),
        ("card", "C-2"),
        ("consent", None),
        ("member", None),
    ]
    assert sorted(r.row["points"] for r in records if r.table == "points") == [5, 50, 100]


def test_phone_written_with_spaces_is_found_from_a_plain_number(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    found = connector.discover_identifiers({"phone": {"20304050"}})
    assert found == {"email": {"mette@example.dk"}, "phone": {"+4520304050"}}


def test_erasure_deletes_children_before_parents(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    plan = connector.erasure_plan({"email": {"mette@example.dk"}})
    assert [(t.table, t.action, t.count) for t in plan.tables] == [
        ("member", DELETE, 1),
        ("card", DELETE, 2),
        ("points", DELETE, 3),
        ("consent", DELETE, 1),
    ]
    assert plan.tables[0].keys == [[1, 10]]

    result = connector.erasure_execute(plan)

    assert sum(t.changed for t in result.tables) == 7
    assert _scalar(loyalty_url, "SELECT count(*) FROM points") == 1
    assert _scalar(loyalty_url, "SELECT count(*) FROM member") == 1
    assert connector.erasure_execute(plan).tables[0].changed == 0


def test_failed_erasure_changes_nothing(loyalty_url):
    tables = {name: dict(config) for name, config in LOYALTY_TABLES.items()}
    # The map forgets the points table, whose rows still point at the cards.
    del tables["points"]
    connector = loyalty_connector(loyalty_url, tables)
    plan = connector.erasure_plan({"email": {"mette@example.dk"}})

    with pytest.raises(SourcePermanentError) as caught:
        connector.erasure_execute(plan)

    assert "loyalty" in str(caught.value)
    assert "mette" not in str(caught.value).lower()
    assert _scalar(loyalty_url, "SELECT count(*) FROM member") == 2
    assert _scalar(loyalty_url, "SELECT count(*) FROM consent") == 2


def test_restriction_is_set_and_lifted(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    assert RESTRICTION in connector.capabilities()
    result = connector.restrict({"email": {"mette@example.dk"}}, restricted=True)
    assert result.rows == 1
    assert _scalar(loyalty_url, "SELECT count(*) FROM member WHERE restricted") == 1
    connector.restrict({"email": {"mette@example.dk"}}, restricted=False)
    assert _scalar(loyalty_url, "SELECT count(*) FROM member WHERE restricted") == 0


def test_consent_withdrawal_marks_only_the_named_consents_once(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    assert CONSENT_WITHDRAWAL in connector.capabilities()
    first = connector.consent_withdraw({"email": {"mette@example.dk"}}, ["newsletter"])
    second = connector.consent_withdraw({"email": {"mette@example.dk"}}, ["newsletter"])
    assert (first.rows, second.rows) == (1, 0)
    assert _scalar(loyalty_url, "SELECT count(*) FROM consent WHERE granted") == 1
    assert _scalar(loyalty_url, "SELECT count(*) FROM consent WHERE withdrawn_at IS NOT NULL") == 1


def test_reads_run_in_a_read_only_transaction(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    with pytest.raises(SourcePermanentError, match="read"), connector._connect("probe", read_only=True) as conn:
        conn.exec_driver_sql("DELETE FROM points")
    assert _scalar(loyalty_url, "SELECT count(*) FROM points") == 4
    # The connection goes back to the pool writable: erasure still works.
    plan = connector.erasure_plan({"email": {"mette@example.dk"}})
    assert sum(t.changed for t in connector.erasure_execute(plan).tables) == 7


def test_rectification_of_a_name(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    result = connector.rectify({"email": {"mette@example.dk"}}, [{"field": "name", "correct": "Mette Juhl"}])
    assert result.rows == 1
    assert _scalar(loyalty_url, "SELECT full_name FROM member WHERE org_id = 1") == "Mette Juhl"


def test_a_missing_table_is_a_permanent_error_naming_the_source(loyalty_url):
    tables = {**LOYALTY_TABLES, "orders": {"identifiers": {"email": "email"}, "erasure": {"strategy": "delete"}}}
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match=r"loyalty.*orders"):
        connector.test_connection()
    with pytest.raises(SourcePermanentError):
        list(connector.records({"email": {"mette@example.dk"}}))


def test_a_missing_column_is_a_permanent_error(loyalty_url):
    tables = {**LOYALTY_TABLES, "member": {**LOYALTY_TABLES["member"], "identifiers": {"email": "e_mail"}}}
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match='no column "e_mail"'):
        connector.test_connection()


def test_clearing_a_not_null_column_is_caught_by_the_connection_test(loyalty_url):
    member = {**LOYALTY_TABLES["member"], "erasure": {"strategy": "anonymise", "fields": {"full_name": "clear"}}}
    tables = {
        **LOYALTY_TABLES,
        "member": member,
        "card": {**LOYALTY_TABLES["card"], "erasure": {"strategy": "keep", "hold": "bookkeeping"}},
    }
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match="NOT NULL"):
        connector.test_connection()


def test_an_unsupported_operation_says_so():
    connector = loyalty_connector(
        "sqlite:///unused.sqlite3",
        {"member": {"identifiers": {"email": "email"}, "erasure": {"strategy": "delete"}}},
    )
    with pytest.raises(SourceUnsupported):
        connector.restrict({"email": {"a@example.com"}}, restricted=True)


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path):
    path = tmp_path / "absent.sqlite3"
    connector = loyalty_connector(f"sqlite:///{path}")
    with pytest.raises(SourcePermanentError, match="does not exist"):
        connector.test_connection()
    assert not path.exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_database_that_is_down_is_a_transient_error():
    connector = loyalty_connector(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/nothing")
    with pytest.raises(SourceTransientError, match="loyalty"):
        connector.test_connection()


def test_bad_credentials_are_a_permanent_error(postgres_database):
    url = postgres_database[0].replace("postgres@", "no_such_role@", 1)
    connector = loyalty_connector(url)
    with pytest.raises(SourcePermanentError, match="loyalty"):
        connector.test_connection()


def test_a_secret_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("LOYALTY_DB", raising=False)
    connector = loyalty_connector("${env:LOYALTY_DB}")
    with pytest.raises(SourcePermanentError, match="LOYALTY_DB is not set"):
        connector.test_connection()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda t: t["card"].update(link={"table": "members", "columns": {"org_id": "org_id"}}),
            'sources.loyalty.tables.card.link: unknown table "members"',
        ),
        (
            lambda t: t["card"].update(erasure={"strategy": "keep", "hold": "bookkeeping"}),
            "sources.loyalty.tables.member.erasure.strategy: cannot delete rows",
        ),
        (
            lambda t: t["member"].update(link={"table": "points", "columns": {"x": "y"}}),
            "sources.loyalty.tables.member.link: links go round in a circle",
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
            "sources.loyalty.tables.points.erasure.fields.points: method must be clear, redact or hash",
        ),
        (
            lambda t: t["consent"].pop("identifiers"),
            "sources.loyalty.tables.consent: give identifiers",
        ),
    ],
)
def test_invalid_table_configuration_is_rejected_with_its_path(change, expected):
    tables = {
        name: {**config, "categories": dict(config.get("categories", {}))} for name, config in LOYALTY_TABLES.items()
    }
    change(tables)
    with pytest.raises(DataMapInvalid) as caught:
        loyalty_connector("sqlite:///x.sqlite3", tables)
    assert any(str(error).startswith(expected) for error in caught.value.errors), caught.value.errors


def _peak_reading(connector: SqlConnector) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in connector.records({"email": {"a@example.dk"}}))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_records_are_streamed_not_loaded_whole(tmp_path):
    path = tmp_path / "events.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT)")
        conn.execute(
            "CREATE TABLE event (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES person (id), payload TEXT)"
        )
        conn.execute("INSERT INTO person VALUES (1, 'a@example.dk')")
        conn.executemany("INSERT INTO event (person_id, payload) VALUES (1, ?)", [("x" * 200,)] * 20000)
    tables = {
        "person": {"identifiers": {"email": "email"}, "erasure": {"strategy": "delete"}},
        "event": {"link": {"table": "person", "columns": {"person_id": "id"}}, "erasure": {"strategy": "delete"}},
    }
    streamed = loyalty_connector(f"sqlite:///{path}", tables, batch_size=200)
    whole = loyalty_connector(f"sqlite:///{path}", tables, batch_size=100000)

    count, streamed_peak = _peak_reading(streamed)
    _, whole_peak = _peak_reading(whole)

    assert count == 20001
    assert streamed_peak < 2_000_000 < whole_peak

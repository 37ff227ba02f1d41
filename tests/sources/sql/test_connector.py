"""The sql connector on the loyalty-club database: the facts of every operation, counted against the database."""

import socket
import sqlite3
import time
import tracemalloc

import pytest
import sqlalchemy as sa

from dsr.sources.base import (
    ANONYMISE,
    CONSENT_WITHDRAWAL,
    DELETE,
    KEEP,
    RECTIFICATION,
    RESTRICTION,
    UPDATE,
    ErasurePlan,
    Fact,
    SourcePermanentError,
    SourceTransientError,
    SourceUnsupported,
)
from dsr.sources.sql import SqlConnector
from tests.sources.sql.loyalty import LOYALTY_TABLES, METTE, loyalty_connector, loyalty_tables, scalar

METTES_MEMBER = "org_id = 1 AND member_no = 10"
METTES_CARDS = "card_no IN ('C-1', 'C-2')"


def _mettes_rows(url: str) -> dict[str, int]:
    """Return how many rows of each table are Mette's, counted with SQL of the test's own."""
    return {
        "member": scalar(url, f"SELECT count(*) FROM member WHERE {METTES_MEMBER}"),  # noqa: S608
        "card": scalar(url, f"SELECT count(*) FROM card WHERE {METTES_MEMBER}"),  # noqa: S608
        "points": scalar(url, f"SELECT count(*) FROM points WHERE {METTES_CARDS}"),  # noqa: S608
        "consent": scalar(url, "SELECT count(*) FROM consent WHERE email = 'mette@example.dk'"),
    }


# --- access and discovery --------------------------------------------------------------


def test_access_follows_composite_links_transitively(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    records = list(connector.records(METTE))
    assert sorted((r.table, r.row.get("card_no")) for r in records if r.table != "points") == [
        ("card", "C-1"),
        ("card", "C-2"),
        ("consent", None),
        ("consent", None),
        ("member", None),
    ]
    assert sorted(r.row["points"] for r in records if r.table == "points") == [5, 50, 100]


def test_phone_written_with_spaces_is_found_from_a_plain_number(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    found = connector.discover_identifiers({"phone": {"20304050"}})
    assert found == {"email": {"mette@example.dk"}, "phone": {"+4520304050"}}


def test_a_consent_record_shows_its_key_only_while_the_consent_is_given(loyalty_url):
    connector = loyalty_connector(loyalty_url)

    def given() -> list:
        return sorted(
            str(connector.consent_given(r)) for r in connector.records(METTE) if r.table in ("consent", "member")
        )

    # The member row is no consent; the sms consent was withdrawn in 2024.
    assert given() == ["None", "None", "newsletter"]
    connector.consent_withdraw(METTE, ["newsletter"])
    assert given() == ["None", "None", "None"]


# --- erasure ---------------------------------------------------------------------------


def test_erasure_deletes_children_before_parents_and_reports_each_tables_rows(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    before = _mettes_rows(loyalty_url)
    plan = ErasurePlan.from_dict(connector.erasure_plan(METTE).to_dict())
    assert [(t.table, t.action, t.count) for t in plan.tables] == [
        ("member", DELETE, before["member"]),
        ("card", DELETE, before["card"]),
        ("points", DELETE, before["points"]),
        ("consent", DELETE, before["consent"]),
    ]
    assert plan.tables[0].keys == [[1, 10]]

    first = connector.erasure_execute(plan)

    after = _mettes_rows(loyalty_url)
    assert after == {"member": 0, "card": 0, "points": 0, "consent": 0}
    assert first.facts == [
        Fact(
            table="member",
            action=DELETE,
            found=before["member"],
            changed=before["member"],
            categories=["contact", "identity"],
        ),
        Fact(table="card", action=DELETE, found=before["card"], changed=before["card"], categories=["profile"]),
        Fact(
            table="points", action=DELETE, found=before["points"], changed=before["points"], categories=["transaction"]
        ),
        Fact(
            table="consent",
            action=DELETE,
            found=before["consent"],
            changed=before["consent"],
            categories=["marketing"],
        ),
    ]
    # Other people's rows stay.
    assert scalar(loyalty_url, "SELECT count(*) FROM points") == 1
    assert scalar(loyalty_url, "SELECT count(*) FROM member") == 1


def test_a_second_erasure_run_finds_the_rows_gone_and_says_nothing_changed(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    plan = connector.erasure_plan(METTE)
    connector.erasure_execute(plan)

    second = connector.erasure_execute(plan)

    assert [(f.table, f.found, f.changed, f.categories) for f in second.facts] == [
        ("member", 1, 0, []),
        ("card", 2, 0, []),
        ("points", 3, 0, []),
        ("consent", 2, 0, []),
    ]


def test_anonymised_and_kept_rows_are_reported_with_columns_categories_and_hold(loyalty_url):
    tables = loyalty_tables()
    # The phone column has no category: anonymising it adds none to what the letter says changed.
    del tables["member"]["categories"]["phone"]
    tables["member"]["erasure"] = {"strategy": "anonymise", "fields": {"full_name": "redact", "phone": "clear"}}
    tables["card"]["erasure"] = {"strategy": "keep", "hold": "bookkeeping"}
    tables["points"]["erasure"] = {"strategy": "keep", "hold": "bookkeeping"}
    connector = loyalty_connector(loyalty_url, tables)
    plan = connector.erasure_plan(METTE)
    assert [(t.table, t.action, t.categories) for t in plan.tables] == [
        ("member", ANONYMISE, ["identity"]),
        ("card", KEEP, []),
        ("points", KEEP, []),
        ("consent", DELETE, ["marketing"]),
    ]

    first = connector.erasure_execute(plan)
    second = connector.erasure_execute(plan)

    assert scalar(loyalty_url, f"SELECT full_name FROM member WHERE {METTES_MEMBER}") == "[erased]"  # noqa: S608
    assert scalar(loyalty_url, f"SELECT phone FROM member WHERE {METTES_MEMBER}") is None  # noqa: S608
    cards = scalar(loyalty_url, f"SELECT count(*) FROM card WHERE {METTES_MEMBER}")  # noqa: S608
    points = scalar(loyalty_url, f"SELECT count(*) FROM points WHERE {METTES_CARDS}")  # noqa: S608
    assert (cards, points) == (2, 3)
    assert first.facts[:3] == [
        Fact(
            table="member",
            action=ANONYMISE,
            found=1,
            changed=1,
            columns=["full_name", "phone"],
            categories=["identity"],
        ),
        Fact(table="card", action=KEEP, found=cards, changed=0, kept=cards, hold="bookkeeping"),
        Fact(table="points", action=KEEP, found=points, changed=0, kept=points, hold="bookkeeping"),
    ]
    assert second.facts[0] == Fact(
        table="member", action=ANONYMISE, found=1, changed=0, columns=["full_name", "phone"], categories=[]
    )
    assert [(f.kept, f.changed) for f in second.facts[1:3]] == [(cards, 0), (points, 0)]


def test_a_map_that_forgets_a_referencing_table_is_refused_before_any_plan(loyalty_url):
    tables = loyalty_tables()
    # The map forgets the points table, whose rows still point at the cards it deletes.
    del tables["points"]
    connector = loyalty_connector(loyalty_url, tables)

    with pytest.raises(SourcePermanentError, match=r"cannot delete \"card\": \"points\" is not in the map") as caught:
        connector.erasure_plan(METTE)

    assert "points(card_no) -> card(card_no)" in str(caught.value)
    assert "mette" not in str(caught.value).lower()


def test_failed_erasure_changes_nothing(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    plan = connector.erasure_plan(METTE)
    # After planning, the database starts refusing to delete members (an archive rule, say).
    engine = sa.create_engine(loyalty_url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER archive BEFORE DELETE ON member BEGIN SELECT RAISE(ABORT, 'members are archived'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION archive() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'members are archived'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER archive BEFORE DELETE ON member FOR EACH ROW EXECUTE FUNCTION archive()"
            )
    engine.dispose()

    with pytest.raises(SourcePermanentError) as caught:
        connector.erasure_execute(plan)

    assert "loyalty" in str(caught.value)
    assert "mette" not in str(caught.value).lower()
    assert scalar(loyalty_url, "SELECT count(*) FROM member") == 2
    assert scalar(loyalty_url, "SELECT count(*) FROM card") == 3
    assert scalar(loyalty_url, "SELECT count(*) FROM points") == 4
    assert scalar(loyalty_url, "SELECT count(*) FROM consent") == 3


def test_a_plan_of_another_source_is_refused(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    plan = connector.erasure_plan(METTE)
    plan.source = "shop"
    with pytest.raises(SourcePermanentError, match="another source"):
        connector.erasure_execute(plan)


# --- rectification ---------------------------------------------------------------------


def test_rectification_preview_reports_what_would_change_and_changes_nothing(loyalty_url):
    connector = loyalty_connector(loyalty_url)

    facts = connector.rectification_preview(METTE, [{"field": "name", "correct": "Mette Juhl"}])

    assert facts == [
        Fact(
            table="member",
            action=UPDATE,
            found=1,
            changed=1,
            item="name",
            columns=["full_name"],
            categories=["identity"],
        )
    ]
    assert scalar(loyalty_url, f"SELECT full_name FROM member WHERE {METTES_MEMBER}") == "Mette Hansen"  # noqa: S608


def test_rectification_updates_the_rows_that_differ_and_a_second_run_changes_nothing(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    corrections = [{"field": "name", "correct": "Mette Juhl"}, {"field": "shoe_size", "correct": "38"}]
    assert RECTIFICATION in connector.capabilities()

    first = connector.rectify(METTE, corrections)
    second = connector.rectify(METTE, corrections)

    assert scalar(loyalty_url, f"SELECT full_name FROM member WHERE {METTES_MEMBER}") == "Mette Juhl"  # noqa: S608
    assert scalar(loyalty_url, "SELECT full_name FROM member WHERE org_id = 2") == "Ole Nielsen"
    assert first.facts == [
        Fact(
            table="member",
            action=UPDATE,
            found=1,
            changed=1,
            item="name",
            columns=["full_name"],
            categories=["identity"],
        )
    ]
    assert first.not_applicable == ["shoe_size"]
    assert second.facts == [
        Fact(table="member", action=UPDATE, found=1, changed=0, item="name", columns=["full_name"], categories=[])
    ]
    assert second.changed == 0


def test_a_correction_to_the_value_already_held_is_found_but_changes_nothing(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    correct = [{"field": "name", "correct": "Mette Hansen"}]

    preview = connector.rectification_preview(METTE, correct)
    result = connector.rectify(METTE, correct)

    assert [(f.found, f.changed, f.categories) for f in preview] == [(1, 0, [])]
    assert [(f.found, f.changed, f.categories) for f in result.facts] == [(1, 0, [])]


def test_a_correction_for_someone_the_source_does_not_know_finds_nothing(loyalty_url):
    result = loyalty_connector(loyalty_url).rectify(
        {"email": {"nobody@example.dk"}}, [{"field": "name", "correct": "X"}]
    )
    assert [(f.table, f.found, f.changed) for f in result.facts] == [("member", 0, 0)]


def test_a_correction_that_does_not_fit_the_column_is_refused_without_its_value(loyalty_url):
    tables = loyalty_tables()
    tables["member"]["rectify"] = {"name": "member_no"}
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match=r'does not fit column "member.member_no" \(int\)') as caught:
        connector.rectify(METTE, [{"field": "name", "correct": "Mette Juhl"}])
    assert "Juhl" not in str(caught.value)


# --- restriction -----------------------------------------------------------------------


def test_restriction_reports_the_rows_whose_flag_changed(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    assert RESTRICTION in connector.capabilities()
    restricted = f"SELECT count(*) FROM member WHERE restricted AND {METTES_MEMBER}"  # noqa: S608

    first = connector.restrict(METTE, restricted=True)
    assert scalar(loyalty_url, restricted) == 1
    second = connector.restrict(METTE, restricted=True)
    lifted = connector.restrict(METTE, restricted=False)

    assert scalar(loyalty_url, "SELECT count(*) FROM member WHERE restricted") == 0
    assert first.facts == [
        Fact(
            table="member",
            action=UPDATE,
            found=1,
            changed=1,
            columns=["restricted"],
            categories=["contact", "identity"],
        )
    ]
    assert second.facts == [Fact(table="member", action=UPDATE, found=1, changed=0, columns=["restricted"])]
    assert [(f.found, f.changed) for f in lifted.facts] == [(1, 1)]


# --- consent ---------------------------------------------------------------------------


def test_consent_withdrawal_reports_per_consent_what_was_found_and_switched(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    assert CONSENT_WITHDRAWAL in connector.capabilities()
    columns = ["granted", "withdrawn_at"]

    first = connector.consent_withdraw(METTE, ["newsletter", "sms", "postal"])
    second = connector.consent_withdraw(METTE, ["newsletter"])

    assert first.facts == [
        Fact(
            table="consent",
            action=UPDATE,
            found=1,
            changed=1,
            item="newsletter",
            columns=columns,
            categories=["marketing"],
        ),
        # Withdrawn before: found, not changed.
        Fact(table="consent", action=UPDATE, found=1, changed=0, item="sms", columns=columns),
        # Never given here.
        Fact(table="consent", action=UPDATE, found=0, changed=0, item="postal", columns=columns),
    ]
    assert second.facts == [
        Fact(table="consent", action=UPDATE, found=1, changed=0, item="newsletter", columns=columns)
    ]
    assert scalar(loyalty_url, "SELECT count(*) FROM consent WHERE granted") == 1
    assert scalar(loyalty_url, "SELECT count(*) FROM consent WHERE withdrawn_at IS NOT NULL") == 2
    assert scalar(loyalty_url, "SELECT count(*) FROM consent WHERE granted AND email = 'other@example.dk'") == 1


# --- transactions, errors and unsupported operations -----------------------------------


def test_reads_run_in_a_read_only_transaction(loyalty_url):
    connector = loyalty_connector(loyalty_url)
    with pytest.raises(SourcePermanentError, match="read"), connector._connect("probe", read_only=True) as conn:
        conn.exec_driver_sql("DELETE FROM points")
    assert scalar(loyalty_url, "SELECT count(*) FROM points") == 4
    # The connection goes back to the pool writable: erasure still works.
    result = connector.erasure_execute(connector.erasure_plan(METTE))
    assert sum(f.changed for f in result.facts) == 8


def test_a_missing_table_is_a_permanent_error_naming_the_source(loyalty_url):
    tables = {**LOYALTY_TABLES, "orders": {"identifiers": {"email": "email"}, "erasure": {"strategy": "delete"}}}
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match=r"loyalty.*orders"):
        connector.test_connection()
    with pytest.raises(SourcePermanentError):
        list(connector.records(METTE))


def test_a_missing_column_is_a_permanent_error(loyalty_url):
    tables = {**LOYALTY_TABLES, "member": {**LOYALTY_TABLES["member"], "identifiers": {"email": "e_mail"}}}
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match='no column "e_mail"'):
        connector.test_connection()


def test_a_missing_consent_column_is_caught_by_the_connection_test(loyalty_url):
    tables = loyalty_tables()
    tables["consent"]["consent"]["state_column"] = "given"
    with pytest.raises(SourcePermanentError, match='no column "given"'):
        loyalty_connector(loyalty_url, tables).test_connection()


def test_clearing_a_not_null_column_is_caught_by_the_connection_test(loyalty_url):
    tables = loyalty_tables()
    tables["member"]["erasure"] = {"strategy": "anonymise", "fields": {"full_name": "clear"}}
    tables["card"]["erasure"] = {"strategy": "keep", "hold": "bookkeeping"}
    connector = loyalty_connector(loyalty_url, tables)
    with pytest.raises(SourcePermanentError, match="NOT NULL"):
        connector.test_connection()


def test_operations_the_configuration_does_not_map_are_unsupported():
    connector = loyalty_connector(
        "sqlite:///unused.sqlite3",
        {"member": {"identifiers": {"email": "email"}, "erasure": {"strategy": "delete"}}},
    )
    assert not connector.supports(RESTRICTION)
    assert connector.supports("erasure")
    with pytest.raises(SourceUnsupported):
        connector.restrict(METTE, restricted=True)
    with pytest.raises(SourceUnsupported):
        connector.rectification_preview(METTE, [{"field": "name", "correct": "x"}])
    with pytest.raises(SourceUnsupported):
        connector.consent_withdraw(METTE, ["newsletter"])
    with pytest.raises(SourceUnsupported):
        connector.audience_remove(METTE)


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


def test_a_server_that_never_answers_is_given_up_after_the_maps_connect_timeout():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel accepts the connection; nobody ever answers it
        url = f"postgresql+psycopg://postgres@127.0.0.1:{server.getsockname()[1]}/nothing"
        connector = loyalty_connector(url, connect_timeout=1)
        started = time.monotonic()

        with pytest.raises(SourceTransientError, match="loyalty"):
            connector.test_connection()

        assert time.monotonic() - started < 5  # the map's second, not the default 10 nor the system's minutes


def test_bad_credentials_are_a_permanent_error(postgres_database):
    url = postgres_database[0].replace("postgres@", "no_such_role@", 1)
    connector = loyalty_connector(url)
    with pytest.raises(SourcePermanentError, match="loyalty"):
        connector.test_connection()


def test_a_secret_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("LOYALTY_DB", raising=False)
    connector = loyalty_connector("${env:LOYALTY_DB}")
    with pytest.raises(SourcePermanentError, match="LOYALTY_DB is not set"):
        connector.test_connection()


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

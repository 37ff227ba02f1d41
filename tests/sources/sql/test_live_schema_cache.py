"""The live schema is read again exactly when the database's schema has changed since the last read."""

import pytest
import sqlalchemy as sa

from dsr.sources.sql.schema import live_schema_current, schema_fingerprint

CHANGES = [
    "ALTER TABLE b ADD COLUMN note VARCHAR(20)",
    "CREATE TABLE c (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b (id))",
    "CREATE UNIQUE INDEX b_note ON b (note)",
    "DROP TABLE c",
]
POSTGRES_ONLY = [
    "ALTER TABLE b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id)",
    "ALTER TABLE b ALTER COLUMN a_id SET NOT NULL",
    "ALTER TABLE b DROP CONSTRAINT b_a",
    "ALTER TABLE b ADD CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE CASCADE",
]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    else:
        url, _ = request.getfixturevalue("postgres_database")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(40))")
        conn.exec_driver_sql("CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER)")
    yield engine
    engine.dispose()


def test_every_schema_change_is_seen_and_nothing_else_rereads(engine):
    changes = CHANGES + (POSTGRES_ONLY if engine.dialect.name == "postgresql" else [])
    with engine.connect() as conn:
        first = live_schema_current(conn)
        assert live_schema_current(conn) is first  # unchanged: the schema is not read again
        conn.exec_driver_sql("INSERT INTO a VALUES (1, 'rows are no schema change')")
        conn.commit()
        assert live_schema_current(conn) is first
        seen = schema_fingerprint(conn)
        for change in changes:
            conn.exec_driver_sql(change)
            conn.commit()
            now = schema_fingerprint(conn)
            assert now != seen, change
            seen = now
        last = live_schema_current(conn)
    assert last is not first
    assert "note" in last.tables["b"].columns
    assert last.tables["b"].columns["note"].unique
    if engine.dialect.name == "postgresql":
        assert [fk.on_delete for fk in last.referencing("a")] == ["CASCADE"]
        assert not last.tables["b"].columns["a_id"].nullable

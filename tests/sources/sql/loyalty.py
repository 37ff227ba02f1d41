"""A loyalty-club database shaped unlike Chinook: composite keys, restriction and consent columns."""

import copy

import sqlalchemy as sa

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
INSERT INTO consent VALUES (3, 'mette@example.dk', 'sms', FALSE, '2024-05-01 10:00:00');
"""

METTE = {"email": {"mette@example.dk"}}

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


def loyalty_tables() -> dict:
    """Return a copy of the loyalty tables' configuration that a test may change."""
    return copy.deepcopy(LOYALTY_TABLES)


def loyalty_source(url: str, tables: dict | None = None, **config) -> dict:
    return {
        "name": "Loyalty club",
        "kind": "sql",
        "purposes": ["account"],
        "origin": {"da": "Fra medlemmet", "en": "From the member"},
        "url": url,
        "tables": tables or LOYALTY_TABLES,
        **config,
    }


def loyalty_connector(url: str, tables: dict | None = None, **config) -> SqlConnector:
    datamap = map_build({"loyalty": loyalty_source(url, tables, **config)})
    return SqlConnector(datamap.sources["loyalty"], datamap)


def loyalty_schema_create(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in LOYALTY_SCHEMA.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()


def scalar(url: str, sql: str, **params):
    """Return the one value ``sql`` selects, read with a connection of its own (not the connector's)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()
    finally:
        engine.dispose()

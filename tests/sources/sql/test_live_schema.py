"""The live schema of a shop database and of a partitioned one, as SQLite and PostgreSQL describe them."""

import pytest
import sqlalchemy as sa

from dsr.sources.sql import engines_dispose
from dsr.sources.sql.schema import LiveSchema, live_schema_read

SHOP_SCHEMA = """
CREATE TABLE city (
    id INTEGER PRIMARY KEY,
    name VARCHAR(80) NOT NULL UNIQUE
);
CREATE TABLE address (
    id INTEGER PRIMARY KEY,
    street VARCHAR(200) NOT NULL,
    zip CHAR(4) NOT NULL,
    city_id INTEGER NOT NULL,
    CONSTRAINT address_city_fk FOREIGN KEY (city_id) REFERENCES city (id)
);
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    email VARCHAR(120) NOT NULL UNIQUE,
    alt_email VARCHAR(120),
    full_name VARCHAR(100) NOT NULL,
    initials VARCHAR(3),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    birth_date DATE,
    points INTEGER NOT NULL DEFAULT 0,
    address_id INTEGER,
    referred_by INTEGER,
    CONSTRAINT customer_address_fk FOREIGN KEY (address_id) REFERENCES address (id),
    CONSTRAINT customer_referrer_fk FOREIGN KEY (referred_by) REFERENCES customer (id)
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    shipping_address_id INTEGER NOT NULL,
    placed_at TIMESTAMP NOT NULL,
    note TEXT,
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id),
    CONSTRAINT orders_shipping_fk FOREIGN KEY (shipping_address_id) REFERENCES address (id)
);
CREATE TABLE order_line (
    order_id INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    sku VARCHAR(20) NOT NULL,
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT line_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE
);
CREATE TABLE shipment (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    tracking VARCHAR(40) UNIQUE,
    CONSTRAINT shipment_line_fk FOREIGN KEY (order_id, line_no) REFERENCES order_line (order_id, line_no)
);
CREATE TABLE invoice (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    issued_at DATE NOT NULL,
    amount NUMERIC(10, 2) NOT NULL,
    CONSTRAINT invoice_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id)
);
CREATE TABLE store (
    id INTEGER PRIMARY KEY,
    name VARCHAR(60) NOT NULL,
    address_id INTEGER NOT NULL,
    CONSTRAINT store_address_fk FOREIGN KEY (address_id) REFERENCES address (id)
);
CREATE TABLE review (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customer (id) ON DELETE SET NULL,
    body TEXT NOT NULL
);
CREATE TABLE audit_log (
    at TIMESTAMP NOT NULL,
    customer_id INTEGER,
    what VARCHAR(40)
)
"""


def _execute(url: str, script: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in script.split(";"):
                if statement.strip():
                    conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _live(url: str, schema: str | None = None) -> LiveSchema:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return live_schema_read(conn, schema)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def shop_url(request, tmp_path) -> str:
    """Return the URL of a fresh shop database (SQLite file or throwaway PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}" if request.param == "sqlite" else None
    url = url or request.getfixturevalue("postgres_database")[0]
    _execute(url, SHOP_SCHEMA)
    yield url
    engines_dispose()


@pytest.fixture
def shop(shop_url) -> LiveSchema:
    return _live(shop_url)


def test_the_live_schema_reads_columns_keys_and_their_rules(shop):
    customer = shop.tables["customer"]
    assert customer.columns["email"].unique
    assert not customer.columns["email"].nullable
    assert customer.columns["email"].length == 120
    assert customer.columns["active"].is_bool
    assert customer.columns["birth_date"].is_date
    assert shop.tables["order_line"].primary_key == ("order_id", "line_no")
    assert shop.tables["audit_log"].primary_key == ()
    keys = shop.tables["review"].foreign_keys + shop.tables["order_line"].foreign_keys
    # SQLAlchemy misses the rule of a SQLite key declared beside its column (review's); the schema reads it anyway.
    assert {fk.table: fk.on_delete for fk in keys} == {"review": "SET NULL", "order_line": "CASCADE"}
    assert "line_order_fk" in [fk.name for fk in keys]
    referencing = sorted((fk.table, fk.columns) for fk in shop.referencing("customer"))
    assert referencing == [
        ("customer", ("referred_by",)),
        ("invoice", ("customer_id",)),
        ("orders", ("customer_id",)),
        ("review", ("customer_id",)),
    ]
    assert shop.root("customer") == "customer"
    assert shop.tables["customer"].parent is None


PARTITIONED_SCHEMA = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL UNIQUE);
CREATE TABLE orders (
    id INTEGER NOT NULL,
    placed DATE NOT NULL,
    customer_id INTEGER NOT NULL,
    paid BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (id, placed),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id)
) PARTITION BY RANGE (placed);
CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE orders_2025 PARTITION OF orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY HASH (id);
CREATE TABLE orders_2025_even PARTITION OF orders_2025 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE orders_2025_odd PARTITION OF orders_2025 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE order_line (
    order_id INTEGER NOT NULL,
    placed DATE NOT NULL,
    line_no INTEGER NOT NULL,
    PRIMARY KEY (order_id, placed, line_no),
    CONSTRAINT line_order_fk FOREIGN KEY (order_id, placed) REFERENCES orders (id, placed)
);
CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER,
    CONSTRAINT event_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id)
);
CREATE TABLE click (url TEXT NOT NULL) INHERITS (event);
CREATE SCHEMA archive;
CREATE TABLE archive.orders (id INTEGER NOT NULL, placed DATE NOT NULL, PRIMARY KEY (id, placed))
    PARTITION BY RANGE (placed);
CREATE TABLE archive.orders_2019 PARTITION OF archive.orders FOR VALUES FROM ('2019-01-01') TO ('2020-01-01')
"""


@pytest.fixture
def partitioned(postgres_database) -> LiveSchema:
    url = postgres_database[0]
    _execute(url, PARTITIONED_SCHEMA)
    yield _live(url)
    engines_dispose()


def test_partitions_and_inheritance_children_are_read_with_their_parents(partitioned, postgres_database):
    orders = partitioned.tables["orders"]
    assert orders.primary_key == ("id", "placed")
    assert orders.columns["paid"].is_bool
    assert orders.partitions == ["orders_2024", "orders_2025"]
    assert partitioned.tables["orders_2025"].partitions == ["orders_2025_even", "orders_2025_odd"]
    assert partitioned.tables["orders_2025_odd"].parent == "orders_2025"
    assert not partitioned.tables["orders_2024"].inherited
    assert partitioned.root("orders_2025_odd") == "orders"
    assert partitioned.root("orders") == "orders"
    assert partitioned.tables["event"].partitions == ["click"]
    assert partitioned.tables["click"].inherited
    assert partitioned.root("click") == "event"
    archive = _live(postgres_database[0], schema="archive")
    assert set(archive.tables) == {"orders", "orders_2019"}
    assert archive.tables["orders"].partitions == ["orders_2019"]


def test_a_key_copied_onto_partitions_is_reported_once(partitioned):
    # PostgreSQL copies orders_customer_fk onto each partition and points line_order_fk at each partition as well.
    assert any(fk.table == "orders_2024" for fk in partitioned.tables["orders_2024"].foreign_keys)
    assert len(partitioned.tables["order_line"].foreign_keys) > 1
    assert sorted((fk.name, fk.table) for fk in partitioned.referencing("customer")) == [
        ("event_customer_fk", "event"),
        ("orders_customer_fk", "orders"),
    ]
    assert [(fk.name, fk.referred_table) for fk in partitioned.referencing("orders")] == [("line_order_fk", "orders")]

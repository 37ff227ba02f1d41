"""The live schema of a shop database, on SQLite and PostgreSQL, against maps that fit it and maps it would refuse."""

import copy
import graphlib

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dsr.sources.sql import engines_dispose
from dsr.sources.sql.checks import live_errors
from dsr.sources.sql.schema import (
    LiveColumn,
    LiveForeignKey,
    LiveSchema,
    LiveTable,
    deletion_order,
    live_schema_read,
)

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

# Two pairs of tables that point at each other: a team's captain is one of its players (nullable), and a hen and
# her egg that cannot exist without each other. SQLite takes a key to a table not yet made; PostgreSQL adds it after.
CYCLES = {
    "sqlite": """
CREATE TABLE team (
    id INTEGER PRIMARY KEY,
    captain_id INTEGER,
    CONSTRAINT team_captain_fk FOREIGN KEY (captain_id) REFERENCES player (id)
);
CREATE TABLE player (
    id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL,
    CONSTRAINT player_team_fk FOREIGN KEY (team_id) REFERENCES team (id)
);
CREATE TABLE hen (
    id INTEGER PRIMARY KEY,
    egg_id INTEGER NOT NULL,
    CONSTRAINT hen_egg_fk FOREIGN KEY (egg_id) REFERENCES egg (id)
);
CREATE TABLE egg (
    id INTEGER PRIMARY KEY,
    hen_id INTEGER NOT NULL,
    CONSTRAINT egg_hen_fk FOREIGN KEY (hen_id) REFERENCES hen (id)
)
""",
    "postgresql": """
CREATE TABLE team (id INTEGER PRIMARY KEY, captain_id INTEGER);
CREATE TABLE player (
    id INTEGER PRIMARY KEY,
    team_id INTEGER NOT NULL,
    CONSTRAINT player_team_fk FOREIGN KEY (team_id) REFERENCES team (id)
);
ALTER TABLE team ADD CONSTRAINT team_captain_fk FOREIGN KEY (captain_id) REFERENCES player (id);
CREATE TABLE hen (id INTEGER PRIMARY KEY, egg_id INTEGER NOT NULL);
CREATE TABLE egg (
    id INTEGER PRIMARY KEY,
    hen_id INTEGER NOT NULL,
    CONSTRAINT egg_hen_fk FOREIGN KEY (hen_id) REFERENCES hen (id)
);
ALTER TABLE hen ADD CONSTRAINT hen_egg_fk FOREIGN KEY (egg_id) REFERENCES egg (id)
""",
}


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
    """Return the URL of a fresh shop database (SQLite file or throwaway PostgreSQL) with its cycles of keys."""
    url = f"sqlite:///{tmp_path / 'shop.sqlite'}" if request.param == "sqlite" else None
    url = url or request.getfixturevalue("postgres_database")[0]
    _execute(url, SHOP_SCHEMA)
    _execute(url, CYCLES[sa.make_url(url).get_backend_name()])
    yield url
    engines_dispose()


@pytest.fixture
def shop(shop_url) -> LiveSchema:
    return _live(shop_url)


def _table(**config) -> dict:
    """Return a table's map as the caller's normaliser hands it over: every key present, one list per identifier."""
    erasure = {"strategy": "delete", "fields": {}, "hold": None, "date_column": None, "after_hold": None}
    table = {
        "identifiers": {},
        "links": [],
        "shared": None,
        "context": None,
        "erasure": None if config.get("context") else erasure | config.pop("erasure", {}),
        "categories": {},
        "rectify": {},
        "restriction": None,
        "consent": None,
        "primary_key": None,
        "exclude": [],
    }
    return table | config


def _link(table: str, **columns: str) -> dict:
    return {"table": table, "columns": columns}


KEPT = {"strategy": "keep", "hold": "bookkeeping"}
CUSTOMER_FIELDS = {
    "email": "hash",
    "alt_email": "clear",
    "full_name": "redact",
    "initials": "clear",
    "active": {"set": False},
    "birth_date": {"truncate": "year"},
    "points": {"set": 0},
}
SHOP_MAP = {
    "customer": _table(
        identifiers={"email": ["email", "alt_email"]},
        categories={"email": "contact", "full_name": "identity"},
        rectify={"name": "full_name"},
        erasure={"strategy": "anonymise", "fields": CUSTOMER_FIELDS},
    ),
    "orders": _table(
        links=[_link("customer", customer_id="id")],
        erasure=KEPT | {"date_column": "placed_at", "after_hold": "anonymise", "fields": {"note": "clear"}},
    ),
    "order_line": _table(links=[_link("orders", order_id="id")], erasure=KEPT),
    "address": _table(
        links=[_link("customer", id="address_id"), _link("orders", id="shipping_address_id")],
        shared="skip",
        erasure={"strategy": "anonymise", "fields": {"street": "redact"}},
    ),
    "city": _table(context={"label": "name"}),
    "invoice": _table(
        links=[_link("customer", customer_id="id")],
        erasure=KEPT | {"date_column": "issued_at", "after_hold": "delete"},
    ),
    "review": _table(links=[_link("customer", customer_id="id")]),
}


def _shop_map(**changes: dict | None) -> dict:
    """Return the shop's map with tables replaced (a dict) or left out (None)."""
    tables = copy.deepcopy(SHOP_MAP) | changes
    return {name: table for name, table in tables.items() if table is not None}


def _deleting_map(**changes: dict | None) -> dict:
    """Return a map that deletes the customer and everything found from it, which the database allows."""
    deleting = {
        "customer": SHOP_MAP["customer"] | {"shared": "skip", "erasure": _table()["erasure"]},
        "orders": _table(links=[_link("customer", customer_id="id")]),
        "order_line": _table(links=[_link("orders", order_id="id")]),
        "shipment": _table(links=[_link("order_line", order_id="order_id", line_no="line_no")]),
        "invoice": _table(links=[_link("customer", customer_id="id")]),
    }
    return _shop_map(**(deleting | changes))


def _errors(tables: dict, live: LiveSchema) -> dict[str, str]:
    """Return the errors by path, the messages of one path on lines of their own."""
    errors: dict[str, str] = {}
    for error in live_errors(tables, live, path="sources.shop"):
        errors[error.path] = f"{errors[error.path]}\n{error.message}" if error.path in errors else error.message
    return errors


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


def test_a_map_that_fits_the_database_has_no_errors(shop):
    assert _errors(_shop_map(), shop) == {}
    assert _errors(_deleting_map(), shop) == {}


def test_a_missing_table_or_column_is_named_with_a_likely_meaning(shop):
    tables = _shop_map(
        customers=_table(identifiers={"email": ["email"]}),
        customer=SHOP_MAP["customer"]
        | {
            "identifiers": {"email": ["email", "emial"]},
            "categories": {"fullname": "identity"},
            "rectify": {"name": "name"},
            "restriction": {"column": "restricted"},
            "consent": {"key_column": "purpose", "state_column": "granted", "withdrawn_value": "no"},
            "primary_key": ["uid"],
            "exclude": ["password"],
        },
        orders=_table(links=[_link("customer", customer_id="customer_id"), _link("basket", id="order_id")]),
        invoice=_table(links=[_link("customer", customer_id="id")], erasure=KEPT | {"date_column": "issued"}),
        city=_table(context={"label": "title"}),
    )
    errors = _errors(tables, shop)
    assert errors["sources.shop.tables.customers"] == 'no table "customers" in the database (did you mean "customer"?)'
    assert errors["sources.shop.tables.customer.identifiers.email"] == (
        'no column "emial" in table "customer" (did you mean "email"?)'
    )
    assert (
        'no column "customer_id" in table "customer"'
        in errors["sources.shop.tables.orders.links.0.columns.customer_id"]
    )
    assert 'no table "basket"' in errors["sources.shop.tables.orders.links.1.table"]
    assert set(errors) >= {
        f"sources.shop.tables.customer.{where}"
        for where in (
            "categories.fullname",
            "rectify.name",
            "restriction.column",
            "consent.key_column",
            "consent.state_column",
            "primary_key",
            "exclude",
        )
    } | {"sources.shop.tables.invoice.erasure.date_column", "sources.shop.tables.city.context.label"}
    assert "sources.shop.tables.customer.consent.withdrawn_value" not in errors  # a value, not a column


def test_a_table_without_a_primary_key_needs_one_named(shop):
    log = _table(identifiers={"customer": ["customer_id"]}, erasure=KEPT)
    assert "no primary key" in _errors(_shop_map(audit_log=log), shop)["sources.shop.tables.audit_log"]
    assert _errors(_shop_map(audit_log=log | {"primary_key": ["at", "customer_id"]}), shop) == {}


def test_deleting_rows_an_unmapped_table_points_at_is_refused(shop):
    errors = _errors(_deleting_map(invoice=None), shop)
    message = errors["sources.shop.tables.customer.erasure.strategy"]
    assert "invoice_customer_fk: invoice(customer_id) -> customer(id)" in message
    assert '"invoice" is not in the map' in message
    assert 'anonymise "customer" instead' in message
    assert "set shared" not in message  # the customer is already shared, and invoice.customer_id is NOT NULL


def test_deleting_rows_a_kept_table_points_at_is_refused_even_when_shared(shop):
    errors = _errors(_deleting_map(invoice=SHOP_MAP["invoice"] | {"erasure": KEPT}), shop)
    message = errors["sources.shop.tables.customer.erasure.strategy"]
    assert '"invoice" keeps pointing at the deleted rows (keep)' in message
    assert "invoice_customer_fk" in message


def test_deleting_rows_whose_hold_ended_is_allowed_while_kept_rows_point_at_them(shop):
    # Kept rows that still need a row keep it at run time; only other people's rows block the delete.
    after_hold = _shop_map(customer=SHOP_MAP["customer"] | {"erasure": KEPT | {"after_hold": "delete"}})
    message = _errors(after_hold, shop)["sources.shop.tables.customer.erasure.after_hold"]
    assert "orders_customer_fk" not in message
    assert "customer_referrer_fk: customer(referred_by) -> customer(id)" in message


def test_deleting_rows_that_point_at_each_other_needs_them_shared(shop):
    unshared = _deleting_map(customer=_deleting_map()["customer"] | {"shared": None})
    message = _errors(unshared, shop)["sources.shop.tables.customer.erasure.strategy"]
    assert "customer_referrer_fk: customer(referred_by) -> customer(id)" in message
    assert "other rows of the same table" in message
    assert message.endswith('anonymise "customer" instead, or set shared: skip')


def test_a_deleted_table_found_another_way_than_the_key_is_told_to_link_along_it(shop):
    by_address = _table(links=[_link("address", shipping_address_id="id")])
    customer = _deleting_map()["customer"] | {"shared": None}
    errors = _errors(_deleting_map(orders=by_address, customer=customer), shop)
    message = errors["sources.shop.tables.customer.erasure.strategy"]
    assert "orders_customer_fk" in message
    assert 'link "orders" to "customer" by {customer_id: id}' in message
    partly = _table(links=[_link("order_line", order_id="order_id")])
    message = _errors(_deleting_map(shipment=partly), shop)["sources.shop.tables.order_line.erasure.strategy"]
    assert "shipment_line_fk: shipment(order_id, line_no) -> order_line(order_id, line_no)" in message


def test_deleting_an_address_others_use_names_every_key_that_still_points_at_it(shop):
    deleted = SHOP_MAP["address"] | {"shared": None, "erasure": _table()["erasure"]}
    message = _errors(_shop_map(address=deleted, store=_table(context={"label": "name"})), shop)[
        "sources.shop.tables.address.erasure.strategy"
    ]
    assert '"store" is a context table' in message
    assert "store_address_fk" in message
    errors = live_errors(_shop_map(address=deleted), shop, path="sources.shop")
    named = {
        fk
        for error in errors
        for fk in ("customer_address_fk", "orders_shipping_fk", "store_address_fk")
        if fk in error.message
    }
    assert named == {"customer_address_fk", "orders_shipping_fk", "store_address_fk"}
    # Shared: the customer's nullable key no longer matters; a kept order and an unmapped store still do.
    errors = live_errors(_shop_map(address=deleted | {"shared": "skip"}), shop, path="sources.shop")
    named = {
        fk
        for error in errors
        for fk in ("customer_address_fk", "orders_shipping_fk", "store_address_fk")
        if fk in error.message
    }
    assert named == {"orders_shipping_fk", "store_address_fk"}


def test_a_cascade_into_a_kept_table_is_refused_and_set_null_is_allowed(shop):
    orders = _table(links=[_link("customer", customer_id="id")])
    message = _errors(_deleting_map(orders=orders, order_line=SHOP_MAP["order_line"]), shop)[
        "sources.shop.tables.orders.erasure.strategy"
    ]
    assert "line_order_fk" in message
    assert "ON DELETE CASCADE" in message
    assert "bookkeeping" in message
    assert _errors(_deleting_map(order_line=None), shop) == {}
    assert _errors(_deleting_map(review=None), shop) == {}  # review's key is ON DELETE SET NULL


@pytest.mark.parametrize(
    ("column", "method", "fragment"),
    [
        ("full_name", "clear", '"full_name" (VARCHAR(100)) is NOT NULL'),
        ("points", "hash", '"points" (INTEGER) is not text'),
        ("initials", "hash", "takes 3 characters, and a hash needs 16"),
        ("initials", "redact", "fewer than the redaction text"),
        ("email", "redact", "UNIQUE"),
        ("active", {"set": 0}, "not a number"),
        ("points", {"set": True}, "not boolean"),
        ("full_name", {"set": None}, "NOT NULL"),
        ("initials", {"set": "ABCD"}, "takes 3 characters"),
        ("points", {"truncate": "year"}, "not a date"),
        ("email", {"truncate": "year"}, "not a date"),
    ],
)
def test_an_anonymising_method_the_column_cannot_take_is_refused(shop, column, method, fragment):
    customer = SHOP_MAP["customer"] | {"erasure": {"strategy": "anonymise", "fields": {column: method}}}
    errors = _errors(_shop_map(customer=customer), shop)
    message = errors[f"sources.shop.tables.customer.erasure.fields.{column}"]
    assert fragment in message.replace("CHAR(", "VARCHAR(").replace("VARVARCHAR", "VARCHAR")
    assert '(table "customer")' in message


def test_a_hold_dated_by_a_column_that_is_not_a_date_is_refused(shop):
    orders = SHOP_MAP["orders"] | {"erasure": SHOP_MAP["orders"]["erasure"] | {"date_column": "customer_id"}}
    errors = _errors(_shop_map(orders=orders), shop)
    assert "is not a date or datetime" in errors["sources.shop.tables.orders.erasure.date_column"]
    # Dates kept as ISO text, as SQLite does, date the rows they can.
    orders = SHOP_MAP["orders"] | {"erasure": SHOP_MAP["orders"]["erasure"] | {"date_column": "note"}}
    assert "sources.shop.tables.orders.erasure.date_column" not in _errors(_shop_map(orders=orders), shop)


def test_unlinking_a_shared_address_needs_the_persons_keys_to_it_nullable(shop):
    unlinked = SHOP_MAP["address"] | {"shared": "unlink"}
    message = _errors(_shop_map(address=unlinked), shop)["sources.shop.tables.address.shared"]
    assert '"orders.shipping_address_id" is NOT NULL' in message
    assert "orders_shipping_fk" in message
    only_home = unlinked | {"links": [_link("customer", id="address_id")]}
    assert _errors(_shop_map(address=only_home, orders=None, order_line=None), shop) == {}


def test_deletion_order_puts_every_referencing_table_first(shop):
    assert deletion_order(["city", "address", "store"], shop) == (["store", "address", "city"], [])
    order, cleared = deletion_order(["address", "customer", "orders", "invoice", "review"], shop)
    assert order == ["orders", "invoice", "review", "customer", "address"]
    assert [fk.name for fk in cleared] == ["customer_referrer_fk"]  # a self-reference, nullable: cleared first
    assert deletion_order(["review", "invoice", "customer"], shop)[0] == ["review", "invoice", "customer"]
    assert deletion_order(["shipment", "orders", "order_line"], shop)[0] == ["shipment", "order_line", "orders"]
    assert deletion_order(["order_line", "orders", "somewhere_else"], shop)[0] == [
        "order_line",
        "orders",
        "somewhere_else",
    ]


def test_deletion_order_clears_a_nullable_key_to_break_a_circle(shop):
    for names in (["team", "player"], ["player", "team"]):
        order, cleared = deletion_order(names, shop)
        assert order == ["player", "team"]
        assert [fk.name for fk in cleared] == ["team_captain_fk"]


def test_deletion_order_refuses_a_circle_no_key_of_which_can_be_cleared(shop):
    with pytest.raises(ValueError, match="circle") as raised:
        deletion_order(["team", "hen", "egg"], shop)
    assert "hen_egg_fk" in str(raised.value)
    assert "egg_hen_fk" in str(raised.value)


@hypothesis_settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_deletion_order_never_deletes_a_row_a_remaining_key_points_at(data):
    names = [f"t{i}" for i in range(data.draw(st.integers(1, 7)))]
    keys = st.tuples(st.sampled_from(names), st.sampled_from(names), st.booleans())
    tables = {name: LiveTable(name, {}, ("id",)) for name in names}
    for i, (table, referred, nullable) in enumerate(data.draw(st.lists(keys, max_size=12))):
        tables[table].columns[f"k{i}"] = LiveColumn(f"k{i}", "INTEGER", nullable, is_number=True)
        tables[table].foreign_keys.append(LiveForeignKey(f"fk{i}", table, (f"k{i}",), referred, ("id",)))
    live = LiveSchema("postgresql", tables)
    every = [fk for table in tables.values() for fk in table.foreign_keys]
    try:
        order, cleared = deletion_order(names, live)
    except ValueError:
        hard = {name: set() for name in names}
        for fk in every:
            if fk.table != fk.referred_table and not tables[fk.table].columns[fk.columns[0]].nullable:
                hard[fk.table].add(fk.referred_table)
        with pytest.raises(graphlib.CycleError):
            graphlib.TopologicalSorter(hard).prepare()
        return
    assert sorted(order) == sorted(names)
    position = {name: i for i, name in enumerate(order)}
    for fk in every:
        if fk not in cleared and fk.table != fk.referred_table:
            assert position[fk.table] < position[fk.referred_table]
    assert all(tables[fk.table].columns[fk.columns[0]].nullable for fk in cleared)
    assert deletion_order(names, live) == (order, cleared)


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
    assert deletion_order(["customer", "orders", "order_line"], partitioned) == (
        ["order_line", "orders", "customer"],
        [],
    )


def test_a_partition_listed_beside_its_parent_is_refused_naming_the_parent(partitioned):
    customer = _table(identifiers={"email": ["email"]}, erasure={"strategy": "anonymise", "fields": {"email": "hash"}})
    orders = _table(links=[_link("customer", customer_id="id")], erasure=KEPT)
    tables = {"customer": customer, "orders": orders, "orders_2025_odd": orders, "event": orders, "click": orders}
    errors = _errors(tables, partitioned)
    assert errors["sources.shop.tables.orders_2025_odd"].startswith('"orders_2025_odd" is a partition of "orders"')
    assert errors["sources.shop.tables.click"].startswith('"click" is an inheritance child of "event"')
    assert _errors({"customer": customer, "orders": orders}, partitioned) == {}


def test_deleting_from_a_partitioned_table_names_each_key_once(partitioned):
    customer = _table(identifiers={"email": ["email"]})
    errors = live_errors({"customer": customer}, partitioned, path="sources.shop")
    assert [error.message.count("orders_customer_fk") for error in errors if "orders" in error.message] == [1]
    orders = _table(links=[_link("customer", customer_id="id")])
    lines = _table(links=[_link("orders", order_id="id", placed="placed")])
    tables = {"customer": customer | {"shared": "skip"}, "orders": orders, "order_line": lines}
    assert _errors(tables, partitioned) == {}

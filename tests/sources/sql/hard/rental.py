"""A film-rental chain, shaped like the DVD-rental sample databases rather than the demo shop.

What makes it hard:
- customer has two email columns, a NOT NULL boolean `active`, a UNIQUE email
  and `referred_by`, a foreign key to customer itself (Ole was referred by Mette);
- address is reached by two paths: a customer's home (customer.address_id) and an
  order's delivery (rental_order.shipping_address_id);
- two of Mette's addresses are shared: her home is where Ole had an order
  delivered, and one order went to a store's address (store is not mapped);
- city is a lookup table (a context table, exported only as a label);
- payments are kept for bookkeeping from their own date: Mette has one from 15
  years ago and one from her old account 8 years ago, both past their hold, and one
  from 40 days ago, still held.

Mette has two customer rows: her account (email Mette@Example.dk) and an old
one found by its second email column (alt_email).
"""

import copy
import datetime as dt

from tests.sources.sql.hard.support import sql_split, years_ago

SCHEMA = """
CREATE TABLE city (
    city_id INTEGER PRIMARY KEY,
    name VARCHAR(60) NOT NULL,
    country VARCHAR(60) NOT NULL
);
CREATE TABLE address (
    address_id INTEGER PRIMARY KEY,
    street VARCHAR(120) NOT NULL,
    postal_code VARCHAR(10),
    city_id INTEGER NOT NULL,
    phone VARCHAR(30),
    CONSTRAINT fk_address_city FOREIGN KEY (city_id) REFERENCES city (city_id)
);
CREATE TABLE store (
    store_id INTEGER PRIMARY KEY,
    name VARCHAR(60) NOT NULL,
    address_id INTEGER NOT NULL,
    CONSTRAINT fk_store_address FOREIGN KEY (address_id) REFERENCES address (address_id)
);
CREATE TABLE customer (
    customer_id INTEGER PRIMARY KEY,
    store_id INTEGER NOT NULL,
    first_name VARCHAR(45) NOT NULL,
    last_name VARCHAR(45) NOT NULL,
    email VARCHAR(120) NOT NULL,
    alt_email VARCHAR(120),
    phone VARCHAR(30),
    address_id INTEGER,
    referred_by INTEGER,
    active BOOLEAN NOT NULL,
    password_hash VARCHAR(100),
    created_on DATE NOT NULL,
    CONSTRAINT uq_customer_email UNIQUE (email),
    CONSTRAINT fk_customer_store FOREIGN KEY (store_id) REFERENCES store (store_id),
    CONSTRAINT fk_customer_address FOREIGN KEY (address_id) REFERENCES address (address_id),
    CONSTRAINT fk_customer_referred_by FOREIGN KEY (referred_by) REFERENCES customer (customer_id)
);
CREATE TABLE rental_order (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    store_id INTEGER NOT NULL,
    shipping_address_id INTEGER,
    ordered_on DATE NOT NULL,
    film_title VARCHAR(100) NOT NULL,
    delivery_note VARCHAR(200),
    CONSTRAINT fk_rental_order_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id),
    CONSTRAINT fk_rental_order_store FOREIGN KEY (store_id) REFERENCES store (store_id),
    CONSTRAINT fk_rental_order_shipping_address FOREIGN KEY (shipping_address_id) REFERENCES address (address_id)
);
CREATE TABLE payment (
    payment_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    order_id INTEGER,
    amount_cents INTEGER NOT NULL,
    paid_on DATE NOT NULL,
    card_last4 CHAR(4),
    CONSTRAINT fk_payment_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id),
    CONSTRAINT fk_payment_order FOREIGN KEY (order_id) REFERENCES rental_order (order_id)
)
"""

DATA = """
INSERT INTO city VALUES (1, 'Aarhus', 'Danmark'), (2, 'København', 'Danmark'), (3, 'Skagen', 'Danmark'),
    (4, 'Odense', 'Danmark');
INSERT INTO address VALUES
    (1, 'Vestergade 1, 2. th.', '8000', 1, NULL),
    (2, 'Strøget 10', '1160', 2, '+45 33 11 22 33'),
    (3, 'Sommerhusvej 7', '9990', 3, '+45 20 30 40 50'),
    (4, 'Gammel Kongevej 3', '1610', 2, NULL),
    (5, 'Ole Rømers Gade 5', '8000', 1, '11223344'),
    (6, 'Kongensgade 20', '5000', 4, NULL),
    (7, 'Banegårdspladsen 2', '5000', 4, '+45 66 12 12 12'),
    (8, 'Havnegade 99', '8000', 1, NULL);
INSERT INTO store VALUES (1, 'Filmhuset Strøget', 2), (2, 'Filmhuset Odense', 7);
INSERT INTO customer VALUES
    (3, 2, 'Anna', 'Berg', 'anna@example.dk', 'anna.b@example.org', NULL, 6, NULL, TRUE, 'pbkdf2$anna', '{five_years}');
INSERT INTO customer VALUES
    (1, 1, 'Mette', 'Hansen', 'Mette@Example.dk', 'mette.hansen@work.example', '+45 20 30 40 50', 1, NULL, TRUE,
     'pbkdf2$mette', '{two_years}'),
    (2, 1, 'Ole', 'Jensen', 'ole@example.dk', NULL, '11223344', 5, 1, TRUE, 'pbkdf2$ole', '{one_year}'),
    (4, 1, 'Mette', 'Hansen', 'mh1970@oldmail.example', ' METTE@example.dk', NULL, 4, 3, FALSE,
     'md5$old', '{sixteen_years}');
INSERT INTO rental_order VALUES
    (1, 1, 1, 2, '{forty_days}', 'Babettes gæstebud', 'Ring til Mette ved levering'),
    (2, 1, 1, 3, '{one_year}', 'Festen', 'Nøglen ligger under måtten hos Hansen'),
    (3, 1, 1, NULL, '{fifteen_years}', 'Jagten', 'Hentes af Mette i butikken'),
    (4, 4, 1, 4, '{eight_years}', 'Italiensk for begyndere', 'Mette H., 3. sal'),
    (5, 2, 1, 1, '{forty_days}', 'Flammen & Citronen', 'Afleveres hos naboen'),
    (6, 3, 2, 6, '{fifteen_years}', 'Druk', NULL);
INSERT INTO payment VALUES
    (1, 1, 3, 4900, '{fifteen_years}', '4242'),
    (2, 1, 1, 2900, '{forty_days}', '4242'),
    (3, 2, 5, 2900, '{forty_days}', '1111'),
    (4, 3, 6, 3900, '{fifteen_years}', '2222'),
    (5, 4, 4, 1900, '{eight_years}', '0505')
"""

KEYS = {
    "city": ("city_id",),
    "address": ("address_id",),
    "store": ("store_id",),
    "customer": ("customer_id",),
    "rental_order": ("order_id",),
    "payment": ("payment_id",),
}

# Anything left of these anywhere after erasure is Mette's data that survived it.
MARKERS = [
    "mette",
    "hansen",
    "mh1970",
    "20304050",
    "Sommerhusvej",
    "Gammel Kongevej",
    "pbkdf2$mette",
    "md5$old",
]

# Ground truth: Mette's rows, selected with SQL of the test's own (:email is her address, lower case).
METTES_CUSTOMERS = """
    SELECT customer_id FROM customer WHERE lower(trim(email)) = :email OR lower(trim(alt_email)) = :email
"""
TRUTH = {
    "customer": f"""
        SELECT customer_id, store_id, first_name, last_name, email, alt_email, phone, address_id, referred_by,
               active, created_on
        FROM customer WHERE customer_id IN ({METTES_CUSTOMERS})
    """,  # noqa: S608
    "address": f"""
        SELECT a.address_id, a.street, a.postal_code, a.city_id, a.phone, c.name AS "city_id (label)"
        FROM address a JOIN city c ON c.city_id = a.city_id
        WHERE a.address_id IN (SELECT address_id FROM customer WHERE customer_id IN ({METTES_CUSTOMERS}))
           OR a.address_id IN (
               SELECT shipping_address_id FROM rental_order WHERE customer_id IN ({METTES_CUSTOMERS}))
    """,  # noqa: S608
    "rental_order": f"SELECT * FROM rental_order WHERE customer_id IN ({METTES_CUSTOMERS})",  # noqa: S608
    "payment": f"""
        SELECT * FROM payment WHERE customer_id IN ({METTES_CUSTOMERS})
           OR order_id IN (SELECT order_id FROM rental_order WHERE customer_id IN ({METTES_CUSTOMERS}))
    """,  # noqa: S608
}
# Addresses that rows which are not Mette's point at: other customers' homes and orders, stores.
ADDRESSES_OTHERS_USE = f"""
    SELECT shipping_address_id AS address_id FROM rental_order WHERE customer_id NOT IN ({METTES_CUSTOMERS})
    UNION SELECT address_id FROM customer WHERE customer_id NOT IN ({METTES_CUSTOMERS})
    UNION SELECT address_id FROM store
"""  # noqa: S608
# Bogføringsloven § 10: kept five years from the end of the payment's financial year (the calendar year
# here), so a payment dated on or before :last_day_past_hold (31 December six years ago) may go.
PAYMENTS_PAST_HOLD = f"""
    SELECT payment_id FROM payment
    WHERE (customer_id IN ({METTES_CUSTOMERS})
           OR order_id IN (SELECT order_id FROM rental_order WHERE customer_id IN ({METTES_CUSTOMERS})))
      AND paid_on <= :last_day_past_hold
"""  # noqa: S608

TABLES = {
    "city": {"context": {"label": "name"}},
    "customer": {
        "identifiers": {"email": ["email", "alt_email"], "phone": ["phone"]},
        "exclude": ["password_hash"],
        "categories": {
            "first_name": "identity",
            "last_name": "identity",
            "email": "contact",
            "alt_email": "contact",
            "phone": "contact",
            "active": "profile",
        },
        "erasure": {
            "strategy": "anonymise",
            "fields": {
                "first_name": "redact",
                "last_name": "redact",
                "email": "hash",
                "alt_email": "clear",
                "phone": "null",
                "password_hash": "clear",
                "active": {"set": False},
            },
        },
    },
    "address": {
        "links": [
            {"table": "customer", "columns": {"address_id": "address_id"}},
            {"table": "rental_order", "columns": {"address_id": "shipping_address_id"}},
        ],
        "shared": "unlink",
        "categories": {"street": "contact", "postal_code": "contact", "phone": "contact"},
        "erasure": {"strategy": "anonymise", "fields": {"street": "redact", "postal_code": "clear", "phone": "clear"}},
    },
    "rental_order": {
        "link": {"table": "customer", "columns": {"customer_id": "customer_id"}},
        "categories": {"film_title": "usage", "delivery_note": "contact"},
        "erasure": {"strategy": "anonymise", "fields": {"delivery_note": "redact"}},
    },
    "payment": {
        "links": [
            {"table": "customer", "columns": {"customer_id": "customer_id"}},
            {"table": "rental_order", "columns": {"order_id": "order_id"}},
        ],
        "categories": {"amount_cents": "transaction", "card_last4": "financial"},
        "erasure": {"strategy": "keep", "hold": "bookkeeping", "date_column": "paid_on", "after_hold": "delete"},
    },
}


def rental_tables() -> dict:
    """Return a copy of the rental chain's map that a test may change."""
    return copy.deepcopy(TABLES)


def rental_statements(dialect: str, today: dt.date | None = None) -> list[str]:
    """Return the DDL and data; one DDL serves SQLite and PostgreSQL alike."""
    today = today or dt.date.today()
    dates = {
        "forty_days": today - dt.timedelta(days=40),
        "one_year": years_ago(today, 1),
        "two_years": years_ago(today, 2),
        "five_years": years_ago(today, 5),
        "eight_years": years_ago(today, 8),
        "fifteen_years": years_ago(today, 15),
        "sixteen_years": years_ago(today, 16),
    }
    return sql_split(SCHEMA) + sql_split(DATA.format(**{name: day.isoformat() for name, day in dates.items()}))

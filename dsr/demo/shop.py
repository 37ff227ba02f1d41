"""The demo company's "shop" database: a few hundred fake Danish customers in SQLite.

Everything here is invented by Faker (locale da_DK) from a fixed seed, so the
same seed builds the same database. Payment references are provider tokens in
the style of Adyen and Braintree, never card numbers.
"""

import datetime as dt
import hashlib
import random
import sqlite3
from pathlib import Path

from faker import Faker

SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    customer_no TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    birth_date DATE,
    gender TEXT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    deactivated_at TIMESTAMP,
    processing_restricted BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE address (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    kind TEXT NOT NULL CHECK (kind IN ('billing', 'delivery')),
    street TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT 'DK'
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    order_no TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    placed_at TIMESTAMP NOT NULL,
    delivery_date DATE NOT NULL,
    status TEXT NOT NULL,
    total_dkk NUMERIC NOT NULL
);
CREATE TABLE order_line (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    product TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_dkk NUMERIC NOT NULL
);
CREATE TABLE invoice (
    id INTEGER PRIMARY KEY,
    invoice_no TEXT NOT NULL UNIQUE,
    order_id INTEGER NOT NULL REFERENCES orders (id),
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    issued_at TIMESTAMP NOT NULL,
    billing_name TEXT NOT NULL,
    billing_address TEXT NOT NULL,
    total_dkk NUMERIC NOT NULL,
    vat_dkk NUMERIC NOT NULL
);
CREATE TABLE payment_reference (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    provider TEXT NOT NULL CHECK (provider IN ('adyen', 'braintree')),
    token TEXT NOT NULL UNIQUE,
    method TEXT NOT NULL,
    expires TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE login (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    at TIMESTAMP NOT NULL,
    ip_address TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE TABLE preference (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL UNIQUE REFERENCES customer (id),
    diet TEXT NOT NULL,
    household_size INTEGER NOT NULL,
    meals_per_week INTEGER NOT NULL,
    dislikes TEXT
);
CREATE TABLE newsletter_subscription (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customer (id),
    email TEXT NOT NULL UNIQUE,
    subscribed_at TIMESTAMP NOT NULL,
    last_opened_at TIMESTAMP
);
CREATE TABLE consent (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    purpose TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    given_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    channel TEXT NOT NULL
);
"""

PRODUCTS = [
    ("Familiekassen, 4 retter", 599.0),
    ("Vegetarkassen, 3 retter", 449.0),
    ("Hurtig hverdag, 3 retter", 399.0),
    ("Fiskekassen, 3 retter", 499.0),
    ("Dessert: æblekage", 59.0),
    ("Morgenmadspakke", 129.0),
]
DIETS = ["alt", "vegetar", "pescetar", "fleksitar", "glutenfri"]
CONSENT_PURPOSES = ["newsletter", "ad_retargeting", "call_recording"]
# The demo starts at a fixed day so that a seed always builds the same database.
EPOCH = dt.datetime(2025, 6, 30, 12, 0, 0)


def _insert(conn: sqlite3.Connection, table: str, **values) -> None:
    # Table and column names are this module's constants; the values are parameters.
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))  # noqa: S608


def _timestamp(value: dt.datetime) -> str:
    return value.isoformat(sep=" ", timespec="seconds")


def shop_database_build(path: Path, *, customers: int = 300, seed: int = 1) -> None:
    """Build (or rebuild) the demo shop database at ``path``, the same for the same seed."""
    fake = Faker("da_DK")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    try:
        conn.executescript(SCHEMA)
        _rows_fill(conn, fake, rng, customers)
        conn.commit()
    finally:
        conn.close()
    # Replace the old file only once the new one is complete.
    partial.replace(path)


# Customers who live abroad, so the demo serves Swedish and Californian requesters under their own law
# (docs/jurisdictions.md): every tenth customer from the 14th lives in Sweden, the 20th in California. They are
# drawn like everyone else (the same random sequence) and then moved, so the other customers stay as they were.
_SWEDISH_TOWNS = (("Drottninggatan 12", "111 51", "Stockholm"), ("Kungsgatan 4", "411 19", "Göteborg"))


def _abroad(customer_id: int) -> tuple[str, str, str, str, str] | None:
    """Return (street, postal code, city, country, phone prefix) for a customer who lives abroad, else None."""
    if customer_id == 20:
        return ("1 Demo Avenue", "94105", "San Francisco, CA", "US", "+1 415")
    if customer_id >= 14 and customer_id % 10 == 4:
        return (*_SWEDISH_TOWNS[customer_id // 10 % 2], "SE", "+46 8")
    return None


def _rows_fill(conn: sqlite3.Connection, fake: Faker, rng: random.Random, customers: int) -> None:
    order_id = invoice_id = 0
    emails: set[str] = set()
    for customer_id in range(1, customers + 1):
        first, last = fake.first_name(), fake.last_name()
        local = f"{first}.{last}".lower().replace(" ", "").replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
        email = f"{local}@example.dk"
        if email in emails:
            email = f"{local}{customer_id}@example.dk"
        emails.add(email)
        created = EPOCH - dt.timedelta(days=rng.randint(30, 4 * 365))
        deactivated = created + dt.timedelta(days=rng.randint(20, 400)) if rng.random() < 0.15 else None
        phone = f"+45 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        abroad = _abroad(customer_id)
        if abroad:
            email = email.replace("@example.dk", "@example.se" if abroad[3] == "SE" else "@example.com")
            phone = abroad[4] + phone[3:]
        conn.execute(
            "INSERT INTO customer VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                customer_id,
                f"K{100000 + customer_id}",
                first,
                last,
                email,
                phone,
                fake.date_of_birth(minimum_age=18, maximum_age=85).isoformat(),
                rng.choice(["kvinde", "mand", "ikke oplyst"]),
                f"{local}{customer_id}",
                # Not a usable password hash: the demo has no shop login.
                "demo$" + hashlib.sha256(f"{customer_id}-{rng.random()}".encode()).hexdigest()[:32],
                _timestamp(created),
                _timestamp(deactivated) if deactivated else None,
            ),
        )
        street, postal_code, city = fake.street_address(), fake.postcode(), fake.city()
        country = "DK"
        if abroad:
            street, postal_code, city, country = abroad[:4]
        conn.execute(
            "INSERT INTO address (customer_id, kind, street, postal_code, city, country) "
            "VALUES (?, 'billing', ?, ?, ?, ?)",
            (customer_id, street, postal_code, city, country),
        )
        if rng.random() < 0.3:
            delivery = (fake.street_address(), fake.postcode(), fake.city())
            # A customer abroad gets no Danish delivery address (drawn all the same: the sequence stays).
            if not abroad:
                conn.execute(
                    "INSERT INTO address (customer_id, kind, street, postal_code, city) "
                    "VALUES (?, 'delivery', ?, ?, ?)",
                    (customer_id, *delivery),
                )
        end = deactivated or EPOCH
        for _ in range(rng.randint(0, 8)):
            order_id += 1
            placed = created + dt.timedelta(days=rng.randint(0, max(1, (end - created).days)))
            lines = [rng.choice(PRODUCTS) for _ in range(rng.randint(1, 3))]
            total = round(sum(price for _, price in lines), 2)
            conn.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, 'delivered', ?)",
                (
                    order_id,
                    f"O{500000 + order_id}",
                    customer_id,
                    _timestamp(placed),
                    (placed + dt.timedelta(days=3)).date().isoformat(),
                    total,
                ),
            )
            conn.executemany(
                "INSERT INTO order_line (order_id, product, quantity, unit_price_dkk) VALUES (?, ?, 1, ?)",
                [(order_id, product, price) for product, price in lines],
            )
            invoice_id += 1
            conn.execute(
                "INSERT INTO invoice VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    invoice_id,
                    f"F{2025_000000 + invoice_id}",
                    order_id,
                    customer_id,
                    _timestamp(placed),
                    f"{first} {last}",
                    f"{street}, {postal_code} {city}",
                    total,
                    round(total * 0.2, 2),  # 25 % moms is 20 % of the price including VAT
                ),
            )
        provider = rng.choice(["adyen", "braintree"])
        token = f"{provider}_tok_{hashlib.sha256(f'{customer_id}-{rng.random()}'.encode()).hexdigest()[:24]}"
        _insert(
            conn,
            "payment_reference",
            customer_id=customer_id,
            provider=provider,
            token=token,
            method=rng.choice(["visa", "mastercard", "mobilepay", "dankort"]),
            expires=f"{rng.randint(1, 12):02d}/{rng.randint(26, 30)}",
            created_at=_timestamp(created),
        )
        for _ in range(rng.randint(1, 6)):
            at = created + dt.timedelta(days=rng.randint(0, max(1, (end - created).days)), minutes=rng.randint(0, 1440))
            conn.execute(
                "INSERT INTO login (customer_id, at, ip_address, user_agent) VALUES (?, ?, ?, ?)",
                (customer_id, _timestamp(at), fake.ipv4_public(), fake.user_agent()),
            )
        _insert(
            conn,
            "preference",
            customer_id=customer_id,
            diet=rng.choice(DIETS),
            household_size=rng.randint(1, 5),
            meals_per_week=rng.choice([3, 4, 5]),
            dislikes=rng.choice([None, "koriander", "svampe", "oliven"]),
        )
        for purpose in CONSENT_PURPOSES:
            if rng.random() < 0.5:
                given = created + dt.timedelta(minutes=5)
                withdrawn = given + dt.timedelta(days=rng.randint(10, 300)) if rng.random() < 0.2 else None
                _insert(
                    conn,
                    "consent",
                    customer_id=customer_id,
                    purpose=purpose,
                    granted=withdrawn is None,
                    given_at=_timestamp(given),
                    withdrawn_at=_timestamp(withdrawn) if withdrawn else None,
                    channel="web",
                )
                if purpose == "newsletter" and withdrawn is None:
                    opened = given + dt.timedelta(days=rng.randint(0, 500))
                    _insert(
                        conn,
                        "newsletter_subscription",
                        customer_id=customer_id,
                        email=email,
                        subscribed_at=_timestamp(given),
                        last_opened_at=_timestamp(min(opened, EPOCH)),
                    )

"""A company that is not the demo shop: Pedalen Abonnement ApS, a Danish bike subscription (fictional).

Its member system is an SQLite file of its own: members, delivery addresses,
card payments (sent to a card acquirer, purpose ``card_payment``), invoice
payments (sent to an invoice provider, purpose ``invoice_payment``), invoices
kept under the bookkeeping hold, a newsletter list under consent (a mailer
receives it), the consents themselves, app events kept on legitimate
interests only, and the workshop mechanics' own table, which declares no
purpose of its own. A smart-lock partner speaks OpenGDPR on a local port (the
test processor) and knows members by member number; the workshop's service
log is kept by hand by its manager. Meta receives contact data, with consent,
for ride-based offers: named on no source, attached to that purpose only,
in the US.

The people:

- Mette pays by card, reads the newsletter and allowed ride-based offers.
- Jonas pays by invoice, refused the newsletter and never allowed offers.
- Sofie only tried the app: she is in the app events and nowhere else.
- Karin is another card-paying member, who must never be touched.
"""

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from string import Template

from dsr.datamap.loading import datamap_load
from tests.sources.http.processor import SECRET, Processor


@dataclass(frozen=True)
class Person:
    email: str
    member_no: str
    phone: str


METTE = Person("mette.kjaer@example.dk", "PD-1001", "+4520304050")
JONAS = Person("jonas.holm@example.dk", "PD-1002", "+4531415161")
KARIN = Person("karin.berg@example.dk", "PD-1005", "+4540506070")
SOFIE_EMAIL = "sofie.app@example.dk"
MECHANIC_EMAIL = "lars@pedalen.example"

# Contact addresses of the recipients, where Art. 19 notices go.
CARD_ACQUIRER = "privacy@kortindlosning.example"
INVOICE_PROVIDER = "dpo@fakturafinans.example"
COURIER = "privacy@cykelbud.example"
MAILER = "privacy@nyhedsmail.example"
META = "privacy@meta.example"
LOCK_PARTNER = "privacy@laaslogik.example"
RECIPIENT_ADDRESSES = {CARD_ACQUIRER, INVOICE_PROVIDER, COURIER, MAILER, META, LOCK_PARTNER}

SCHEMA = """
CREATE TABLE member (
    id INTEGER PRIMARY KEY,
    member_no TEXT NOT NULL UNIQUE,
    first_name TEXT,
    last_name TEXT,
    email TEXT UNIQUE,
    phone TEXT,
    joined_at TEXT NOT NULL
);
CREATE TABLE address (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES member(id),
    street TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    phone TEXT
);
CREATE TABLE card_payment (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES member(id),
    member_no TEXT NOT NULL,
    card_token TEXT NOT NULL,
    card_last4 TEXT NOT NULL,
    amount_dkk INTEGER NOT NULL,
    paid_at TEXT NOT NULL
);
CREATE TABLE invoice_payment (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES member(id),
    billing_email TEXT NOT NULL,
    billing_street TEXT NOT NULL,
    billing_city TEXT NOT NULL,
    account_ref TEXT NOT NULL
);
CREATE TABLE invoice (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES member(id),
    invoice_no TEXT NOT NULL,
    billing_name TEXT NOT NULL,
    total_dkk INTEGER NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE newsletter_signup (
    id INTEGER PRIMARY KEY,
    member_id INTEGER REFERENCES member(id),
    email TEXT NOT NULL,
    signed_up_at TEXT NOT NULL
);
CREATE TABLE consent (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES member(id),
    consent_key TEXT NOT NULL,
    granted INTEGER NOT NULL,
    given_at TEXT,
    withdrawn_at TEXT
);
CREATE TABLE app_event (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    event TEXT NOT NULL,
    device TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE mechanic (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL
);
"""


def club_build(path: Path) -> Path:
    """Create the member system with its four people and a mechanic."""
    members = [
        (1, METTE, "Mette", "Kjær", "2023-05-02"),
        (2, JONAS, "Jonas", "Holm", "2024-01-15"),
        (5, KARIN, "Karin", "Berg", "2022-09-30"),
    ]
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
        for pk, person, first, last, joined in members:
            conn.execute(
                "INSERT INTO member VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pk, person.member_no, first, last, person.email, person.phone, joined),
            )
        conn.executemany(
            "INSERT INTO address (member_id, street, postal_code, city, phone) VALUES (?, ?, ?, ?, ?)",
            [
                (1, "Vestergade 3", "8000", "Aarhus C", METTE.phone),
                (2, "Algade 9", "4000", "Roskilde", JONAS.phone),
                (5, "Strandvejen 40", "2900", "Hellerup", KARIN.phone),
            ],
        )
        conn.executemany(
            "INSERT INTO card_payment (member_id, member_no, card_token, card_last4, amount_dkk, paid_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (1, METTE.member_no, "tok_mette_1", "4242", 249, "2025-01-01"),
                (1, METTE.member_no, "tok_mette_1", "4242", 249, "2025-02-01"),
                (5, KARIN.member_no, "tok_karin_1", "1881", 199, "2025-02-01"),
            ],
        )
        conn.execute(
            "INSERT INTO invoice_payment (member_id, billing_email, billing_street, billing_city, account_ref) "
            "VALUES (2, ?, 'Algade 9', 'Roskilde', 'FF-77001')",
            (JONAS.email,),
        )
        conn.executemany(
            "INSERT INTO invoice (member_id, invoice_no, billing_name, total_dkk, issued_at) VALUES (?, ?, ?, ?, ?)",
            [
                (1, "F-2024-0101", "Mette Kjær", 249, "2024-03-01"),
                (1, "F-2025-0102", "Mette Kjær", 249, "2025-02-01"),
                (2, "F-2025-0201", "Jonas Holm", 299, "2025-01-20"),
                (5, "F-2025-0501", "Karin Berg", 199, "2025-02-01"),
            ],
        )
        conn.executemany(
            "INSERT INTO newsletter_signup (member_id, email, signed_up_at) VALUES (?, ?, ?)",
            [(1, METTE.email, "2024-01-05"), (5, KARIN.email, "2023-01-01")],
        )
        conn.executemany(
            "INSERT INTO consent (member_id, consent_key, granted, given_at, withdrawn_at) VALUES (?, ?, ?, ?, NULL)",
            [
                (1, "newsletter", 1, "2024-01-05"),
                (1, "ride_offers", 1, "2024-01-05"),
                # Jonas said no to the newsletter when he signed up: a refusal, not a consent.
                (2, "newsletter", 0, None),
                (5, "newsletter", 1, "2023-01-01"),
            ],
        )
        conn.executemany(
            "INSERT INTO app_event (email, event, device, at) VALUES (?, ?, ?, ?)",
            [
                (METTE.email, "ride_started", "iPhone 14", "2025-03-01T08:00:00"),
                (SOFIE_EMAIL, "app_opened", "Pixel 8", "2025-04-01T10:00:00"),
                (SOFIE_EMAIL, "price_page_viewed", "Pixel 8", "2025-04-01T10:01:00"),
            ],
        )
        conn.execute("INSERT INTO mechanic (name, email) VALUES ('Lars Mekaniker', ?)", (MECHANIC_EMAIL,))
        conn.commit()
    return path


MAP = Template("""
controller:
  name: Pedalen Abonnement ApS
  address: Cykelvej 7, 8000 Aarhus C
  cvr: "87654321"
  email: privacy@pedalen.example
  dpo_email: dpo@pedalen.example

categories:
  identity:
    name: {da: Identitetsoplysninger, en: Identity data}
  contact:
    name: {da: Kontaktoplysninger, en: Contact data}
  financial:
    name: {da: Betalingsoplysninger, en: Payment data}
  transaction:
    name: {da: Transaktionsoplysninger, en: Transaction data}
  usage:
    name: {da: Brugsoplysninger, en: Usage data}
  technical:
    name: {da: Tekniske oplysninger, en: Technical data}
  marketing:
    name: {da: Markedsføringsoplysninger, en: Marketing data}

purposes:
  subscription:
    name: {da: Cykelabonnement og medlemskonto, en: Bike subscription and member account}
    legal_basis: [b]
    retention: {da: Så længe du er medlem og 3 år efter., en: While you are a member and 3 years after.}
    retention_rule: {after: account_deactivated, years: 3}
    categories: [identity, contact, transaction, usage]
  delivery:
    name: {da: Levering og afhentning af cyklen, en: Delivery and collection of the bike}
    legal_basis: [b]
    retention: {da: Så længe du er medlem., en: While you are a member.}
    retention_rule: {after: account_deactivated, days: 0}
    categories: [identity, contact]
  card_payment:
    name: {da: Kortbetaling, en: Card payment}
    legal_basis: [b]
    retention: {da: 13 måneder efter betalingen., en: 13 months after the payment.}
    retention_rule: {after: collected, months: 13}
    categories: [identity, financial, transaction]
  invoice_payment:
    name: {da: Betaling med faktura, en: Payment by invoice}
    legal_basis: [b]
    retention: {da: Til fakturaen er betalt., en: Until the invoice is paid.}
    retention_rule: {after: collected, months: 3}
    categories: [identity, contact, financial, transaction]
  newsletter:
    name: {da: Nyhedsbrev, en: Newsletter}
    legal_basis: [a]
    consent_key: newsletter
    retention: {da: Så længe du abonnerer., en: While you subscribe.}
    retention_rule: {after: consent_withdrawn, days: 0}
    categories: [contact, marketing]
  ride_offers:
    name: {da: Tilbud ud fra dine cykelture, en: Offers based on your rides}
    legal_basis: [a]
    consent_key: ride_offers
    retention: {da: Til du trækker samtykket tilbage., en: Until you withdraw your consent.}
    retention_rule: {after: consent_withdrawn, days: 0}
    profiling: true
    profiling_description:
      da: Vi udleder dine interesser af dine ture og viser dig tilbud hos Meta.
      en: We infer your interests from your rides and show you offers on Meta.
    categories: [contact, usage, marketing]
  app_analytics:
    name: {da: Forbedring af appen, en: Improving the app}
    legal_basis: [f]
    legitimate_interest: {da: At gøre appen bedre., en: Making the app better.}
    retention: {da: 13 måneder., en: 13 months.}
    retention_rule: {after: collected, months: 13}
    categories: [usage, technical]
  bookkeeping:
    name: {da: Bogføring, en: Bookkeeping}
    legal_basis: [c]
    retention: {da: 5 år fra regnskabsårets udgang., en: 5 years from the end of the financial year.}
    retention_rule: {after: end_of_financial_year, years: 5}
    categories: [identity, contact, transaction]

recipients:
  card_acquirer:
    name: Nordisk Kortindløsning A/S
    role: processor
    country: DK
    safeguard: {da: "Ikke nødvendig: inden for EØS", en: "None needed: within the EEA"}
    contact_email: $card_acquirer
    purposes: [card_payment]
  invoice_provider:
    name: Faktura Finans AB
    role: processor
    country: SE
    safeguard: {da: "Ikke nødvendig: inden for EØS", en: "None needed: within the EEA"}
    contact_email: $invoice_provider
    purposes: [invoice_payment]
  courier:
    name: Cykelbud Danmark ApS
    role: processor
    country: DK
    safeguard: {da: "Ikke nødvendig: inden for EØS", en: "None needed: within the EEA"}
    contact_email: $courier
    purposes: [delivery]
  mailer:
    name: Nyhedsmail ApS
    role: processor
    country: DK
    safeguard: {da: "Ikke nødvendig: inden for EØS", en: "None needed: within the EEA"}
    contact_email: $mailer
    purposes: [newsletter]
  meta:
    name: Meta Platforms, Inc.
    role: controller
    country: US
    safeguard:
      da: Tilstrækkelighedsafgørelse (EU-U.S. Data Privacy Framework)
      en: Adequacy decision (EU-U.S. Data Privacy Framework)
    contact_email: $meta
    purposes: [ride_offers]
  lock_partner:
    name: LåsLogik ApS
    role: processor
    country: DK
    safeguard: {da: "Ikke nødvendig: inden for EØS", en: "None needed: within the EEA"}
    contact_email: $lock_partner
    purposes: [subscription]

legal_holds:
  bookkeeping:
    name: {da: Bogføringspligt, en: Bookkeeping obligation}
    law: {da: Bogføringsloven § 10, en: Danish Bookkeeping Act (Bogføringsloven) § 10}
    period_rule: {after: end_of_financial_year, years: 5}
  consent_evidence:
    name: {da: Dokumentation for samtykke, en: Evidence of consent}
    law: {da: "Databeskyttelsesforordningens artikel 7, stk. 1", en: GDPR Article 7(1)}
    period_rule: {after: consent_withdrawn, years: 3}

corrections:
  first_name:
    name: {da: Fornavn, en: First name}
    category: identity
  last_name:
    name: {da: Efternavn, en: Last name}
    category: identity
  phone:
    name: {da: Telefonnummer, en: Telephone number}
    category: contact
  address:
    name: {da: Adresse (vej og husnummer), en: Address (street and number)}
    category: contact
  city:
    name: {da: By, en: Town or city}
    category: contact

sources:
  club:
    name: {da: Medlemssystemet, en: The member system}
    kind: sql
    purposes:
      - subscription
      - delivery
      - card_payment
      - invoice_payment
      - newsletter
      - ride_offers
      - app_analytics
      - bookkeeping
    # The payment processors are the source's recipients; each receives only from the tables of its purpose.
    recipients: [card_acquirer, invoice_provider]
    origin:
      da: Fra dig, da du blev medlem, og fra din brug af appen.
      en: From you when you joined, and from your use of the app.
    provided_by_subject: [member, address, card_payment, invoice_payment, newsletter_signup, consent, app_event]
    url: sqlite:///$club_path
    tables:
      member:
        purposes: [subscription, ride_offers]
        identifiers: {email: email, phone: phone, customer_number: member_no}
        categories:
          member_no: identity
          first_name: identity
          last_name: identity
          email: contact
          phone: contact
          joined_at: transaction
        erasure:
          strategy: anonymise
          fields: {first_name: redact, last_name: redact, email: hash, phone: clear}
        rectify: {first_name: first_name, last_name: last_name, phone: phone}
      address:
        purposes: [subscription, delivery]
        recipients: [courier]
        link: {table: member, columns: {member_id: id}}
        identifiers: {phone: phone}
        categories: {street: contact, postal_code: contact, city: contact, phone: contact}
        erasure: {strategy: delete}
        rectify: {address: street, city: city}
      card_payment:
        purposes: [card_payment]
        link: {table: member, columns: {member_id: id}}
        identifiers: {customer_number: member_no}
        categories:
          member_no: identity
          card_token: financial
          card_last4: financial
          amount_dkk: transaction
          paid_at: transaction
        erasure: {strategy: delete}
      invoice_payment:
        purposes: [invoice_payment]
        link: {table: member, columns: {member_id: id}}
        identifiers: {email: billing_email}
        categories: {billing_email: contact, billing_street: contact, billing_city: contact, account_ref: financial}
        erasure: {strategy: delete}
        rectify: {address: billing_street, city: billing_city}
      invoice:
        purposes: [bookkeeping]
        recipients: []
        link: {table: member, columns: {member_id: id}}
        categories: {invoice_no: transaction, billing_name: identity, total_dkk: transaction, issued_at: transaction}
        erasure: {strategy: keep, hold: bookkeeping, date_column: issued_at, after_hold: delete}
      newsletter_signup:
        purposes: [newsletter]
        recipients: [mailer]
        identifiers: {email: email}
        link: {table: member, columns: {member_id: id}}
        categories: {email: contact, signed_up_at: marketing}
        erasure: {strategy: delete}
      consent:
        purposes: [newsletter, ride_offers]
        link: {table: member, columns: {member_id: id}}
        categories: {consent_key: marketing, granted: marketing, given_at: marketing, withdrawn_at: marketing}
        erasure: {strategy: keep, hold: consent_evidence, date_column: withdrawn_at, after_hold: delete}
        consent: {key_column: consent_key, state_column: granted, withdrawn_at_column: withdrawn_at}
      app_event:
        purposes: [app_analytics]
        identifiers: {email: email}
        categories: {email: contact, event: usage, device: technical, at: usage}
        erasure: {strategy: delete}
      mechanic:
        # The workshop's own staff: no purpose of its own, so the source's.
        identifiers: {email: email}
        categories: {name: identity, email: contact}
        erasure: {strategy: delete}

  locks:
    name: {da: Smartlåse og GPS (LåsLogik), en: Smart locks and GPS (LåsLogik)}
    kind: http
    purposes: [subscription]
    recipients: [lock_partner]
    origin: {da: Fra låsen på din cykel., en: From the lock on your bike.}
    provided_by_subject: []
    url: $lock_url
    secret: $lock_secret
    retries: 0
    backoff_seconds: 0.01
    timeout_seconds: 3
    identities:
      - {type: controller_customer_id, format: raw}
    request_types: [access, erasure]
    categories:
      audience: {email_sha256: identity, segment: usage}

  workshop:
    name: {da: Værkstedets servicebog, en: The workshop's service log}
    kind: manual
    purposes: [subscription]
    origin: {da: "Fra værkstedet, når din cykel er til service.", en: "From the workshop, when your bike is serviced."}
    provided_by_subject: []
    owner: Værkstedschef
    categories: [identity, contact, usage]
    instructions:
      access:
        da: Find personens servicekort i bogen og upload en kopi.
        en: Find the person's service cards in the log and upload a copy.
      erasure:
        da: Overstreg personens navn og telefonnummer i servicebogen og bekræft det.
        en: Strike the person's name and phone number out of the service log and confirm it.
      rectification:
        da: Ret personens oplysninger i servicebogen.
        en: Correct the person's details in the service log.
""")


@dataclass
class Company:
    club: Path
    processor: Processor

    def rows(self, sql: str, *params) -> list[tuple]:
        """Return the rows of a query on the member system."""
        with closing(sqlite3.connect(self.club)) as conn:
            return conn.execute(sql, params).fetchall()


def company_load(tmp_path: Path, processor: Processor) -> Company:
    """Build the member system, let the lock partner know the members, and load the map as the active one."""
    club = club_build(tmp_path / "pedalen.sqlite3")
    processor.audience |= {METTE.member_no, JONAS.member_no, KARIN.member_no}
    text = MAP.substitute(
        club_path=club,
        lock_url=processor.url,
        lock_secret=SECRET,
        card_acquirer=CARD_ACQUIRER,
        invoice_provider=INVOICE_PROVIDER,
        courier=COURIER,
        mailer=MAILER,
        meta=META,
        lock_partner=LOCK_PARTNER,
    )
    datamap_load(text=text, loaded_by="test")
    return Company(club=club, processor=processor)

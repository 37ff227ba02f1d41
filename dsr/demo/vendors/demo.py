"""The demo's vendors: their stand-ins served under /demo/processor/vendors/<vendor>/, holding the shop's customers.

The demo map's `saas` sources (chats in Genesys Cloud, payments in Stripe,
the newsletter in Mailchimp) point there. The documents are kept in
VAR_DIR/demo/vendors.sqlite3, shared by the web processes.
"""

import sqlite3
from contextlib import closing
from pathlib import Path

from django.conf import settings

from dsr.demo.vendors.base import SqliteStore, VendorFake
from dsr.demo.vendors.genesys_cloud import GenesysCloudFake
from dsr.demo.vendors.mailchimp import MailchimpFake
from dsr.demo.vendors.stripe import StripeFake

VENDORS: dict[str, type[VendorFake]] = {
    "genesys_cloud": GenesysCloudFake,
    "mailchimp": MailchimpFake,
    "stripe": StripeFake,
}


def vendors_path() -> Path:
    return Path(settings.VAR_DIR) / "demo" / "vendors.sqlite3"


def vendor_fake(vendor: str, *, url: str) -> VendorFake | None:
    """Return the demo's stand-in of ``vendor`` served at ``url``, on the demo's documents, or None."""
    cls = VENDORS.get(vendor)
    if cls is None:
        return None
    fake = cls(SqliteStore(vendors_path(), vendor))
    fake.url = url
    return fake


def demo_vendors_build(shop_path: Path) -> dict[str, int]:
    """Fill the vendors with the shop's customers: all pay with Stripe, some chatted, subscribers get the newsletter."""
    with closing(sqlite3.connect(shop_path)) as shop:
        customers = shop.execute(
            "SELECT id, first_name || ' ' || last_name, email, phone FROM customer ORDER BY id"
        ).fetchall()
        subscribers = {
            row[0] for row in shop.execute("SELECT customer_id FROM consent WHERE purpose = 'newsletter' AND granted")
        }
    # Built in memory, then written in one transaction per vendor.
    stripe, mailchimp, genesys = StripeFake(), MailchimpFake(), GenesysCloudFake()
    counts = dict.fromkeys(VENDORS, 0)
    for customer_id, name, email, phone in customers:
        stripe.add_customer(f"cus_demo{customer_id:06d}", email=email, name=name, charges=3, payment_methods=1)
        counts["stripe"] += 1
        # The first customer is in every system, so the demo's sample person has something everywhere.
        if customer_id in subscribers or customer_id == 1:
            mailchimp.add_member(email, name=name, activity=12, notes=1 if customer_id % 5 == 1 else 0)
            counts["mailchimp"] += 1
        if customer_id % 3 == 1:
            genesys.add_contact(f"ext-demo-{customer_id}", name=name, email=email, phone=phone or "", interactions=4)
            counts["genesys_cloud"] += 1
    for fake in (stripe, mailchimp, genesys):
        SqliteStore(vendors_path(), fake.name).replace(fake.store)
    return counts

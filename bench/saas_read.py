"""A 1,000-record paginated read through the saas connector, against the same read made with bare HTTP calls.

The Stripe stand-in (dsr/demo/vendors/stripe.py) is served on a local port
with one person: a customer with 1,000 charges (ten pages of 100) and a card.
The connector reads everything the Stripe entry describes (the search, the
customer, ten pages of charges, the cards) and yields a Record per item; the
baseline makes the same thirteen calls with one requests.Session and parses
each answer, and nothing else. Both run in this process, one after the other,
``--runs`` times; the median of each is compared.

    .venv/bin/python bench/saas_read.py --runs 15

Target: the connector within 2x the time of the raw HTTP calls.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import requests  # noqa: E402

from dsr.datamap.parsing import datamap_parse  # noqa: E402
from dsr.demo.vendors.base import serve  # noqa: E402
from dsr.demo.vendors.stripe import API_KEY, StripeFake  # noqa: E402
from dsr.sources.saas.connector import SaasConnector  # noqa: E402

EMAIL = "bench@example.dk"
CUSTOMER = "cus_bench0001"
MAP = """
controller: {name: Bench ApS, address: Benchvej 1, cvr: "12345678", email: privacy@bench.example}
categories: {identity: {name: {da: Identitet, en: Identity}}, contact: {name: {da: Kontakt, en: Contact}},
  financial: {name: {da: Økonomi, en: Financial}}, transaction: {name: {da: Køb, en: Purchases}}}
purposes:
  payment: {name: {da: Betaling, en: Payment}, legal_basis: [b], retention: {da: 3 år, en: 3 years},
    retention_rule: {after: account_deactivated, months: 36}}
legal_holds:
  bookkeeping: {name: {da: Bogføring, en: Bookkeeping}, law: Bogføringsloven § 10,
    period_rule: {after: end_of_financial_year, years: 5}}
recipients: {}
sources:
  payments:
    name: Stripe
    kind: saas
    purposes: [payment]
    origin: {da: Fra dig, en: From you}
    system: stripe
    url: URL
    secrets: {api_key: "${env:BENCH_STRIPE_KEY}"}
    rate_limit: {per_second: 100000}
"""


def _raw(url: str) -> int:
    """Make the thirteen calls the Stripe entry makes, parse each answer, and count the items."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {API_KEY}", "Stripe-Version": "2024-06-20", "Accept": "application/json"}
    count = 0
    found = session.get(
        f"{url}/v1/customers/search", params={"query": f"email:'{EMAIL}'", "limit": 100}, headers=headers
    ).json()
    for customer in found["data"]:
        session.get(f"{url}/v1/customers/{customer['id']}", headers=headers).json()
        count += 1
        after = None
        while True:
            params = {"customer": customer["id"], "limit": 100, **({"starting_after": after} if after else {})}
            page = session.get(f"{url}/v1/charges", params=params, headers=headers).json()
            count += len(page["data"])
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        cards = session.get(
            f"{url}/v1/customers/{customer['id']}/payment_methods", params={"limit": 100}, headers=headers
        )
        count += len(cards.json()["data"])
    return count


def _connector(datamap) -> int:
    """Read through a fresh connector, as a job does (the map was parsed and loaded before)."""
    connector = SaasConnector(datamap.sources["payments"], datamap)
    return sum(1 for _ in connector.records({"email": {EMAIL}}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    os.environ["BENCH_STRIPE_KEY"] = API_KEY
    fake = StripeFake()
    fake.add_customer(CUSTOMER, email=EMAIL, name="Bench Person", charges=1000, payment_methods=1)
    server = serve(fake)
    datamap = datamap_parse(MAP.replace("URL", fake.url))
    try:
        assert _raw(fake.url) == _connector(datamap) == 1002, "both reads must see the same records"
        raw, engine = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            _raw(fake.url)
            raw.append(time.perf_counter() - start)
            start = time.perf_counter()
            _connector(datamap)
            engine.append(time.perf_counter() - start)
    finally:
        server.shutdown()
        server.server_close()
    raw_median, engine_median = statistics.median(raw), statistics.median(engine)
    print(f"records per read: 1002 (1 customer, 1000 charges in 10 pages, 1 card); {len(fake.calls)} calls served")
    print(f"raw HTTP calls:  median {raw_median * 1000:.1f} ms (min {min(raw) * 1000:.1f})")
    print(f"saas connector:  median {engine_median * 1000:.1f} ms (min {min(engine) * 1000:.1f})")
    ratio = engine_median / raw_median
    print(f"ratio: {ratio:.2f} (target <= 2.00: {'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()

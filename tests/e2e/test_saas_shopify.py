"""A real worker asks Shopify (a `saas` source) to erase a customer, and dsr says it asked, not that it is done.

The company is the engine's test company with its web shop's customers in
Shopify, reached through the Shopify catalogue entry at the Shopify stand-in
served on a local port by this test process. Shopify's erasure request has
no status to ask for: the job finishes when Shopify accepts it, and what the
request's outcome says is that Shopify was asked and has not confirmed.
"""

import pytest

from dsr.audit import Actor
from dsr.datamap.selectors import datamap_active
from dsr.demo.vendors.base import serve
from dsr.demo.vendors.shopify import TOKEN, ShopifyFake
from dsr.models import Job, JobStatus, Operation, Status
from dsr.rights.base import request_plan_approve
from dsr.rights.outcome import ASKED, PROCESSOR, source_outcome
from tests.e2e.test_worker_jobs import _file, _reconcile_until, _status, engine_env, worker  # noqa: F401
from tests.rights.conftest import PERSON, Company, company_load, company_map_load
from tests.sources.conftest import chinook_sqlite  # noqa: F401  (the fixture, reused)
from tests.sources.http.processor import Processor, processor  # noqa: F401  (the fixture, reused)


@pytest.fixture
def shopify():
    fake = ShopifyFake()
    fake.add_customer(8001, email=PERSON, first_name="Luís", last_name="Gonçalves", orders=[(9801, "2026-01-05", "50")])
    fake.add_customer(8002, email="other@example.dk", first_name="Other", last_name="Person")
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def company(worker, tmp_path, chinook_sqlite, processor: Processor, shopify) -> Company:
    """Return the test company with its chats source replaced by its Shopify shop, as the worker's data map."""
    company = company_load(tmp_path, chinook_sqlite, processor)

    def shop_in_shopify(document: dict) -> None:
        chats = document["sources"]["chats"]
        document["sources"]["chats"] = {
            **{key: chats[key] for key in ("name", "purposes", "recipients", "origin")},
            "kind": "saas",
            "system": "shopify",
            "url": shopify.url,
            "secrets": {"access_token": "${env:TEST_SHOPIFY_TOKEN:-" + TOKEN + "}"},
            "settings": {"shop": "testfirma"},
            "retries": 0,
            "rate_limit": {"per_second": 100},
        }

    company_map_load(company, shop_in_shopify)
    return company


def test_shopifys_acceptance_of_the_erasure_request_is_reported_as_asked_not_done(worker, company, shopify, wait_until):
    request = _file("erasure")
    wait_until(lambda: _status(request) == Status.AWAITING_APPROVAL, timeout=60, what="the plan")
    request_plan_approve(request=request, actor=Actor.system())
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=120)

    job = Job.objects.get(request=request, source_key="chats", operation=Operation.ERASURE)
    assert job.status == JobStatus.DONE
    customers, orders = job.result["facts"]
    assert (customers["action"], customers["changed"], customers["confirmed"]) == ("request", 1, None)
    assert customers["reference"] == "gid://shopify/Customer/8001"
    assert (orders["action"], orders["kept"], orders["hold"]) == ("keep", 1, "bookkeeping")
    assert [item["customer_id"] for item in shopify.store.items("erasures")] == [8001]
    assert len(shopify.calls_to("POST", "/admin/api/2025-01/graphql.json")) == 1
    outcome = source_outcome(job, datamap_active())
    assert outcome.state == ASKED
    assert [(line.kind, line.confirmed) for line in outcome.lines if line.kind == PROCESSOR] == [(PROCESSOR, None)]

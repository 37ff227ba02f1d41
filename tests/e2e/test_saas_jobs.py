"""A real worker erases a person in Genesys Cloud (a `saas` source) through a kill while it polls the system's job.

The company is the engine's test company with its chat system reached through
the Genesys Cloud catalogue entry, at the Genesys stand-in served on a local
port by this test process. The worker is killed while it waits for a poll's
answer; the worker started after it polls the same Genesys request (its id
was kept on the job's row), and sends no second one.
"""

import signal
import threading
import time

import pytest

from dsr.audit import Actor
from dsr.demo.vendors.base import serve
from dsr.demo.vendors.genesys_cloud import CLIENT_ID, CLIENT_SECRET, GenesysCloudFake
from dsr.models import Job, JobStatus, Operation, Status
from dsr.rights.base import request_plan_approve
from tests.e2e.test_worker_jobs import _file, _reconcile_until, _status, engine_env, worker  # noqa: F401
from tests.rights.conftest import PERSON, Company, company_load, company_map_load
from tests.sources.conftest import chinook_sqlite  # noqa: F401  (the fixture, reused)
from tests.sources.http.processor import Processor, processor  # noqa: F401  (the fixture, reused)


@pytest.fixture
def genesys():
    fake = GenesysCloudFake(polls_until_done=2)
    fake.add_contact("ext-luis", name="Luís Gonçalves", email=PERSON, phone="+551232413535", interactions=3)
    fake.add_contact("ext-other", name="Other Person", email="other@example.dk", phone="+4587654321", interactions=2)
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def company(worker, tmp_path, chinook_sqlite, processor: Processor, genesys) -> Company:
    """Return the test company with its chats in Genesys Cloud, as the worker's data map."""
    company = company_load(tmp_path, chinook_sqlite, processor)

    def chats_in_genesys(document: dict) -> None:
        chats = document["sources"]["chats"]
        document["sources"]["chats"] = {
            **{key: chats[key] for key in ("name", "purposes", "recipients", "origin")},
            "kind": "saas",
            "system": "genesys_cloud",
            "url": genesys.url,
            "token_url": f"{genesys.url}/oauth/token",
            "secrets": {
                "client_id": "${env:TEST_GENESYS_CLIENT_ID:-" + CLIENT_ID + "}",
                "client_secret": "${env:TEST_GENESYS_CLIENT_SECRET:-" + CLIENT_SECRET + "}",
            },
            "settings": {"region": "mypurecloud.de"},
            "jobs": {"wait_seconds": 30, "interval_seconds": 0.2},
            "retries": 0,
            "rate_limit": {"per_second": 100},
        }

    company_map_load(company, chats_in_genesys)
    return company


def test_a_worker_killed_while_polling_genesys_is_followed_by_one_that_polls_the_same_request(
    worker,
    company,
    genesys,
    wait_until,
):
    polling = threading.Event()
    read = genesys.request_read

    def slow_first_poll(call, request_id):
        if not polling.is_set():
            polling.set()
            time.sleep(6)  # the worker is killed while it waits for this answer
        return read(call, request_id)

    genesys.request_read = slow_first_poll
    request = _file("erasure")
    wait_until(lambda: _status(request) == Status.AWAITING_APPROVAL, timeout=60, what="the plan")
    request_plan_approve(request=request, actor=Actor.system())
    assert polling.wait(timeout=60), "Genesys was never polled"

    worker.kill(signal.SIGKILL)
    job = Job.objects.get(request=request, source_key="chats", operation=Operation.ERASURE)
    assert job.status == JobStatus.RUNNING
    submitted = genesys.store.items("requests")
    assert len(submitted) == 1
    assert list(job.state.values()) == [{"id": submitted[0]["id"]}]  # kept before the first poll
    worker.start()
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=120)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.attempts == 2
    assert len(genesys.calls_to("POST", "/api/v2/gdpr/requests")) == 1
    fact = job.result["facts"][0]
    assert (fact["action"], fact["confirmed"], fact["reference"]) == ("request", True, submitted[0]["id"])
    assert genesys.interactions("ext-luis") == []
    assert len(genesys.interactions("ext-other")) == 2

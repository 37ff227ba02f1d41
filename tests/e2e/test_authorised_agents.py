"""An authorised agent files a Californian's request on the portal, with a real worker (CCPA regs § 7063).

The agent files a request to limit the use of sensitive personal information for Maria (the shop of
tests/e2e/test_limit_sensitive.py), confirms their address by the link the worker emailed them; the worker emails
Maria, in Danish, who asks what; Maria confirms; the privacy team accepts the signed permission; the worker carries
the limit through the shop. Maria gets the answer, the agent a notice that says how it ended and nothing of Maria's.
A refused filing tells both why.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dsr.audit import Actor
from dsr.models import AuditAction, AuditEvent, Request, Status
from dsr.workflow import agent_filing_accept, agent_filing_refuse
from tests.e2e.test_limit_sensitive import EMAIL, _consents, map_load, shop_build
from tests.e2e.test_truthful_outcomes import messages_all_sent, reach, sent_to_person, text
from tests.e2e.test_worker_jobs import engine_env  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.e2e

AGENT = "pat@agents.example"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n% signed: Maria Lopez\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def worker(engine_env, celery_worker_process):
    return celery_worker_process


@pytest.fixture
def team(django_user_model) -> Actor:
    return Actor.staff(django_user_model.objects.create_user("lead"))


def _file(portal: Client, **fields) -> Request:
    page = portal.get("/agent/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {
        "agent_name": "Pat Agent",
        "agent_email": AGENT,
        "consumer_name": "Maria Lopez",
        "consumer_email": EMAIL,
        "consumer_language": "da",
        "kind": "limit",
        "document": SimpleUploadedFile("permission.pdf", PDF),
        "form_token": token,
        **fields,
    }
    assert portal.post("/agent/", data).status_code == 200
    return Request.objects.get(email=EMAIL)


def _mail_to(worker, address: str, wait_until, count: int = 1) -> list:
    wait_until(lambda: len([m for m in worker.outbox() if m["To"] == address]) >= count, timeout=60, what=address)
    return [m for m in worker.outbox() if m["To"] == address]


def _link(message, path: str) -> str:
    return re.search(rf"https?://[^/\s]+({path}[^/\s]+/)", text(message)).group(1)


def test_an_agents_limit_is_confirmed_by_both_accepted_and_carried_out_for_the_consumer(
    worker, tmp_path, wait_until, team
):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop)
    portal = Client(HTTP_ACCEPT_LANGUAGE="en")
    request = _file(portal)
    assert request.jurisdiction == "us-ca"

    [verification] = _mail_to(worker, AGENT, wait_until)
    assert portal.post(_link(verification, "/agent/confirm/")).status_code == 200
    [asked] = _mail_to(worker, EMAIL, wait_until)
    words = " ".join(text(asked).split())
    assert "En befuldmægtiget, Pat Agent" in words
    assert "Ret til at begrænse brugen af følsomme personoplysninger" in words

    consumer = Client(HTTP_ACCEPT_LANGUAGE="da")
    assert consumer.post(_link(asked, "/agent/permission/")).status_code == 200
    assert Request.objects.get(pk=request.pk).status == Status.AWAITING_APPROVAL
    assert _consents(shop) == [("diet_offers", 1), ("newsletter", 1)]  # nothing before the team accepts

    agent_filing_accept(request=request, actor=team)
    reach(request, Status.COMPLETED, wait_until)
    assert _consents(shop) == [("diet_offers", 0), ("newsletter", 1)]

    messages_all_sent(request, wait_until)
    answer = " ".join(text(sent_to_person(worker, request, "completed", wait_until)).split())
    assert "Kosttilbud fra partnere" in answer
    to_agent = [" ".join(text(m).split()) for m in worker.outbox() if m["To"] == AGENT]
    assert any("accepted your proof of authority" in body for body in to_agent)
    closed = [body for body in to_agent if "is closed" in body]
    assert len(closed) == 1
    assert "Completed" in closed[0]
    for body in to_agent:
        assert EMAIL not in body
        assert "Maria" not in body
        assert "Diet offers" not in body
        assert "Kosttilbud" not in body
    actions = set(AuditEvent.objects.filter(request=request).values_list("action", flat=True))
    assert {
        AuditAction.AGENT_FILED,
        AuditAction.AGENT_CONFIRMED,
        AuditAction.AGENT_CONSUMER_CONFIRMED,
        AuditAction.AGENT_ACCEPTED,
    } <= actions


def test_a_refused_filing_tells_the_consumer_and_the_agent_why_and_changes_nothing(worker, tmp_path, wait_until, team):
    shop = shop_build(tmp_path / "shop.sqlite3")
    map_load(shop)
    portal = Client(HTTP_ACCEPT_LANGUAGE="en")
    request = _file(portal, consumer_language="en")
    [verification] = _mail_to(worker, AGENT, wait_until)
    assert portal.post(_link(verification, "/agent/confirm/")).status_code == 200
    _mail_to(worker, EMAIL, wait_until)

    reasons = "The permission is signed by someone other than the consumer."
    agent_filing_refuse(request=request, reasons=reasons, actor=team)
    assert Request.objects.get(pk=request.pk).status == Status.REFUSED
    messages_all_sent(request, wait_until)
    refusal = " ".join(text(sent_to_person(worker, request, "refused", wait_until)).split())
    assert reasons in refusal
    notices = [" ".join(text(m).split()) for m in _mail_to(worker, AGENT, wait_until, count=2)]
    assert any(reasons in body and "§ 7063(b)" in body for body in notices)
    assert _consents(shop) == [("diet_offers", 1), ("newsletter", 1)]

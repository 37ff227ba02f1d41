"""The restriction's lifecycle with a real worker: the lift follows the notice, objections keep their interim stop.

The company is the demo shop, a Chinook copy, the chat system run by hand and
the OpenGDPR ad partner (tests/rights/conftest.py). The privacy team acts
through the dashboard and the API as they would; the worker sends every email
and runs every job, and the tests read what it sent and what the sources hold.
"""

import pytest
from rest_framework.test import APIClient

from dsr import tasks
from dsr.apikeys import apikey_create
from dsr.audit import Actor
from dsr.engine.manual import manual_task_complete
from dsr.models import (
    ApiScope,
    AuditAction,
    JobStatus,
    ManualTask,
    ManualTaskStatus,
    Message,
    MessageStatus,
    NotificationChannel,
    NotificationStatus,
    Operation,
    RecipientNotification,
    Request,
    Status,
)
from dsr.restrictions import OBJECTION_UPHELD, restriction_check
from dsr.rights.objection import OBJECTION_PENDING, objection_decide
from dsr.rights.restriction import restrictions_lift_due
from dsr.workflow import request_submit
from tests.e2e.test_worker_jobs import engine_env  # noqa: F401  (the fixture, reused)
from tests.rights.conftest import PERSON, Company, company_load, company_map_load, shop_rows
from tests.sources.conftest import chinook_sqlite  # noqa: F401  (the fixture, reused)
from tests.sources.http.processor import Processor, processor  # noqa: F401  (the fixture, reused)
from tests.views.conftest import agent, roles, verified_client  # noqa: F401  (the fixtures, reused)

pytestmark = pytest.mark.e2e


@pytest.fixture
def worker(engine_env, celery_worker_process):
    return celery_worker_process


@pytest.fixture
def company(worker, tmp_path, chinook_sqlite, processor: Processor) -> Company:
    """Return the test company as the worker's map; Genesys has no contact address, so staff tell it by hand."""
    company = company_load(tmp_path, chinook_sqlite, processor)
    company_map_load(company, lambda document: document["recipients"]["genesys"].pop("contact_email"))
    return company


def _file(right: str, *, language: str, **details) -> Request:
    return request_submit(
        right=right,
        email=PERSON,
        actor=Actor.integration("shop"),
        language=language,
        details=details,
        pre_verified=True,
    ).request


def _status(request: Request) -> str:
    return Request.objects.values_list("status", flat=True).get(pk=request.pk)


def _tasks_finish(request: Request, wait_until, *, operation: str) -> None:
    """Wait until every job of ``operation`` ran (those worked by hand wait for a person), then attest each task."""

    def settled() -> bool:
        jobs = request.jobs.filter(operation=operation)
        return jobs.exists() and not jobs.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists()

    wait_until(settled, timeout=60, what=f"the {operation} jobs run")
    for task in ManualTask.objects.filter(request=request, operation=operation, status=ManualTaskStatus.OPEN):
        manual_task_complete(task=task, finding="done", attestation="Done in the system", actor=Actor.system())


def _reach(request: Request, status: str, wait_until) -> None:
    def reached() -> bool:
        if _status(request) == status:
            return True
        tasks.jobs_reconcile.delay()
        return False

    wait_until(reached, timeout=90, interval=1.0, what=f"request {status}")


def _sent(worker, request: Request, kind: str, wait_until):
    """Return the email of ``kind`` the worker sent the person about ``request``, once it has gone out."""

    def find():
        message = Message.objects.filter(request=request, kind=kind, status=MessageStatus.SENT).first()
        if message is None:
            return None
        subject = " ".join(message.subject.split())
        found = [m for m in worker.outbox() if m["To"] == PERSON and " ".join(m["Subject"].split()) == subject]
        return (message, found[-1].get_body(preferencelist=("plain",)).get_content()) if found else None

    return wait_until(find, timeout=60, what=f"the {kind} email")


def _restricted(company: Company, wait_until, *, language: str) -> Request:
    """Return a restriction of PERSON carried out in every source, closed with its letter sent."""
    request = _file("restriction", language=language, ground="accuracy_contested")
    _tasks_finish(request, wait_until, operation=Operation.RESTRICTION)
    _reach(request, Status.COMPLETED, wait_until)
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(1,)]
    assert restriction_check(PERSON, "newsletter")
    return request


def _lifted_everywhere(company: Company, request: Request, notice: Message, wait_until) -> None:
    """Wait for the lift, and check it took effect after the notice went out, in the register and every source."""
    wait_until(lambda: not restriction_check(PERSON, "newsletter"), timeout=60, what="the register lifted")
    for entry in request.restrictions.all():
        assert entry.subject_told_at == notice.sent_at
        assert entry.lifted_at >= notice.sent_at
    _tasks_finish(request, wait_until, operation=Operation.RESTRICTION_LIFT)
    wait_until(
        lambda: not request.jobs.filter(operation=Operation.RESTRICTION_LIFT).exclude(status=JobStatus.DONE).exists(),
        timeout=60,
        what="every source's lift done",
    )
    assert set(request.jobs.filter(operation=Operation.RESTRICTION_LIFT).values_list("source_key", flat=True)) == {
        "shop",
        "chats",
        "adpartner",
        "chinook",
    }
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(0,)]
    actions = list(request.audit_events.order_by("seq").values_list("action", flat=True))
    scheduled = actions.index(AuditAction.RESTRICTION_LIFT_SCHEDULED)
    assert (
        scheduled < actions.index(AuditAction.RESTRICTION_SUBJECT_TOLD) < actions.index(AuditAction.RESTRICTION_LIFTED)
    )


# --- The lift: from the dashboard (English) and the API (Danish) --------------------------------------------


def test_a_lift_from_the_dashboard_takes_effect_after_the_english_notice_and_genesys_is_confirmed_by_hand(
    worker, company, agent, wait_until
):
    request = _restricted(company, wait_until, language="en")
    _message, letter = _sent(worker, request, "completed", wait_until)
    # Genesys has no address: the privacy team tells it, and until they record it the letter says so.
    assert "Our privacy team is telling these recipients" in letter
    genesys = RecipientNotification.objects.get(request=request, recipient_key="genesys")
    assert (genesys.channel, genesys.status) == (NotificationChannel.MANUAL, NotificationStatus.PENDING)

    client = verified_client(agent)
    page = client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "Record as told" in page
    assert "Lift the restriction" in page
    client.post(
        f"/dashboard/requests/{request.pk}/notice_told/",
        {"notice_told-seen": "x", "notice_told-notification": genesys.pk, "notice_told-note": "Phoned their DPO."},
    )
    genesys.refresh_from_db()
    assert (genesys.status, genesys.confirmed_by, genesys.note) == (NotificationStatus.SENT, agent, "Phoned their DPO.")
    assert "recorded by agent" in client.get(f"/dashboard/requests/{request.pk}/").content.decode()

    response = client.post(
        f"/dashboard/requests/{request.pk}/lift/",
        {"lift-seen": "x", "lift-reasons": "The data was verified as accurate."},
        follow=True,
    )
    assert "the restriction is lifted as soon as the notice has been sent" in response.content.decode()

    notice, body = _sent(worker, request, "restriction_lift", wait_until)
    assert "We must tell you before the restriction is lifted (Article 18(3)" in body
    assert "The data was verified as accurate." in body
    _lifted_everywhere(company, request, notice, wait_until)
    page = client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert "after the requester was told." in page


def test_a_lift_through_the_api_tells_the_person_in_danish_first(worker, company, wait_until):
    request = _restricted(company, wait_until, language="da")
    token = apikey_create(name="shop", scopes=[ApiScope.REQUESTS_ACT], actor=Actor.system()).token
    api = APIClient(HTTP_ACCEPT_LANGUAGE="da")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api.post(
        f"/api/v1/requests/{request.reference}/actions/lift-restriction/",
        {"reasons": "Oplysningerne er bekræftet som korrekte."},
        format="json",
    )
    assert response.status_code == 200
    again = api.post(
        f"/api/v1/requests/{request.reference}/actions/lift-restriction/", {"reasons": "Igen."}, format="json"
    )
    assert again.status_code == 409

    notice, body = _sent(worker, request, "restriction_lift", wait_until)
    assert "Vi skal fortælle dig det, før begrænsningen ophæves" in body
    assert "Begrænsningen ophæves snart." in body
    assert "Oplysningerne er bekræftet som korrekte." in body
    assert "restriction" not in body.lower()
    _lifted_everywhere(company, request, notice, wait_until)


# --- An objection to purposes the person ticked -------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "name", "refused_words"),
    [
        ("en", "Customer service and enquiries", "Your options (Article 12(4)"),
        ("da", "Kundeservice og henvendelser", "Dine muligheder (databeskyttelsesforordningens artikel 12, stk. 4)"),
    ],
)
def test_an_objection_to_a_ticked_purpose_stays_restricted_by_its_key_until_the_refusal_letter_went_out(
    worker, company, agent, wait_until, language, name, refused_words
):
    # The portal offers the map's purposes based on legitimate interests, by their names in the person's language.
    form = verified_client(agent).get("/request/objection/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'value="customer_service"' in form
    assert name in form
    assert 'value="purchase"' not in form  # a contract (Art. 6(1)(b)) cannot be objected to under Art. 21(1)

    request = _file("objection", language=language, scope="purpose", purposes=["customer_service"], grounds="I moved.")
    _reach(request, Status.AWAITING_APPROVAL, wait_until)
    assert set(request.restrictions.values_list("ground", "purpose")) == {(OBJECTION_PENDING, "customer_service")}
    assert restriction_check(PERSON, "customer_service")
    assert not restriction_check(PERSON, "purchase")

    objection_decide(request=request, upheld=False, reasons="We must answer your open complaint.", actor=Actor.system())
    letter, body = _sent(worker, request, "refused", wait_until)
    assert "open complaint" in body
    assert refused_words in body
    wait_until(lambda: not restriction_check(PERSON, "customer_service"), timeout=60, what="the interim lift")
    for entry in request.restrictions.all():
        assert entry.lifted_at >= letter.sent_at
        assert entry.subject_told_at == letter.sent_at


def test_an_upheld_danish_objection_keeps_the_ticked_purpose_stopped_for_good(worker, company, wait_until):
    request = _file(
        "objection", language="da", scope="purpose", purposes=["customer_service"], grounds="Jeg er flyttet."
    )
    _reach(request, Status.AWAITING_APPROVAL, wait_until)

    objection_decide(request=request, upheld=True, reasons="Dine grunde vejer tungest.", actor=Actor.system())
    _message, body = _sent(worker, request, "completed", wait_until)
    assert "Dine grunde vejer tungest." in body
    # The stop is for good: the sweep that lifts restrictions after their letters leaves it, and only the
    # purpose ticked is stopped.
    restrictions_lift_due()
    assert set(request.restrictions.filter(lifted_at__isnull=True).values_list("ground", "purpose")) == {
        (OBJECTION_UPHELD, "customer_service")
    }
    assert restriction_check(PERSON, "customer_service")
    assert not restriction_check(PERSON, "purchase")

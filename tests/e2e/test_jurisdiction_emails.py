"""A real Celery worker sends the emails two laws ask for besides the answer itself.

California (CCPA regs § 7021(a)): a request to know whose requester never confirms the address is still
confirmed as received, by the email asking them to confirm it, and the request records when that email went
out. Brazil (LGPD Art. 19 I): an access request is told at once whether data was found, when the sources have
been searched, and never again when the work goes on.
"""

import pytest
from rest_framework.test import APIClient

from dsr.audit import Actor
from dsr.models import AuditAction, AuditEvent, Message, MessageStatus, Request, Status
from dsr.workflow import request_submit
from tests.e2e.test_worker_jobs import _reconcile_until, _tasks_finish, company, engine_env, worker  # noqa: F401
from tests.rights.conftest import PERSON, company_map_load
from tests.sources.conftest import chinook_sqlite  # noqa: F401  (the fixture, reused)
from tests.sources.http.processor import processor  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.e2e


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_californian_who_never_confirms_is_told_of_receipt_and_the_request_records_when(
    celery_worker_process, wait_until
):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    filed = api.post(
        "/api/v1/requests/",
        {"right": "erasure", "email": "consumer@example.com", "language": "en", "jurisdiction": "us-ca"},
        format="json",
    )
    assert filed.status_code == 201, filed.content
    reference = filed.json()["reference"]

    wait_until(lambda: celery_worker_process.outbox(), timeout=60, what="the email asking to confirm the address")
    [sent] = celery_worker_process.outbox()
    text = _text(sent)
    assert sent["To"] == "consumer@example.com"
    assert "We received your request on" in text
    assert "will answer by" in text
    assert "How we handle your request (Cal. Code Regs. tit. 11, § 7021(a))" in text
    assert "first we verify that it comes from you" in text

    wait_until(
        lambda: Request.objects.get(reference=reference).receipt_confirmed_at is not None,
        timeout=30,
        what="receipt recorded as confirmed",
    )
    request = Request.objects.get(reference=reference)
    verification = Message.objects.get(request=request, kind="verification")
    assert verification.status == MessageStatus.SENT
    assert request.receipt_confirmed_at == verification.sent_at
    assert request.status == Status.PENDING_VERIFICATION
    event = AuditEvent.objects.get(request=request, action=AuditAction.REQUEST_RECEIPT_CONFIRMED)
    assert event.data["message_id"] == verification.pk


def _first_answers(worker) -> list:
    return [m for m in worker.outbox() if m["To"] == PERSON and "first answer to" in m["Subject"]]


def test_a_brazilian_access_request_is_told_at_once_what_was_found_and_only_once(worker, company, wait_until):
    company_map_load(company, lambda document: document["controller"].update(jurisdictions=["dk", "br"]))
    request = request_submit(
        right="access",
        email=PERSON,
        actor=Actor.integration("shop"),
        language="en",
        pre_verified=True,
        jurisdiction="br",
    ).request

    wait_until(lambda: _first_answers(worker), timeout=90, what="the first answer (LGPD Art. 19 I)")
    [first] = _first_answers(worker)
    text = _text(first)
    # The chat system waits for its owner: said as not complete, never as "nothing found".
    assert "We hold personal data about you in these systems:" in text
    assert "- Chinook music store:" in text
    assert "Our search is not complete: one system has not answered yet" in text
    assert "found no personal data" not in text

    _tasks_finish(request, wait_until)
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=90)
    wait_until(
        lambda: not Message.objects.filter(request=request, status=MessageStatus.QUEUED).exists(),
        timeout=30,
        what="every message settled",
    )
    assert len(_first_answers(worker)) == 1
    assert Message.objects.filter(request=request, kind="access_confirmation").count() == 1
    assert AuditEvent.objects.filter(request=request, action=AuditAction.ACCESS_CONFIRMATION_SENT).count() == 1
    # The full answer came after it, to the same person.
    kinds = list(Message.objects.filter(request=request).order_by("pk").values_list("kind", flat=True))
    assert kinds.index("access_confirmation") < kinds.index("completed")

"""A real Celery worker process delivers the messages of a request filed through the API."""

import re

from rest_framework.test import APIClient

from dsr.models import Message, MessageStatus, Request, Status


def test_a_real_worker_sends_the_code_and_the_receipt(celery_worker_process, wait_until):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    filed = api.post(
        "/api/v1/requests/", {"right": "access", "email": "kunde@example.dk", "language": "en"}, format="json"
    )
    assert filed.status_code == 201, filed.content
    reference = filed.json()["reference"]

    wait_until(lambda: celery_worker_process.outbox(), timeout=60, what="the verification email")
    verification = celery_worker_process.outbox()[0]
    assert verification["To"] == "kunde@example.dk"
    text = verification.get_body(preferencelist=("plain",)).get_content()
    code = re.search(r"\b(\d{6})\b", text).group(1)

    verified = api.post(f"/api/v1/requests/{reference}/verify/", {"code": code}, format="json")
    assert verified.status_code == 200, verified.content
    assert Request.objects.get(reference=reference).status == Status.IN_PROGRESS

    wait_until(lambda: len(celery_worker_process.outbox()) >= 2, timeout=60, what="the receipt")
    # The outbox sorts by the second a message was written; pick the receipt by what it is, not its place.
    receipt = next(m for m in celery_worker_process.outbox() if m["Message-ID"] != verification["Message-ID"])
    assert reference in receipt.get_body(preferencelist=("plain",)).get_content()
    wait_until(
        lambda: (
            set(Message.objects.filter(request__reference=reference).values_list("status", flat=True))
            == {MessageStatus.SENT}
        ),
        timeout=30,
        what="both messages recorded as sent",
    )

"""A real Celery worker sends a portability export directly to the company the person named (GDPR Art. 20(2)).

The engine's e2e company (demo shop and Chinook on SQLite). The worker collects,
builds and releases the bundle, then emails the receiving company its own link
(in Danish and English for a Danish request) or POSTs a signed notice to its
endpoint on a local port, retrying an endpoint that fails; the person is told
only what happened. This process then downloads through the receiver's link.
"""

import hashlib
import io
import json
import re
import zipfile

import pytest
from django.test import Client
from standardwebhooks import Webhook

from dsr.audit import Actor
from dsr.exports.transmission import transmission_signing_secret
from dsr.models import AuditEvent, Request, Status, Transmission, TransmissionStatus
from dsr.workflow import request_submit
from tests.e2e.test_worker_jobs import _reconcile_until, company, engine_env  # noqa: F401  (fixtures, reused)
from tests.rights.conftest import PERSON
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401
from tests.test_webhooks import receiver  # noqa: F401  (the fixture, reused)

pytestmark = pytest.mark.e2e

RECEIVER_EMAIL = "data@groentkassen.example"
TRANSMISSION_SETTINGS = {"DSR_TRANSMISSION_ALLOW_LOCAL": "true", "DSR_WEBHOOK_RETRY_SECONDS": "0.5"}


@pytest.fixture
def worker(engine_env, celery_worker_process):
    """Return the real worker, allowed to POST to this machine and quick to retry."""
    return celery_worker_process


@pytest.fixture(autouse=True)
def _transmission_env(monkeypatch, settings) -> None:
    # Before the worker starts: it reads its settings from the environment.
    for name, value in TRANSMISSION_SETTINGS.items():
        monkeypatch.setenv(name, value)
    settings.DSR_TRANSMISSION_ALLOW_LOCAL = True
    settings.DSR_WEBHOOK_RETRY_SECONDS = 0.5


def _file(*, language: str, transmit_to: dict) -> Request:
    return request_submit(
        right="portability",
        email=PERSON,
        actor=Actor.integration("shop"),
        language=language,
        details={"transmit_to": transmit_to},
        pre_verified=True,
    ).request


def _settled(request: Request) -> Transmission | None:
    found = Transmission.objects.filter(request=request).first()
    return found if found is not None and found.status != TransmissionStatus.PENDING else None


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_danish_request_is_emailed_to_the_company_which_downloads_its_copy(worker, company, wait_until):
    request = _file(language="da", transmit_to={"name": "Grøntkassen ApS", "email": RECEIVER_EMAIL})
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=90)
    sent = wait_until(lambda: _settled(request), timeout=60, what="the transmission settled")
    assert sent.status == TransmissionStatus.SENT

    to_receiver = wait_until(
        lambda: next((m for m in worker.outbox() if m["To"] == RECEIVER_EMAIL), None), what="the receiver's email"
    )
    body = _text(to_receiver)
    assert "ret til dataportabilitet (GDPR art. 20, stk. 2)" in body
    assert "right to data portability (GDPR Art. 20(2))" in body
    assert PERSON not in body
    told = wait_until(
        lambda: next(
            (m for m in worker.outbox() if m["To"] == PERSON and "Dine data er sendt til" in m["Subject"]), None
        ),
        what="the person's news",
    )
    assert "Vi sendte et link til dine data til Grøntkassen ApS den" in _text(told)

    token = re.search(r"/transmission/([^/\s]+)/", body).group(1)
    response = Client().post(f"/transmission/{token}/")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert archive.testzip() is None
        assert f"{request.reference}/manifest.json" in archive.namelist()
    assert Transmission.objects.get(pk=sent.pk).downloads == 1
    assert AuditEvent.objects.filter(request=request, action="transmission.downloaded").count() == 1


def test_an_english_request_notifies_an_endpoint_that_first_fails_then_answers(worker, company, receiver, wait_until):
    receiver.statuses = [503]
    request = _file(language="en", transmit_to={"name": "Greenbox Ltd", "url": receiver.url})
    _reconcile_until(request, Status.COMPLETED, wait_until, timeout=90)
    sent = wait_until(lambda: _settled(request), timeout=60, what="the transmission settled")

    assert (sent.status, sent.attempts) == (TransmissionStatus.SENT, 2)
    headers, body = receiver.received[-1]
    notice = Webhook(transmission_signing_secret()).verify(body, headers)
    assert notice["data"]["reference"] == request.reference
    assert PERSON not in body.decode()
    assert {json.loads(b)["id"] for _, b in receiver.received} == {notice["id"]}  # the same notice, retried

    token = notice["data"]["download_url"].rstrip("/").rsplit("/", 1)[-1]
    download = b"".join(Client().post(f"/transmission/{token}/").streaming_content)
    assert hashlib.sha256(download).hexdigest() == notice["data"]["sha256"]

    told = wait_until(
        lambda: next(
            (m for m in worker.outbox() if m["To"] == PERSON and "Your data was sent to Greenbox Ltd" in m["Subject"]),
            None,
        ),
        what="the person's news",
    )
    assert "We sent a link to your data to Greenbox Ltd on" in _text(told)
    # The completion email said only what had happened when it went: sending, or sent.
    (completed,) = [m for m in worker.outbox() if m["To"] == PERSON and "is complete" in m["Subject"]]
    assert re.search(r"We are sending them a link now|We sent a link to your data to Greenbox Ltd", _text(completed))

"""Direct transmission to another controller (GDPR Art. 20(2)): who may receive, what it gets and what is said."""

import hashlib
import io
import json
import re
import smtplib
import socket
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client
from django.utils import timezone, translation
from standardwebhooks import Webhook

from dsr.audit import Actor
from dsr.exports import transmission as tx
from dsr.exports.delivery import bundle_release, bundles_purge_expired
from dsr.models import AuditEvent, BundleStatus, Request, Status, Transmission, TransmissionStatus
from dsr.requests import RequestInvalid, details_clean, endpoint_url_problem
from dsr.workflow import request_submit
from tests.rights.conftest import PERSON
from tests.test_webhooks import receiver  # noqa: F401  (the fixture, reused)
from tests.views.conftest import agent, roles, verified_client  # noqa: F401  (fixtures, reused)

pytestmark = pytest.mark.django_db

RECEIVER_EMAIL = "data@groentkassen.example"
BY_EMAIL = {"name": "Grøntkassen ApS", "email": RECEIVER_EMAIL}


def _public(host, port, proto=None):
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]


def _private(address):
    def resolve(host, port, proto=None):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


def _token(text: str) -> str:
    return re.search(r"/transmission/([^/\s\"]+)/", text).group(1)


def _zip_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture(autouse=True)
def _english():
    """Services speak the active language; these tests read their English."""
    with translation.override("en"):
        yield


@pytest.fixture
def local_endpoints(settings):
    """Let the receiver on 127.0.0.1 take notices, as development and the tests may."""
    settings.DSR_TRANSMISSION_ALLOW_LOCAL = True
    settings.DSR_WEBHOOK_MAX_ATTEMPTS = 3


# --- Who may receive -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "resolve", "problem"),
    [
        ("http://receiver.example/in", _public, "must start with https://"),
        ("ftp://receiver.example/in", _public, "must start with https://"),
        ("https://user:pw@receiver.example/in", _public, "like https://example.com"),
        ("https:///in", _public, "like https://example.com"),
        ("https://receiver.example:99999/in", _public, "valid web address"),
        ("https://10.0.0.7/in", _private("10.0.0.7"), "private or local network"),
        ("https://metadata.example/in", _private("169.254.169.254"), "private or local network"),
        ("https://intranet.example/in", _private("192.168.1.10"), "private or local network"),
        ("https://localhost/in", _private("127.0.0.1"), "private or local network"),
        ("https://v6.example/in", _private("::1"), "private or local network"),
        ("https://v6.example/in", _private("fd00::1"), "private or local network"),
    ],
)
def test_an_endpoint_must_be_https_on_a_public_address(url, resolve, problem):
    assert problem in endpoint_url_problem(url, resolve=resolve)


def test_a_public_https_endpoint_is_accepted():
    assert endpoint_url_problem("https://receiver.example/in", resolve=_public) == ""


def test_a_name_that_does_not_resolve_is_refused_with_a_clear_message():
    def nowhere(host, port, proto=None):
        raise socket.gaierror("no such name")

    assert "could not find the server" in endpoint_url_problem("https://nowhere.example/", resolve=nowhere)


def test_http_to_this_machine_is_allowed_only_where_local_endpoints_are(settings):
    assert "https://" in endpoint_url_problem("http://127.0.0.1:8123/in")
    settings.DSR_TRANSMISSION_ALLOW_LOCAL = True
    assert endpoint_url_problem("http://127.0.0.1:8123/in") == ""
    assert endpoint_url_problem("http://localhost:8123/in") == ""
    # Local means this machine, not the controller's network.
    assert "private or local" in endpoint_url_problem("https://10.0.0.7/in", resolve=_private("10.0.0.7"))
    assert "https://" in endpoint_url_problem("http://10.0.0.7/in")


def test_the_person_names_a_company_by_email_or_endpoint_once():
    assert details_clean("portability", {"transmit_to": BY_EMAIL}) == {"transmit_to": BY_EMAIL}
    cases = [
        ({"name": "X", "email": RECEIVER_EMAIL, "url": "https://x.example/"}, "transmit_to"),
        ({"name": "X"}, "transmit_to"),
        ({"email": RECEIVER_EMAIL}, "transmit_to.name"),
        ({"name": "X", "email": "not-an-address"}, "transmit_to.email"),
        ({"name": "X", "url": "http://x.example/"}, "transmit_to.url"),
        ({"name": "X", "email": RECEIVER_EMAIL, "phone": "1"}, "transmit_to"),
        ("Grøntkassen", "transmit_to"),
    ]
    for value, field in cases:
        with pytest.raises(RequestInvalid) as invalid:
            details_clean("portability", {"transmit_to": value})
        assert field in invalid.value.message_dict, value


def test_only_portability_can_be_sent_to_another_company():
    with pytest.raises(RequestInvalid) as invalid:
        details_clean("access", {"transmit_to": BY_EMAIL})
    assert "transmit_to" in invalid.value.message_dict["details"][0]


@pytest.mark.django_db
def test_a_request_of_another_right_has_no_transmission_to_read(django_assert_num_queries):
    request = request_submit(right="erasure", email=PERSON, actor=Actor.subject()).request
    # Every completion email asks; only a portability request can have one, so the others ask nothing.
    with django_assert_num_queries(0):
        assert tx.transmission_of(request) is None
    request.right = "portability"
    with django_assert_num_queries(1):
        assert tx.transmission_of(request) is None


# --- The portal form ---------------------------------------------------------------------------


def _portal_post(client: Client, data: dict):
    page = client.get("/request/portability/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    return client.post("/request/portability/", {"email": PERSON, "form_token": token, **data})


def test_the_portal_files_a_portability_request_with_the_receiving_company(client, django_capture_on_commit_callbacks):
    page = client.get("/request/portability/").content.decode()
    assert 'name="transmit"' in page
    assert 'name="transmit_url"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = _portal_post(
            client, {"transmit": "on", "transmit_name": "Grøntkassen ApS", "transmit_email": RECEIVER_EMAIL}
        )
    assert response.status_code == 302
    assert Request.objects.get().details == {"transmit_to": BY_EMAIL}


def test_the_portal_refuses_a_private_endpoint_and_stores_nothing(client):
    response = _portal_post(
        client, {"transmit": "on", "transmit_name": "Intranet", "transmit_url": "http://10.1.2.3/receive"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_transmit_url_error"' in html
    assert "https://" in html
    assert 'value="Intranet"' in html  # what the person typed is kept
    assert Request.objects.count() == 0


def test_the_portal_asks_for_an_address_when_the_box_is_ticked(client):
    response = _portal_post(client, {"transmit": "on", "transmit_name": "Grøntkassen ApS"})
    assert response.status_code == 400
    assert "transmit_email_error" in response.content.decode()
    assert Request.objects.count() == 0


# --- By email ------------------------------------------------------------------------------------


def test_the_receiver_is_emailed_its_own_link_and_the_person_is_told_it_was_sent(company, file):
    mail.outbox.clear()
    request = file("portability", transmit_to=BY_EMAIL)

    assert request.status == Status.COMPLETED
    sent = Transmission.objects.get(request=request)
    assert sent.status == TransmissionStatus.SENT
    assert sent.sent_at is not None
    (to_receiver,) = [m for m in mail.outbox if m.to == [RECEIVER_EMAIL]]
    assert "GDPR Art. 20(2)" in to_receiver.body
    assert PERSON not in to_receiver.body  # the data goes through the link only
    to_person = [m for m in mail.outbox if m.to == [PERSON]]
    assert any(
        f"We sent a link to your data to Grøntkassen ApS on {timezone.localtime(sent.sent_at):%-d %B %Y}" in m.body
        for m in to_person
    )
    actions = list(AuditEvent.objects.filter(request=request).values_list("action", flat=True))
    assert actions.index("transmission.started") < actions.index("transmission.sent")

    # Its link is its own: counted and audited apart from the person's.
    client = Client()
    token = _token(to_receiver.body)
    assert client.get(f"/transmission/{token}/").status_code == 200
    response = client.post(f"/transmission/{token}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(_zip_bytes(response))) as archive:
        assert f"{request.reference}/manifest.json" in archive.namelist()
    sent.refresh_from_db()
    assert sent.downloads == 1
    assert request.bundles.get().links.get().downloads == 0
    assert AuditEvent.objects.filter(request=request, action="transmission.downloaded").count() == 1
    assert not AuditEvent.objects.filter(request=request, action="bundle.downloaded").exists()


def test_in_danish_the_receiver_reads_danish_and_english_and_the_person_danish(company, file):
    mail.outbox.clear()
    request = file("portability", language="da", transmit_to=BY_EMAIL)

    (to_receiver,) = [m for m in mail.outbox if m.to == [RECEIVER_EMAIL]]
    assert "ret til dataportabilitet (GDPR art. 20, stk. 2)" in to_receiver.body
    assert "right to data portability (GDPR Art. 20(2))" in to_receiver.body
    (outcome,) = [m for m in mail.outbox if m.to == [PERSON] and "Dine data er sendt til" in m.subject]
    assert "Vi sendte et link til dine data til Grøntkassen ApS den" in outcome.body
    assert request.transmissions.get().status == TransmissionStatus.SENT


class RefusingBackend(EmailBackend):
    """A mail server that refuses the receiving company's address."""

    def send_messages(self, messages):
        if any(RECEIVER_EMAIL in message.to for message in messages):
            raise smtplib.SMTPRecipientsRefused({RECEIVER_EMAIL: (550, b"no such user")})
        return super().send_messages(messages)


def test_an_email_the_mail_server_refuses_is_a_failed_transmission_and_the_person_is_told(company, file, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    mail.outbox.clear()
    request = file("portability", transmit_to=BY_EMAIL)

    failed = request.transmissions.get()
    assert failed.status == TransmissionStatus.FAILED
    assert failed.expires_at <= timezone.now()  # a link that never went out does not work
    assert AuditEvent.objects.filter(request=request, action="transmission.failed").exists()
    bodies = " ".join(m.body for m in mail.outbox if m.to == [PERSON])
    assert "We sent a link" not in bodies
    assert "but we could not: our email to them could not be delivered" in bodies


# --- By endpoint ---------------------------------------------------------------------------------


def test_the_endpoint_gets_a_signed_notice_with_the_link_expiry_and_checksum_only(
    company, file, receiver, local_endpoints
):
    mail.outbox.clear()
    request = file("portability", transmit_to={"name": "Grøntkassen ApS", "url": receiver.url})

    sent = request.transmissions.get()
    assert sent.status == TransmissionStatus.SENT
    assert sent.last_response_code is None
    ((headers, body),) = receiver.received
    notice = Webhook(tx.transmission_signing_secret()).verify(body, headers)
    assert notice["type"] == "portability.transmission"
    assert set(notice["data"]) == {
        "sender", "reference", "download_url", "expires_at", "max_downloads", "content_type", "size", "sha256",
    }  # fmt: skip
    assert PERSON not in body.decode()
    assert notice["data"]["expires_at"] == sent.expires_at.isoformat()
    assert sent.expires_at - sent.created_at <= timedelta(days=7, seconds=5)
    # What it downloads is what the notice promised.
    response = Client().post(f"/transmission/{_token(notice['data']['download_url'] + '/')}/")
    assert hashlib.sha256(_zip_bytes(response)).hexdigest() == notice["data"]["sha256"] == sent.bundle_sha256
    assert any("We sent a link to your data to Grøntkassen ApS" in m.body for m in mail.outbox if m.to == [PERSON])


def test_a_failing_endpoint_is_retried_then_failed_and_staff_can_send_again(
    company, file, receiver, local_endpoints, staff, run
):
    receiver.statuses = [503, 503, 500]
    mail.outbox.clear()
    request = file("portability", transmit_to={"name": "Grøntkassen ApS", "url": receiver.url})

    pending = request.transmissions.get()
    assert (pending.status, pending.attempts, pending.last_response_code) == ("pending", 1, 503)
    assert "HTTP 503 (attempt 1)" in pending.last_error
    later = timezone.now() + timedelta(hours=2)
    assert run(tx.transmission_attempt, transmission_id=pending.pk, now=later).status == "pending"
    assert run(tx.transmission_attempt, transmission_id=pending.pk, now=later + timedelta(hours=2)).status == "failed"
    failed = Transmission.objects.get(pk=pending.pk)
    assert (failed.status, failed.attempts, failed.last_response_code) == ("failed", 3, 500)
    # The token in the notices it refused does not work.
    token = _token(json.loads(receiver.received[0][1])["data"]["download_url"] + "/")
    assert Client().post(f"/transmission/{token}/").status_code == 410
    told = [m for m in mail.outbox if m.to == [PERSON] and "was not sent" in m.subject]
    assert len(told) == 1
    assert "their system answered with an error (HTTP 500)" in told[0].body

    run(tx.transmission_retry, transmission=failed, actor=staff)
    again = Transmission.objects.get(pk=pending.pk)
    assert again.status == TransmissionStatus.SENT
    assert len(receiver.received) == 4
    assert AuditEvent.objects.filter(request=request, action="transmission.retried").count() == 1


def test_410_gone_fails_at_once(company, file, receiver, local_endpoints):
    receiver.statuses = [410]
    request = file("portability", transmit_to={"name": "Grøntkassen ApS", "url": receiver.url})
    assert request.transmissions.get().status == TransmissionStatus.FAILED
    assert len(receiver.received) == 1


def test_an_endpoint_that_turns_private_before_sending_is_not_called(company, file, receiver, settings, run):
    settings.DSR_TRANSMISSION_ALLOW_LOCAL = True
    settings.DSR_BUNDLE_REVIEW = True
    request = file("portability", transmit_to={"name": "Grøntkassen ApS", "url": receiver.url})
    settings.DSR_TRANSMISSION_ALLOW_LOCAL = False  # what a name pointing at the network would look like

    run(bundle_release, bundle=request.bundles.get(status=BundleStatus.REVIEW), actor=Actor.system())
    failed = request.transmissions.get()
    assert failed.status == TransmissionStatus.FAILED
    assert "not a public HTTPS" in failed.last_error
    assert receiver.received == []


# --- Declining ----------------------------------------------------------------------------------


def test_staff_decline_before_release_and_the_completion_email_gives_the_reasons(company, file, settings, staff, run):
    settings.DSR_BUNDLE_REVIEW = True
    mail.outbox.clear()
    request = file("portability", transmit_to=BY_EMAIL)
    with pytest.raises(tx.TransmissionError):
        tx.transmission_decline(request=request, reasons="  ", actor=staff)
    assert not Transmission.objects.exists()

    tx.transmission_decline(request=request, reasons="Their address rejects attachments from outside.", actor=staff)
    run(bundle_release, bundle=request.bundles.get(), actor=staff)

    assert not [m for m in mail.outbox if m.to == [RECEIVER_EMAIL]]
    (completed,) = [m for m in mail.outbox if m.to == [PERSON] and "complete" in m.subject]
    assert "We have not done so, because: Their address rejects attachments from outside." in completed.body
    assert "We sent a link" not in completed.body
    with pytest.raises(tx.TransmissionError, match="already declined"):
        tx.transmission_decline(request=request, reasons="Again", actor=staff)


def test_a_transmission_already_sent_cannot_be_declined(company, file, staff):
    request = file("portability", transmit_to=BY_EMAIL)
    with pytest.raises(tx.TransmissionError, match="already been sent"):
        tx.transmission_decline(request=request, reasons="Too late", actor=staff)
    assert request.transmissions.get().status == TransmissionStatus.SENT


def test_staff_see_the_transmission_and_decline_it_on_the_request_page(company, file, settings, agent):
    settings.DSR_BUNDLE_REVIEW = True
    request = file("portability", transmit_to=BY_EMAIL)
    client = verified_client(agent)

    page = client.get(f"/dashboard/requests/{request.pk}/").content.decode()
    assert 'data-testid="transmission"' in page
    assert RECEIVER_EMAIL in page
    empty = client.post(f"/dashboard/requests/{request.pk}/transmission/decline/", {"transmission-reasons": ""})
    assert empty.status_code == 302
    assert not Transmission.objects.exists()
    client.post(f"/dashboard/requests/{request.pk}/transmission/decline/", {"transmission-reasons": "No API."})
    assert request.transmissions.get().status == TransmissionStatus.DECLINED
    event = AuditEvent.objects.get(request=request, action="transmission.declined")
    assert event.actor_type == "staff"
    assert event.actor_id == str(agent.pk)


def test_a_request_without_a_receiving_company_sends_nothing_extra(company, file):
    mail.outbox.clear()
    request = file("portability")
    assert not Transmission.objects.exists()
    assert "another company" not in " ".join(m.body for m in mail.outbox)
    assert Client().get(f"/dashboard/requests/{request.pk}/").status_code == 302


# --- The receiver's link -----------------------------------------------------------------------


def test_the_receivers_link_is_limited_expires_and_dies_with_the_bundle(company, file, settings):
    mail.outbox.clear()
    request = file("portability", transmit_to=BY_EMAIL)
    (to_receiver,) = [m for m in mail.outbox if m.to == [RECEIVER_EMAIL]]
    token = _token(to_receiver.body)
    client = Client()

    assert client.get("/transmission/not-a-real-token/").status_code == 404
    for _ in range(settings.DSR_TRANSMISSION_DOWNLOAD_LIMIT):
        assert client.post(f"/transmission/{token}/").status_code == 200
    assert client.post(f"/transmission/{token}/").status_code == 410
    assert request.transmissions.get().downloads == 3

    Transmission.objects.update(downloads=0)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.get(f"/transmission/{token}/").status_code == 410
    bundles_purge_expired(now=timezone.now() + timedelta(days=60))
    assert client.post(f"/transmission/{token}/").status_code == 410


# --- Lost signals ------------------------------------------------------------------------------


def test_an_emailed_transmission_whose_news_was_lost_is_settled_by_the_reconciler(company, file, run):
    request = file("portability", transmit_to=BY_EMAIL)
    # As if the worker died between sending the email and recording the transmission as sent.
    Transmission.objects.update(status=TransmissionStatus.PENDING, sent_at=None, settled_at=None)
    mail.outbox.clear()

    assert run(tx.transmissions_sync) == 1
    assert request.transmissions.get().status == TransmissionStatus.SENT
    assert [m.subject for m in mail.outbox] == [f"Your data was sent to Grøntkassen ApS ({request.reference})"]
    assert run(tx.transmissions_sync) == 0


def test_an_endpoint_attempt_whose_go_was_lost_is_sent_by_the_reconciler(
    company, file, receiver, local_endpoints, settings, run
):
    settings.DSR_BUNDLE_REVIEW = True
    request = file("portability", transmit_to={"name": "Grøntkassen ApS", "url": receiver.url})
    # Released without the worker hearing of it (the "go" lost with a broker restart).
    bundle_release(bundle=request.bundles.get(), actor=Actor.system())
    assert request.transmissions.get().status == TransmissionStatus.PENDING
    assert receiver.received == []

    later = timezone.now() + timedelta(seconds=settings.DSR_JOB_DISPATCH_GRACE_SECONDS + 1)
    assert run(tx.transmissions_reconcile, now=later) == 1
    assert request.transmissions.get().status == TransmissionStatus.SENT
    assert len(receiver.received) == 1

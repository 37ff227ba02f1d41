"""The person's download pages: the emailed link, the status page's button, new links, and every refusal."""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dsr.exports.delivery import bundles_purge_expired, link_by_token
from dsr.models import AuditEvent, Bundle, Message, Status
from dsr.storage import bundle_storage
from dsr.workflow import request_status_token
from tests.rights.conftest import chinook_sqlite, company, file, processor, run, staff  # noqa: F401
from tests.rights.helpers import tasks_finish
from tests.views.bundles import emailed_tokens, released, zip_read

pytestmark = pytest.mark.django_db

# What the 404 for any unknown address says, so a tampered token can be compared with it.
NOT_FOUND = "There is no page at this address. Please check the link."


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _url(token: str) -> str:
    return reverse("dsr:download", kwargs={"token": token})


def _new_link_url(token: str) -> str:
    return reverse("dsr:download_new_link", kwargs={"token": token})


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _link_messages(request) -> int:
    return Message.objects.filter(request=request, kind="download_link").count()


def _status_client(request) -> Client:
    """Return a client whose session opened the request's status page through its emailed link."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.get(reverse("dsr:status_link", args=[request.reference, request_status_token(request)]))
    return client


# --- The emailed link ---------------------------------------------------------------


def test_opening_the_link_shows_the_copy_and_counts_no_download(client):
    request, token = released()

    response = client.get(_url(token))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your copy is ready" in page
    assert 'method="post"' in page
    assert "Download your data" in page
    bundle = request.bundles.get()
    assert f"<dd>{bundle.files}</dd>" in page
    assert "<dd>5</dd>" in page  # downloads left: DSR_DOWNLOAD_LIMIT
    assert response["X-Robots-Tag"].startswith("noindex")
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"
    link = link_by_token(token)
    assert link.downloads == 0
    assert not AuditEvent.objects.filter(action="bundle.downloaded").exists()


def test_the_link_page_speaks_danish_to_a_danish_browser():
    _request, token = released(language="da")

    response = Client(HTTP_ACCEPT_LANGUAGE="da").get(_url(token))

    assert "Din kopi er klar" in response.content.decode()
    assert "Hent dine oplysninger" in response.content.decode()


def test_pressing_the_button_streams_the_zip_with_every_file_matching_the_manifest(
    company,
    file,
    run,
    staff,
    client,
):
    request = file("access")
    tasks_finish(request, staff, run)
    assert request.status == Status.COMPLETED
    # The completion email has been sent; its link is the person's only copy of the token.
    completed = next(m for m in mail.outbox if request.reference in m.body and "/download/" in m.body)
    token = re.search(r"/download/([A-Za-z0-9_-]+)/", completed.body).group(1)

    response = client.post(_url(token))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{request.reference}.zip"'
    assert response["Cache-Control"] == "no-store"
    content = _body(response)
    assert int(response["Content-Length"]) == len(content)
    archive, manifest = zip_read(content)
    assert manifest["reference"] == request.reference
    paths = {entry["path"] for entry in manifest["files"]}
    assert {"report.pdf", "index.html"} <= paths
    assert any(path.startswith("data/shop/") for path in paths)
    for entry in manifest["files"]:
        data = archive.read(f"{request.reference}/{entry['path']}")
        assert len(data) == entry["size"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert link_by_token(token).downloads == 1
    downloaded = AuditEvent.objects.get(request=request, action="bundle.downloaded")
    assert downloaded.actor_type == "subject"


def test_when_the_limit_is_reached_the_page_says_so_and_sends_no_bytes(client, settings):
    settings.DSR_DOWNLOAD_LIMIT = 1
    _request, token = released()
    assert client.post(_url(token)).status_code == 200

    response = client.post(_url(token))

    assert response.status_code == 410
    assert not response.streaming
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "used as many times as it allows" in page
    assert "Send me a new link" in page
    assert link_by_token(token).downloads == 1
    assert "used as many times" in client.get(_url(token)).content.decode()


def test_an_expired_link_says_it_expired_and_offers_a_new_one(client):
    _request, token = released()

    with time_machine.travel(timezone.now() + timedelta(days=15)):
        shown = client.get(_url(token))
        pressed = client.post(_url(token))

    for response in (shown, pressed):
        assert response.status_code == 410
        assert "The link has expired." in response.content.decode()
        assert f'action="{_new_link_url(token)}"' in response.content.decode()
    assert link_by_token(token).downloads == 0


def test_a_new_link_is_emailed_once_to_the_request_and_the_old_one_stops_working(client):
    request, token = released(email="ida.hidden@example.dk")

    with time_machine.travel(timezone.now() + timedelta(days=15)):
        response = client.post(_new_link_url(token))

        assert response.status_code == 200
        page = response.content.decode()
        assert "address the request was made from" in page
        assert "ida.hidden" not in page
        assert _link_messages(request) == 1
        new_token = emailed_tokens(request)[-1]
        assert new_token != token
        assert "A newer link has replaced this one." in client.get(_url(token)).content.decode()
        assert client.post(_url(token)).status_code == 410
        downloaded = client.post(_url(new_token))
        assert downloaded.status_code == 200
        zip_read(_body(downloaded))
    assert AuditEvent.objects.filter(request=request, action="bundle.link_reissued").count() == 1


def test_no_new_link_once_the_copy_itself_has_expired(client):
    request, token = released()

    # Past the bundle's retention, before the purge job has deleted it.
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = client.post(_new_link_url(token))

    assert response.status_code == 409
    assert "Your copy was deleted when it expired" in response.content.decode()
    assert _link_messages(request) == 0


def test_a_used_up_link_is_explained_in_danish(settings):
    settings.DSR_DOWNLOAD_LIMIT = 1
    _request, token = released(language="da")
    danish = Client(HTTP_ACCEPT_LANGUAGE="da")
    danish.post(_url(token))

    page = danish.post(_url(token)).content.decode()

    assert "Linket virker ikke længere" in page
    assert "Linket er brugt så mange gange, som det tillader." in page
    assert "Send mig et nyt link" in page


def test_a_working_link_is_not_replaced_by_asking_for_a_new_one(client):
    request, token = released()

    response = client.post(_new_link_url(token))

    assert response.status_code == 302
    assert response["Location"] == _url(token)
    assert _link_messages(request) == 0
    assert link_by_token(token).revoked_at is None


def test_new_links_are_rate_limited_per_request(client, settings):
    settings.DSR_DOWNLOAD_REISSUE_RATE = "1/day"
    request, token = released()

    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert client.post(_new_link_url(token)).status_code == 200
        # The old link is now replaced, which would offer a new one again: the limit stops it.
        refused = client.post(_new_link_url(token))

    assert refused.status_code == 429
    assert "Please wait a little" in refused.content.decode()
    assert _link_messages(request) == 1


def test_new_links_are_rate_limited_per_client_address(client, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "1/hour"
    first, first_token = released(email="one@example.dk")
    second, second_token = released(email="two@example.dk")

    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert client.post(_new_link_url(first_token)).status_code == 200
        refused = client.post(_new_link_url(second_token))

    assert refused.status_code == 429
    assert _link_messages(first) == 1
    assert _link_messages(second) == 0


def test_a_tampered_or_unknown_token_gets_the_plain_not_found_page(client):
    request, token = released()
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    for response in (
        client.get(_url(tampered)),
        client.post(_url(tampered)),
        client.post(_new_link_url(tampered)),
        client.get(_url("x" * 200)),
    ):
        assert response.status_code == 404
        page = response.content.decode()
        assert NOT_FOUND in page
        assert request.reference not in page
        assert "expired" not in page
    assert link_by_token(token).downloads == 0
    assert _link_messages(request) == 0


def test_a_purged_copy_says_it_was_deleted_and_how_to_ask_again(client):
    request, token = released()
    assert bundles_purge_expired(now=timezone.now() + timedelta(days=31)) == 1

    shown = client.get(_url(token))
    asked = client.post(_new_link_url(token))

    for response in (shown, asked):
        assert response.status_code == 410
        page = response.content.decode()
        assert "Your copy has been deleted" in page
        assert f'href="{reverse("dsr:start")}"' in page
        assert "Send me a new link" not in page
    assert _link_messages(request) == 0


def test_a_changed_file_shows_the_damaged_page_streams_nothing_and_is_audited(client):
    request, token = released()
    bundle = request.bundles.get()
    path = bundle_storage().path(bundle.storage_name)
    with open(path, "r+b") as stored:
        stored.seek(-10, 2)
        byte = stored.read(1)
        stored.seek(-10, 2)
        stored.write(bytes([byte[0] ^ 0xFF]))

    response = client.post(_url(token))

    assert response.status_code == 500
    assert not response.streaming
    page = response.content.decode()
    assert "We could not prepare your file" in page
    assert "privacy team has been told" in page
    assert "Traceback" not in page
    assert link_by_token(token).downloads == 0
    assert AuditEvent.objects.filter(request=request, action="bundle.damaged").count() == 1


def test_one_requests_token_never_gives_another_requests_data(client):
    mine, my_token = released(email="mine@example.dk")
    theirs, _their_token = released(email="theirs@example.dk")

    response = client.post(_url(my_token))

    archive, manifest = zip_read(_body(response))
    assert manifest["reference"] == mine.reference
    assert response["Content-Disposition"] == f'attachment; filename="{mine.reference}.zip"'
    assert all(name.startswith(f"{mine.reference}/") for name in archive.namelist())
    assert link_by_token(my_token).bundle.request_id == mine.pk
    # Their status page, opened in this browser, does not turn my link into theirs or the reverse.
    their_client = _status_client(theirs)
    theirs_response = their_client.post(reverse("dsr:status_download", args=[theirs.reference]))
    _archive, theirs_manifest = zip_read(_body(theirs_response))
    assert theirs_manifest["reference"] == theirs.reference
    assert their_client.post(reverse("dsr:status_download", args=[mine.reference])).status_code == 403


def test_the_link_page_only_answers_get_and_post(client):
    _request, token = released()

    assert client.put(_url(token)).status_code == 405
    assert client.get(_new_link_url(token)).status_code == 405


# --- The status page -------------------------------------------------------------------


def test_the_status_page_offers_the_download_as_a_form_and_it_needs_the_session(client):
    request, token = released()
    download_url = reverse("dsr:status_download", args=[request.reference])
    owner = _status_client(request)

    page = owner.get(reverse("dsr:status", args=[request.reference])).content.decode()
    assert f'<form method="post" action="{download_url}">' in page
    assert f'href="{download_url}"' not in page
    assert token not in page

    stranger = client.post(download_url)
    assert stranger.status_code == 403
    assert not stranger.streaming

    response = owner.post(download_url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{request.reference}.zip"'
    _archive, manifest = zip_read(_body(response))
    assert manifest["reference"] == request.reference
    assert link_by_token(token).downloads == 1


def test_the_status_page_offers_a_new_link_once_the_downloads_are_used_up(settings):
    settings.DSR_DOWNLOAD_LIMIT = 1
    request, _token = released(email="ida.hidden@example.dk")
    owner = _status_client(request)
    download_url = reverse("dsr:status_download", args=[request.reference])
    new_link_url = reverse("dsr:status_download_new_link", args=[request.reference])
    assert owner.post(download_url).status_code == 200

    page = owner.get(reverse("dsr:status", args=[request.reference])).content.decode()
    assert "used as many times as it allows" in page
    assert f'action="{new_link_url}"' in page
    # Not to be confused with the status page's own "Send me a new link" below it.
    assert "Send me a new download link" in page
    assert owner.post(download_url).status_code == 410

    assert Client().post(new_link_url).status_code == 403
    assert _link_messages(request) == 0
    response = owner.post(new_link_url)

    assert response.status_code == 200
    assert "ida.hidden" not in response.content.decode()
    assert _link_messages(request) == 1
    assert owner.post(download_url).status_code == 200


def test_the_status_page_before_release_has_nothing_to_download():
    from tests.views.bundles import request_file

    request = request_file(right="access")
    owner = _status_client(request)

    page = owner.get(reverse("dsr:status", args=[request.reference])).content.decode()
    assert "Your copy is not ready yet" in page
    response = owner.post(reverse("dsr:status_download", args=[request.reference]))
    assert response.status_code == 404
    assert not Bundle.objects.filter(request=request).exists()

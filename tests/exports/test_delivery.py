"""Links and downloads: limits, expiry, new links to the verified address only, damage, and the purge."""

import hashlib
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from dsr.audit import Actor
from dsr.engine.reconcile import jobs_reconcile
from dsr.exports import delivery
from dsr.exports.delivery import DownloadRefused, bundle_download, bundles_purge_expired, download_link_reissue
from dsr.models import AuditEvent, BundleStatus, Message, Status
from dsr.storage import bundle_storage
from dsr.workflow import TransitionError
from tests.rights.conftest import PERSON
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db
SUBJECT = Actor.subject()


@pytest.fixture
def delivered(company, file, run, staff):
    """Return (request, link, token) of a completed access request with its emailed link."""
    request = file("access")
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    (sent,) = [m for m in mail.outbox if "/download/" in m.body]
    token = next(w for w in sent.body.split() if "/download/" in w).rstrip("/").rsplit("/", 1)[-1]
    return request, delivery.link_by_token(token), token


def _zip(download) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(download.chunks)))


def test_each_download_is_counted_and_audited_up_to_the_limit(delivered, settings):
    request, link, _token = delivered
    assert link.max_downloads == settings.DSR_DOWNLOAD_LIMIT == 5

    for number in range(1, 6):
        download = bundle_download(link=link, actor=SUBJECT)
        assert _zip(download).testzip() is None
        assert download.filename == f"{request.reference}.zip"
        link.refresh_from_db()
        assert link.downloads == number

    with pytest.raises(DownloadRefused) as refused:
        bundle_download(link=link, actor=SUBJECT)
    assert refused.value.code == delivery.USED_UP
    assert AuditEvent.objects.filter(request=request, action="bundle.downloaded").count() == 5


def test_a_link_expires_after_fourteen_days(delivered):
    _request, link, _token = delivered
    assert abs(link.expires_at - link.created_at - timedelta(days=14)) < timedelta(seconds=5)

    with time_machine.travel(link.expires_at + timedelta(seconds=1)), pytest.raises(DownloadRefused) as refused:
        bundle_download(link=link, actor=SUBJECT)
    assert refused.value.code == delivery.EXPIRED


def test_a_new_link_goes_only_to_the_request_address_and_replaces_the_old(delivered, run):
    request, old, _token = delivered
    mail.outbox.clear()

    new = run(download_link_reissue, request=request, actor=SUBJECT)

    assert Message.objects.filter(request=request, kind="download_link").count() == 1
    (sent,) = mail.outbox
    assert sent.to == [PERSON]
    token = next(w for w in sent.body.split() if "/download/" in w).rstrip("/").rsplit("/", 1)[-1]
    assert delivery.link_by_token(token) == new
    old.refresh_from_db()
    assert delivery.link_problem(old) == delivery.REPLACED
    assert delivery.link_problem(new) is None
    assert hashlib.sha256(token.encode()).hexdigest() == new.token_hash


def test_wrong_and_tampered_tokens_find_nothing(delivered):
    _request, _link, token = delivered
    assert delivery.link_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert delivery.link_by_token("") is None
    assert delivery.link_by_token("x" * 5000) is None


def test_a_changed_file_is_never_sent_and_is_recorded(delivered):
    request, link, _token = delivered
    bundle = link.bundle
    path = Path(bundle_storage().path(bundle.storage_name))
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(DownloadRefused) as refused:
        bundle_download(link=link, actor=SUBJECT)
    assert refused.value.code == delivery.DAMAGED
    link.refresh_from_db()
    assert link.downloads == 0
    assert AuditEvent.objects.filter(request=request, action="bundle.damaged").exists()


def test_the_purge_deletes_expired_bundles_and_says_so(delivered, settings):
    request, link, _token = delivered
    bundle = link.bundle
    assert bundle.expires_at - bundle.released_at == timedelta(days=settings.DSR_BUNDLE_RETENTION_DAYS)
    assert bundles_purge_expired() == 0

    assert bundles_purge_expired(now=bundle.expires_at + timedelta(minutes=1)) == 1

    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.PURGED
    assert not bundle_storage().exists(bundle.storage_name)
    assert AuditEvent.objects.get(request=request, action="bundle.purged").data == {
        "bundle": bundle.pk,
        "file_was_there": True,
    }
    link.refresh_from_db()
    assert delivery.link_problem(link) == delivery.PURGED
    with pytest.raises(TransitionError):
        download_link_reissue(request=request, actor=SUBJECT)
    assert bundles_purge_expired(now=timezone.now() + timedelta(days=400)) == 0


def test_a_cancelled_request_keeps_no_unsent_bundle(company, file, run, staff, settings):
    from dsr.workflow import request_cancel

    settings.DSR_BUNDLE_REVIEW = True
    request = file("access")
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    bundle = request.bundles.get()
    assert bundle.status == BundleStatus.REVIEW

    run(request_cancel, request=request, actor=staff, reasons="Withdrawn by the requester")
    run(jobs_reconcile, now=timezone.now() + timedelta(hours=1))

    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.DISCARDED
    assert not bundle_storage().exists(bundle.storage_name)


def test_another_requests_bundle_swapped_in_is_never_sent_and_is_recorded(delivered, file, run, staff, caplog):
    request, link, _token = delivered
    other_request = file("access", "someone.else@example.dk")
    tasks_finish(other_request, staff, run)
    other = other_request.bundles.get()
    bundle = link.bundle
    # The file and every column that describes it, copied from the other person's bundle: the checksum agrees.
    Path(bundle_storage().path(bundle.storage_name)).write_bytes(
        Path(bundle_storage().path(other.storage_name)).read_bytes()
    )
    for name in ("sha256", "size", "plain_size", "manifest"):
        setattr(bundle, name, getattr(other, name))
    bundle.save(update_fields=["sha256", "size", "plain_size", "manifest"])

    with pytest.raises(DownloadRefused) as refused:
        bundle_download(link=link, actor=SUBJECT)

    assert refused.value.code == delivery.DAMAGED
    link.refresh_from_db()
    assert link.downloads == 0
    event = AuditEvent.objects.get(request=request, action="bundle.damaged")
    assert event.data == {"bundle": bundle.pk, "problem": "other_request"}
    assert f"bundle {bundle.pk} does not name its request" in caplog.text
    assert not AuditEvent.objects.filter(request=request, action="bundle.downloaded").exists()

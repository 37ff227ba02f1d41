"""The bundle panel on a request's page: what was built and sent, the audited preview, and release after review."""

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dsr.exports.delivery import bundles_purge_expired, link_by_token
from dsr.models import AuditEvent, BundleStatus, Message, Status
from tests.views.bundles import bundle_in_review, emailed_tokens, released, request_file, zip_read
from tests.views.conftest import verified_client

pytestmark = pytest.mark.django_db


def _page(client, request) -> str:
    response = client.get(reverse("staff_request", args=[request.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _preview(client, request, bundle):
    return client.post(reverse("staff_bundle_preview", args=[request.pk, bundle.pk]))


def _release(client, request, bundle):
    request.refresh_from_db()
    return client.post(
        reverse("staff_request_action", args=[request.pk, "release"]),
        {"release-seen": request.updated_at.isoformat(timespec="microseconds"), "release-bundle": bundle.pk},
    )


@pytest.fixture
def in_review():
    request = request_file(right="access", email="review@example.dk")
    bundle = bundle_in_review(request)
    request.refresh_from_db()
    return request, bundle


def test_the_panel_lists_the_manifest_and_how_each_link_was_used(agent_client):
    request, token = released(right="access")
    Client().post(reverse("dsr:download", kwargs={"token": token}))
    bundle = request.bundles.get()

    page = _page(agent_client, request)

    assert 'data-testid="bundles"' in page
    assert "Sent to the person" in page
    assert bundle.manifest
    for entry in bundle.manifest:
        assert entry["path"] in page
        assert entry["sha256"] in page
    assert "1 / 5" in page  # downloads used of the limit
    assert "Export downloaded" in page  # on the timeline
    assert "Release to the requester" not in page  # already released


def test_an_agent_previews_the_bundle_in_review_and_the_preview_is_audited(in_review, agent, agent_client):
    request, bundle = in_review
    assert "Release to the requester" in _page(agent_client, request)

    response = _preview(agent_client, request, bundle)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    archive, manifest = zip_read(b"".join(response.streaming_content))
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(f"{request.reference}/{entry['path']}")).hexdigest() == entry["sha256"]
    event = AuditEvent.objects.get(request=request, action="bundle.previewed")
    assert (event.actor_type, event.actor_id) == ("staff", str(agent.pk))
    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.REVIEW  # a preview sends nothing
    assert not bundle.links.exists()


def test_an_auditor_sees_the_panel_but_may_not_preview(in_review, auditor, auditor_client):
    request, bundle = in_review

    page = _page(auditor_client, request)
    assert 'data-testid="bundles"' in page
    assert "Waiting for staff to release it" in page
    assert "Preview" not in page
    assert "Release to the requester" not in page

    response = _preview(auditor_client, request, bundle)

    assert response.status_code == 403
    assert not response.streaming
    assert not AuditEvent.objects.filter(action="bundle.previewed").exists()
    denied = AuditEvent.objects.get(request=request, action="staff.denied")
    assert denied.data == {"attempted": "bundle_preview"}


def test_an_agent_releases_the_bundle_and_the_requester_gets_a_working_link(in_review, agent_client):
    request, bundle = in_review

    response = _release(agent_client, request, bundle)

    assert response.status_code == 302
    request.refresh_from_db()
    bundle.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert bundle.status == BundleStatus.RELEASED
    assert Message.objects.filter(request=request, kind="completed").count() == 1
    token = emailed_tokens(request)[-1]
    assert link_by_token(token).bundle == bundle
    assert AuditEvent.objects.filter(request=request, action="bundle.released", actor_type="staff").count() == 1


def test_a_privacy_admin_may_release_too(in_review, privacy_admin):
    request, bundle = in_review

    _release(verified_client(privacy_admin), request, bundle)

    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.RELEASED


def test_an_auditor_may_not_release_and_the_attempt_is_recorded(in_review, auditor_client):
    request, bundle = in_review

    response = _release(auditor_client, request, bundle)

    assert response.status_code == 403
    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.REVIEW
    assert not Message.objects.filter(request=request, kind="completed").exists()
    assert AuditEvent.objects.get(request=request, action="staff.denied").data == {"attempted": "request_action"}


def test_releasing_twice_sends_one_link(in_review, agent_client):
    request, bundle = in_review
    _release(agent_client, request, bundle)

    response = _release(agent_client, request, bundle)

    assert response.status_code == 302
    followed = agent_client.get(response["Location"]).content.decode()
    assert "Nothing was changed" in followed
    assert Message.objects.filter(request=request, kind="completed").count() == 1
    assert bundle.links.count() == 1


def test_a_bundle_of_another_request_is_neither_previewed_nor_released(in_review, agent_client):
    _request, bundle = in_review
    other = request_file(right="access", email="other@example.dk")

    assert _preview(agent_client, other, bundle).status_code == 404
    response = _release(agent_client, other, bundle)

    assert response.status_code == 302
    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.REVIEW
    assert not AuditEvent.objects.filter(action__in=("bundle.previewed", "bundle.released")).exists()


def test_a_damaged_bundle_is_not_previewed_and_the_damage_is_recorded(in_review, agent_client):
    from dsr.storage import bundle_storage

    request, bundle = in_review
    with open(bundle_storage().path(bundle.storage_name), "r+b") as stored:
        stored.truncate(bundle.size - 1)

    response = _preview(agent_client, request, bundle)

    assert response.status_code == 302
    assert "does not match its checksum" in agent_client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(request=request, action="bundle.damaged").count() == 1
    assert not AuditEvent.objects.filter(action="bundle.previewed").exists()


def test_a_purged_bundle_can_no_longer_be_previewed(agent_client):
    request, _token = released(right="access")
    bundles_purge_expired(now=timezone.now() + timedelta(days=31))
    bundle = request.bundles.get()

    page = _page(agent_client, request)
    assert "Deleted after expiry" in page
    assert "Preview" not in page

    response = _preview(agent_client, request, bundle)

    assert response.status_code == 302
    assert "no longer stored" in agent_client.get(response["Location"]).content.decode()
    assert not AuditEvent.objects.filter(action="bundle.previewed").exists()

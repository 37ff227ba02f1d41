"""Files staff upload to manual tasks: sealed at rest, in the person's bundle, deleted when the request is purged."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dsr.audit import Actor
from dsr.engine.manual import manual_task_complete
from dsr.models import AuditEvent, ManualTask
from dsr.workflow import request_purge
from tests.exports.helpers import bundle_read
from tests.rights.conftest import company_map_load
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db
CHATS = "Hej, min kasse med æbler kom aldrig".encode()


def test_an_upload_is_sealed_at_rest_joins_the_bundle_and_goes_with_the_purge(
    company,
    file,
    run,
    staff,
    _bundle_storage,  # noqa: PT019
):
    request = file("access")
    task = ManualTask.objects.get(request=request, source_key="chats")
    run(
        manual_task_complete,
        task=task,
        finding="done",
        attestation="Exported from PureCloud",
        file=SimpleUploadedFile("chats.txt", CHATS),
        actor=staff,
    )
    task.refresh_from_db()
    stored = _bundle_storage / task.uploaded_file.name
    assert stored.is_file()
    assert CHATS not in stored.read_bytes()  # sealed, not the plain text
    assert stored.read_bytes()[:4] == b"DSRS"
    with task.uploaded_file.open("rb") as upload:
        assert upload.read() == CHATS

    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert bundle_read(request.bundles.get()).files["files/chats/chats.txt"] == CHATS

    request.closed_at = timezone.now() - timedelta(days=5000)
    request.save(update_fields=["closed_at"])
    run(request_purge, request=request, actor=Actor.system())

    task.refresh_from_db()
    assert not task.uploaded_file
    assert not stored.exists()
    assert AuditEvent.objects.get(request=request, action="request.purged").data["files"] == 1


def test_a_portability_bundle_carries_what_staff_uploaded_from_a_portable_source(
    company,
    file,
    run,
    staff,
    _bundle_storage,  # noqa: PT019
):
    # The chats are the person's own words, kept for the customer contract: portable (GDPR Art. 20(1)).
    company_map_load(company, lambda document: document["sources"]["chats"].update(provided_by_subject=["chats"]))
    request = file("portability")
    task = ManualTask.objects.get(request=request, source_key="chats")
    run(
        manual_task_complete,
        task=task,
        finding="done",
        attestation="Exported from PureCloud",
        file=SimpleUploadedFile("chats.txt", CHATS),
        actor=staff,
    )
    tasks_finish(request, staff, run)
    request.refresh_from_db()
    assert bundle_read(request.bundles.get()).files["files/chats/chats.txt"] == CHATS

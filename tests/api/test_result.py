"""A request's result in the API: what the sources reported doing, as counts, never the person's data."""

import pytest

from dsr.engine.manual import manual_task_complete
from dsr.models import NotificationChannel
from tests.rights.conftest import (  # noqa: F401  (the engine's test company and its fixtures, reused)
    PERSON,
    chinook_sqlite,
    company,
    file,
    processor,
    run,
    staff,
)
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def test_a_finished_erasure_reads_what_each_source_reported_and_who_was_told(
    company, file, run, staff, key_client, settings
):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")
    tasks_finish(request, staff, run)

    body = key_client(["requests:read"]).get(f"/api/v1/requests/{request.reference}/").json()

    result = body["result"]
    assert result["found"] is True
    assert result["changed"] is True
    assert result["sources"] == {"shop": "done", "chats": "done", "adpartner": "asked", "chinook": "done"}
    assert result["counts"]["kept"] > 0
    by_hand = request.recipient_notifications.filter(channel=NotificationChannel.MANUAL).count()
    assert by_hand > 0
    assert result["recipients_notified"] == request.recipient_notifications.count() - by_hand
    assert result["recipients_to_tell_by_hand"] == by_hand
    assert PERSON not in str(body)


def test_an_erasure_for_someone_no_source_holds_reads_nothing_found_and_nobody_told(
    company, file, run, staff, key_client, settings
):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure", email="nobody-here@example.dk")
    for task in request.manual_tasks.all():
        run(manual_task_complete, task=task, finding="nothing_found", attestation="No chats", actor=staff)

    result = key_client(["requests:read"]).get(f"/api/v1/requests/{request.reference}/").json()["result"]

    # The ad partner is sent the request with the hashed email either way; it does not say what it held.
    assert result["sources"] == {
        "shop": "nothing_found",
        "chats": "nothing_found",
        "adpartner": "asked",
        "chinook": "nothing_found",
    }
    assert result["found"] is False
    assert result["changed"] is False
    assert result["recipients_notified"] == 0
    assert "deleted" not in result["counts"]


def test_a_request_still_in_work_has_no_result_yet(company, file, key_client):
    request = file("erasure")
    assert key_client(["requests:read"]).get(f"/api/v1/requests/{request.reference}/").json()["result"] is None

"""A processor's callback as the engine takes it: the waiting job looks now, and only the processor is believed.

The HTTP side (signatures, status codes, replays, throttling) is tested in
tests/api/test_callbacks.py; here, what a callback does to the request's work
and to what the person is told.
"""

import json
import time
import uuid
from datetime import timedelta

import pytest

from dsr.engine.callbacks import callbacks_prune, processor_callback_receive
from dsr.models import JobStatus, Operation, ProcessorCallback, Status
from dsr.rights.base import request_plan_approve
from dsr.sources.http import signature_make
from tests.rights.conftest import PERSON_SHA256, SECRET
from tests.rights.helpers import closing_email, notices, task_finish

pytestmark = pytest.mark.django_db


def _callback(run, reference: str, status: str = "completed", *, at: float | None = None):
    body = json.dumps({"subject_request_id": reference, "request_status": status}).encode()
    signature = signature_make(
        SECRET, body, timestamp=int(at if at is not None else time.time()), event_id=uuid.uuid4().hex
    )
    return run(processor_callback_receive, source_key="adpartner", body=body, signature=signature)


@pytest.fixture
def erasure_at_the_processor(company, file, run, staff):
    """Return PERSON's erasure whose only unfinished work is the ad partner's, which has not finished yet."""
    company.processor.mode = "pending"
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    task_finish(request, "chats", staff, run, finding="done", attestation="Deleted the chats")
    job = request.jobs.get(source_key="adpartner", operation=Operation.ERASURE)
    assert job.status == JobStatus.WAITING
    assert request.status == Status.IN_PROGRESS
    return request


def test_a_callback_finishes_the_erasure_and_the_letter_says_the_processor_confirmed(
    company, erasure_at_the_processor, run
):
    request = erasure_at_the_processor
    job = request.jobs.get(source_key="adpartner", operation=Operation.ERASURE)
    company.processor.mode = "normal"

    accepted = _callback(run, job.result["reference"])

    assert accepted.job_id == job.pk
    assert accepted.requeued is True
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    body = closing_email(request).body
    assert "- Demo ad partner (hashed email audience; demo): they have confirmed it is done" in body
    assert notices(request)["demo_adpartner"].reference == job.result["reference"]
    assert PERSON_SHA256 not in company.processor.audience


def test_a_callback_is_not_believed_the_job_asks_the_processor_itself(company, erasure_at_the_processor, run):
    request = erasure_at_the_processor
    job = request.jobs.get(source_key="adpartner", operation=Operation.ERASURE)

    # The callback says "completed"; the processor itself still says "pending".
    _callback(run, job.result["reference"], "completed")

    job.refresh_from_db()
    assert job.status == JobStatus.WAITING
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert request.plan.outcome == {}


def test_callbacks_older_than_a_day_are_pruned(company, erasure_at_the_processor, run):
    job = erasure_at_the_processor.jobs.get(source_key="adpartner", operation=Operation.ERASURE)
    _callback(run, job.result["reference"], "pending")
    old = ProcessorCallback.objects.get()

    assert callbacks_prune(now=old.received_at + timedelta(hours=23)) == 0
    assert callbacks_prune(now=old.received_at + timedelta(days=1, seconds=1)) == 1
    assert not ProcessorCallback.objects.exists()

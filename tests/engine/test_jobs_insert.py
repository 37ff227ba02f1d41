"""A stage's jobs are written in one statement; a job another transaction made meanwhile is left as it was."""

import pytest
from django.db import transaction

from dsr.audit import Actor
from dsr.engine import dispatch
from dsr.engine.dispatch import jobs_create
from dsr.models import Job, JobStatus, Operation
from dsr.workflow import request_submit
from tests.rights.conftest import PERSON

pytestmark = pytest.mark.django_db


def _fields(job: Job) -> dict:
    return {field.attname: getattr(job, field.attname) for field in Job._meta.concrete_fields}


def test_the_jobs_written_are_the_ones_the_orm_reads_back():
    request = request_submit(right="erasure", email=PERSON, actor=Actor.subject()).request
    with transaction.atomic():
        ids = jobs_create(
            request, [("shop", Operation.ERASURE_PLAN, {"tables": ["customer"]}), ("crm", Operation.ERASURE_PLAN, {})]
        )
    jobs = Job.objects.filter(pk__in=ids).order_by("source_key")
    assert [(job.source_key, job.status, job.attempts, job.plan) for job in jobs] == [
        ("crm", JobStatus.QUEUED, 0, {}),
        ("shop", JobStatus.QUEUED, 0, {"tables": ["customer"]}),
    ]
    assert all(job.created_at and job.updated_at for job in jobs)


def test_a_job_made_meanwhile_by_another_transaction_is_neither_written_again_nor_returned(monkeypatch):
    request = request_submit(right="erasure", email=PERSON, actor=Actor.subject()).request
    theirs = Job.objects.create(request=request, source_key="shop", operation=Operation.ERASURE, counts={"rows": 2})
    before = _fields(Job.objects.get(pk=theirs.pk))
    # As if the read of the existing jobs ran before the other transaction committed its job.
    monkeypatch.setattr(dispatch, "_jobs_existing", lambda request: set())
    with transaction.atomic():
        ids = jobs_create(request, [("shop", Operation.ERASURE, {}), ("crm", Operation.ERASURE, {})])
        # No error to roll back to a savepoint for: the transaction goes on.
        assert Job.objects.filter(request=request).count() == 2
    assert list(Job.objects.filter(pk__in=ids).values_list("source_key", flat=True)) == ["crm"]
    assert _fields(Job.objects.get(pk=theirs.pk)) == before

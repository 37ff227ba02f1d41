"""Rectification: staff review, corrections applied where a source maps the field, manual tasks elsewhere."""

import pytest

from dsr.models import Job, JobStatus, ManualTask, Operation, PlanStage, RecipientNotification, Status
from dsr.rights.base import request_plan_approve
from dsr.workflow import TransitionError
from tests.rights.conftest import PERSON, shop_rows
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db

CORRECTIONS = [
    {"field": "address", "current": "Gammel Vej 1", "correct": "Ny Vej 2"},
    {"field": "last_name", "correct": "Jensen-Gonçalves"},
]


def test_corrections_wait_for_staff_review_and_change_nothing_before(company, file):
    request = file("rectification", corrections=CORRECTIONS)

    assert request.status == Status.AWAITING_APPROVAL
    assert request.plan.stage == PlanStage.AWAITING_APPROVAL
    assert not request.jobs.filter(operation=Operation.RECTIFICATION).exists()
    assert shop_rows(company.shop, "SELECT last_name FROM customer WHERE id = 1") != [("Jensen-Gonçalves",)]


def test_approved_corrections_are_applied_to_mapped_fields_and_become_tasks_elsewhere(company, file, run, staff):
    request = file("rectification", corrections=CORRECTIONS)
    run(request_plan_approve, request=request, actor=staff)
    request.refresh_from_db()

    assert shop_rows(company.shop, "SELECT last_name FROM customer WHERE email = ?", PERSON) == [("Jensen-Gonçalves",)]
    assert shop_rows(company.shop, "SELECT DISTINCT street FROM address WHERE customer_id = 1") == [("Ny Vej 2",)]
    chinook = Job.objects.get(request=request, source_key="chinook", operation=Operation.RECTIFICATION)
    assert chinook.status == JobStatus.DONE
    assert chinook.result["not_applicable"] == ["last_name"]
    # The chat system is corrected by its owner; the ad partner's API cannot correct, so staff do it.
    assert set(ManualTask.objects.filter(request=request).values_list("source_key", flat=True)) == {
        "chats",
        "adpartner",
    }
    assert request.status == Status.IN_PROGRESS

    assert tasks_finish(request, staff, run) == 2
    assert request.status == Status.COMPLETED
    assert set(
        RecipientNotification.objects.filter(request=request, operation=Operation.RECTIFICATION).values_list(
            "recipient_key", flat=True
        )
    ) == {"adyen", "braintree", "genesys", "demo_adpartner"}


def test_approved_corrections_cannot_be_approved_again(company, file, run, staff):
    request = file("rectification", corrections=CORRECTIONS)
    run(request_plan_approve, request=request, actor=staff)
    jobs = Job.objects.filter(request=request).count()

    with pytest.raises(TransitionError):
        request_plan_approve(request=request, actor=staff)
    assert Job.objects.filter(request=request).count() == jobs

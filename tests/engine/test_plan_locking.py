"""A plan's step takes the request before the plan, as a failing job does, so the two never deadlock.

A job that fails for good locks its request and then puts the plan in "needs attention"; another job of the
same request finishing meanwhile moves the plan on. Had the step taken the plan first, each would wait for the
row the other holds and PostgreSQL would end one of them (CI=true runs this; SQLite writes one at a time).
"""

from django.db import transaction

from dsr.audit import Actor
from dsr.engine.plans import plan_advance
from dsr.models import Plan, PlanStage, Request
from dsr.workflow import request_submit
from tests.locks import ROW_LOCK_TESTS, run_until_it_waits

pytestmark = ROW_LOCK_TESTS


def test_a_plan_step_waits_for_the_request_a_failing_job_holds_and_neither_is_ended_as_a_deadlock():
    request = request_submit(right="access", email="ida@example.dk", actor=Actor.subject()).request
    Plan.objects.create(request=request, stage=PlanStage.RESOLVING)
    stages = []

    with transaction.atomic():
        # The failing job: its request first, as job_failed takes it ...
        Request.objects.select_for_update().get(pk=request.pk)
        stepping, failures = run_until_it_waits(
            lambda: stages.append(plan_advance(request_id=request.pk)), what="the plan's step"
        )
        # ... then the plan, which the waiting step must not hold.
        Plan.objects.filter(request=request).update(stage=PlanStage.NEEDS_ATTENTION)
    stepping.join(timeout=30)

    assert failures == []
    assert stages == [PlanStage.NEEDS_ATTENTION]

"""A plan's step takes the request before the plan, as a failing job does, so the two never deadlock.

A job that fails for good locks its request and then puts the plan in "needs attention"; another job of the
same request finishing meanwhile moves the plan on. Had the step taken the plan first, each would wait for the
row the other holds and PostgreSQL would end one of them (CI=true runs this; SQLite writes one at a time).
"""

import threading
import time

from django.db import connection, transaction

from dsr.audit import Actor
from dsr.engine.plans import plan_advance
from dsr.models import Plan, PlanStage, Request
from dsr.workflow import request_submit
from tests.locks import ROW_LOCK_TESTS, waiting_on_a_lock

pytestmark = ROW_LOCK_TESTS


def test_a_plan_step_waits_for_the_request_a_failing_job_holds_and_neither_is_ended_as_a_deadlock():
    request = request_submit(right="access", email="ida@example.dk", actor=Actor.subject()).request
    Plan.objects.create(request=request, stage=PlanStage.RESOLVING)
    step_pid, stages, failures = [], [], []

    def step() -> None:
        try:
            connection.ensure_connection()
            step_pid.append(connection.connection.info.backend_pid)
            stages.append(plan_advance(request_id=request.pk))
        except Exception as exc:  # the assertion below shows it
            failures.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        # The failing job: its request first, as job_failed takes it ...
        Request.objects.select_for_update().get(pk=request.pk)
        stepping = threading.Thread(target=step)
        stepping.start()
        deadline = time.monotonic() + 10
        while not (step_pid and waiting_on_a_lock(step_pid[0])):
            assert time.monotonic() < deadline, "the plan's step never waited for the request"
            time.sleep(0.02)
        # ... then the plan, which the waiting step must not hold.
        Plan.objects.filter(request=request).update(stage=PlanStage.NEEDS_ATTENTION)
    stepping.join(timeout=30)

    assert failures == []
    assert stages == [PlanStage.NEEDS_ATTENTION]

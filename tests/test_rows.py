"""The hot reads written out as SQL (dsr/rows.py) make the same instances a queryset does, field for field."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dsr import rows
from dsr.audit import Actor
from dsr.engine.plans import request_read
from dsr.models import Job, JobStatus, Message, MessageStatus, Operation, Plan, PlanStage, Request
from dsr.tasks import _message_read
from dsr.workflow import request_submit

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _request() -> Request:
    request = request_submit(right="erasure", email="ida@example.dk", actor=Actor.subject()).request
    # Every kind of column: JSON with nesting and non-ASCII text, dates, date-times, NULLs.
    Request.objects.filter(pk=request.pk).update(
        details={"reason": "Ærø ø", "nested": {"list": [1, 2.5, None, True]}},
        extended_due_date=date(2027, 2, 28),
        closed_at=None,
        verified_at=datetime(2026, 12, 5, 3, 4, 5, 678000, tzinfo=UTC),
    )
    return request


def test_an_instance_made_from_a_row_equals_the_querysets_for_every_field():
    request = _request()
    plan = Plan.objects.create(
        request=request,
        stage=PlanStage.PLANNING,
        identifiers={"email": ["ida@example.dk"], "phone": ["+4512345678"]},
        held_identifiers={"shop": {"email": ["ida@example.dk"]}},
        consents=["newsletter"],
        approved_at=datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC),
    )
    job = Job.objects.create(
        request=request, source_key="shop", operation=Operation.ERASURE, status=JobStatus.DONE, counts={"rows": 3}
    )
    for model, pk in ((Request, request.pk), (Plan, plan.pk), (Job, job.pk), (Message, Message.objects.first().pk)):
        table = connection.ops.quote_name(model._meta.db_table)
        row = rows.fetch_one(f"SELECT {rows.columns(model, 't')} FROM {table} t WHERE t.id = %s", [pk])  # noqa: S608
        made = rows.instance(model, row)
        expected = model.objects.get(pk=pk)
        assert _fields(made) == _fields(expected), model.__name__
        assert not made._state.adding
        assert made._state.db == "default"


def test_an_outer_join_that_found_nothing_makes_none():
    request = _request()
    made = request_read(request.pk)
    assert _fields(made) == _fields(Request.objects.get(pk=request.pk))
    with CaptureQueriesContext(connection) as queries, pytest.raises(Plan.DoesNotExist):
        made.plan  # noqa: B018 (the access is the test)
    # Known to have no plan: the access asks nothing, as after select_related("plan").
    assert len(queries) == 0


def test_a_request_is_read_with_its_plan_in_one_statement():
    request = _request()
    Plan.objects.create(request=request, stage=PlanStage.RESOLVING, identifiers={"email": ["ida@example.dk"]})
    with CaptureQueriesContext(connection) as queries:
        made = request_read(request.pk)
        assert made.plan.identifiers == {"email": ["ida@example.dk"]}
        assert made.plan.request is made
    assert len(queries) == 1
    assert request_read(request.pk + 1000) is None


def test_a_message_is_read_with_its_request_and_whether_an_earlier_one_waits():
    request = _request()
    receipt = Message.objects.get(request=request)
    later = Message.objects.create(request=request, kind="completed", language="da")
    staff = Message.objects.create(request=request, kind="staff_new", language="da", to_staff=True)
    no_request = Message.objects.create(request=None, kind="preference_code", language="en")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        first, second, for_staff, alone = (_message_read(m.pk) for m in (receipt, later, staff, no_request))
    assert len(queries) == 4
    if connection.features.has_select_for_update_of:
        assert all("FOR UPDATE OF" in query["sql"] for query in queries.captured_queries)
    assert (first.earlier_waiting, second.earlier_waiting) == (False, True)
    # Said of a staff message too, whose sending ignores it: staff messages wait for none.
    assert for_staff.earlier_waiting is True
    assert first.request.reference == request.reference
    assert _fields(second) == _fields(Message.objects.get(pk=later.pk))
    assert alone.request is None
    assert alone.earlier_waiting is False
    Message.objects.filter(pk=receipt.pk).update(status=MessageStatus.SENT)
    with transaction.atomic():
        assert _message_read(later.pk).earlier_waiting is False
        assert _message_read(later.pk + 1000) is None


def test_the_lock_clause_is_the_databases_own():
    clause = rows.for_update("m")
    if not connection.features.has_select_for_update:
        assert clause == ""
    elif connection.features.has_select_for_update_of:
        assert clause == " FOR UPDATE OF m"
    else:
        assert clause == " FOR UPDATE"

"""An event about a request takes the request before the audit chain, as the worker's jobs do, so they never deadlock.

A job locks its request (FOR UPDATE) and then records an event, which locks the
chain. A staff action recording an event about the same request meanwhile must
wait for the request before it takes the chain: had it taken the chain first,
its event's foreign-key check would wait on the job while the job waited on it.
PostgreSQL's row locks; SQLite writes one transaction at a time (CI=true runs these).
"""

import threading

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dsr.audit import Actor, audit_chain_verify, audit_record
from dsr.models import AuditAction, AuditEvent, Request
from dsr.workflow import request_submit
from tests.locks import ROW_LOCK_TESTS, run_until_it_waits

pytestmark = ROW_LOCK_TESTS


def test_an_event_about_a_request_a_job_holds_waits_for_the_job_and_both_are_recorded():
    request = request_submit(right="access", email="ida@example.dk", actor=Actor.subject()).request
    before = AuditEvent.objects.filter(request=request).count()

    def staff_note() -> None:
        with transaction.atomic():
            audit_record(actor=Actor.system(), action=AuditAction.REQUEST_NOTE_ADDED, request=request)

    with transaction.atomic():
        # The job: its request first, then (a moment later) its event.
        Request.objects.select_for_update().get(pk=request.pk)
        staff, failures = run_until_it_waits(staff_note, what="the staff action")
        audit_record(actor=Actor.system(), action=AuditAction.REQUEST_NOTE_ADDED, request=request, data={"job": 1})
    staff.join(timeout=30)

    assert not staff.is_alive()
    assert failures == []
    events = list(AuditEvent.objects.filter(request=request).order_by("seq")[before:])
    assert [event.data for event in events] == [{"job": 1}, {}]  # the job's first: the staff action waited
    assert audit_chain_verify()[1] is None


def test_a_filing_takes_no_lock_on_the_request_it_inserts_and_its_event_is_chained():
    # No other transaction can see a request before its filing commits, so there is no order of locks to keep:
    # one round trip less for every filing.
    with CaptureQueriesContext(connection) as queries:
        request = request_submit(right="access", email="ida@example.dk", actor=Actor.subject()).request

    assert not any("FOR KEY SHARE" in query["sql"] for query in queries.captured_queries)
    assert AuditEvent.objects.filter(request=request, action=AuditAction.REQUEST_SUBMITTED).count() == 1
    assert audit_chain_verify()[1] is None


def test_filings_made_together_each_append_once_to_an_intact_chain():
    failures = []

    def file(index: int) -> None:
        try:
            request_submit(right="access", email=f"person{index}@example.dk", actor=Actor.subject())
        except Exception as exc:  # the assertion below shows it
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=file, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert AuditEvent.objects.filter(action=AuditAction.REQUEST_SUBMITTED).count() == 6
    assert audit_chain_verify() == (AuditEvent.objects.count(), None)


def test_events_in_a_transaction_that_holds_their_request_take_it_once():
    from dsr.workflow import request_cancel

    request = request_submit(right="access", email="ida@example.dk", actor=Actor.subject()).request
    staff = Actor.integration("crm")

    with CaptureQueriesContext(connection) as held:
        request_cancel(request=request, actor=staff, reasons="Withdrawn by phone")
    with CaptureQueriesContext(connection) as alone, transaction.atomic():
        audit_record(actor=Actor.system(), action=AuditAction.REQUEST_NOTE_ADDED, request=request)

    # The cancellation locked the request for update before its events: they need no lock of their own.
    assert sum("FOR UPDATE" in query["sql"] and '"dsr_request"' in query["sql"] for query in held) >= 1
    assert AuditEvent.objects.filter(request=request, action=AuditAction.REQUEST_CANCELLED).exists()
    assert not [query for query in held if "FOR KEY SHARE" in query["sql"]]
    # An event in a transaction of its own still takes the request before the chain.
    assert len([query for query in alone if "FOR KEY SHARE" in query["sql"]]) == 1
    assert audit_chain_verify()[1] is None

"""Erasure: resolution, the dry-run plan per source, approval, execution, suppression, recipients, confirmation."""

import hashlib
import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
import yaml
from django.core import mail
from django.utils import timezone

from dsr.audit import Actor
from dsr.datamap.loading import datamap_load
from dsr.engine.jobs import job_run
from dsr.engine.manual import manual_task_complete
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import (
    Job,
    JobStatus,
    ManualTask,
    NotificationChannel,
    NotificationStatus,
    Operation,
    PlanStage,
    Status,
)
from dsr.recipients import NotificationError, recipient_notification_confirm, request_recipient_notifications
from dsr.rights.base import request_plan_approve
from dsr.suppression import suppression_check
from dsr.workflow import TransitionError
from tests.rights.conftest import PERSON, map_text, shop_rows
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def _job(request, source, operation):
    return Job.objects.get(request=request, source_key=source, operation=operation)


def test_erasure_waits_for_staff_with_a_dry_run_plan_per_source_and_changes_nothing(company, file):
    request = file("erasure")

    assert request.status == Status.AWAITING_APPROVAL
    assert request.plan.stage == PlanStage.AWAITING_APPROVAL
    plans = {job.source_key: job for job in request.jobs.filter(operation=Operation.ERASURE_PLAN)}
    assert set(plans) == {"shop", "chats", "adpartner", "chinook"}
    assert all(job.status == JobStatus.DONE for job in plans.values())
    shop_tables = {table["table"]: table for table in plans["shop"].result["tables"]}
    assert shop_tables["customer"]["action"] == "anonymise"
    assert shop_tables["invoice"]["action"] == "keep"
    assert shop_tables["invoice"]["hold"] == "bookkeeping"
    assert shop_tables["invoice"]["hold_until"]
    # A dry run: the person is still in the shop and at the ad partner.
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(1,)]
    assert hashlib.sha256(PERSON.encode()).hexdigest() in company.processor.audience
    assert not suppression_check(PERSON)


def test_approved_erasure_runs_every_source_then_suppresses_notifies_and_confirms(company, file, run, staff):
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    request.refresh_from_db()

    # The chats are erased by hand: the request waits for the owner's attestation.
    assert request.status == Status.IN_PROGRESS
    assert _job(request, "chats", Operation.ERASURE).status == JobStatus.WAITING
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(0,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM login WHERE customer_id = 1") == [(0,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM invoice WHERE customer_id = 1") != [(0,)]
    assert hashlib.sha256(PERSON.encode()).hexdigest() not in company.processor.audience

    task = ManualTask.objects.get(request=request, source_key="chats")
    manual_task_complete(task=task, finding="done", attestation="Deleted 3 chats in PureCloud", actor=staff)
    mail.outbox.clear()
    run(jobs_reconcile, now=_later(minutes=10))
    request.refresh_from_db()

    assert request.status == Status.COMPLETED
    assert request.plan.identifiers == {}
    assert suppression_check(PERSON.upper())
    notifications = {n.recipient_key: n for n in request_recipient_notifications(request)}
    assert set(notifications) == {"adyen", "braintree", "genesys", "demo_adpartner"}
    assert notifications["demo_adpartner"].channel == NotificationChannel.HTTP
    assert notifications["demo_adpartner"].status == NotificationStatus.SENT
    assert notifications["adyen"].channel == NotificationChannel.EMAIL
    sent_to = {tuple(message.to) for message in mail.outbox}
    assert ("dpo@adyen.example",) in sent_to
    confirmation = next(m for m in mail.outbox if m.to == [PERSON])
    assert "Kept because the law requires it" in confirmation.body
    assert "Bogføringsloven § 10" in confirmation.body
    assert "invoice" in confirmation.body
    # The formal letter: what was erased, what is kept under which law until when, who was told.
    [(filename, pdf, mimetype)] = confirmation.attachments
    assert mimetype == "application/pdf"
    assert filename.endswith(".pdf")
    letter = pdf_text(pdf)
    assert "Bogføringsloven § 10" in letter
    assert "Adyen" in letter
    assert "Datatilsynet" in letter


def test_erasure_runs_without_staff_when_the_privacy_team_chose_auto_approval(company, file, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")

    assert request.plan.approved_by == "system:"
    assert _job(request, "shop", Operation.ERASURE).status == JobStatus.DONE
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(0,)]


def test_erasure_executes_the_approved_plan_not_a_fresh_query(company, file, run, staff):
    request = file("erasure")
    # The person logs in again after staff saw the plan: that row was not in what they approved.
    with closing(sqlite3.connect(company.shop)) as conn:
        conn.execute("INSERT INTO login (customer_id, at, ip_address, user_agent) VALUES (1, '2026-01-01', 'x', 'y')")
        conn.commit()
    run(request_plan_approve, request=request, actor=staff)

    assert shop_rows(company.shop, "SELECT count(*) FROM login WHERE customer_id = 1") == [(1,)]


def test_a_plan_cannot_be_approved_twice(company, file, run, staff):
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)

    with pytest.raises(TransitionError):
        request_plan_approve(request=request, actor=staff)


def test_staff_partial_completion_after_a_failed_source_confirms_what_was_erased(company, file, run, staff):
    company.processor.mode = "down"
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    job = _job(request, "adpartner", Operation.ERASURE)
    for _ in range(10):
        job.refresh_from_db()
        if job.status != JobStatus.QUEUED:
            break
        Job.objects.filter(pk=job.pk).update(not_before=None)
        job_run(job_id=job.pk, max_attempts=3, backoff=lambda attempts: 0)
    request.refresh_from_db()

    assert job.status == JobStatus.FAILED
    assert "could not be reached" in job.last_error or "HTTP 500" in job.last_error
    assert PERSON not in job.last_error
    assert request.status == Status.NEEDS_ATTENTION

    from dsr.workflow import request_complete

    mail.outbox.clear()
    run(request_complete, request=request, actor=staff, partial=True, reasons="The ad partner could not be reached.")
    request.refresh_from_db()
    assert request.status == Status.PARTIALLY_COMPLETED
    confirmation = next(m for m in mail.outbox if m.to == [PERSON])
    assert "Anonymised" in confirmation.body

    # What was erased is still suppressed and announced to the recipients of the sources that changed.
    run(jobs_reconcile)
    request.refresh_from_db()
    assert suppression_check(PERSON)
    told = set(request_recipient_notifications(request).values_list("recipient_key", flat=True))
    assert told == {"adyen", "braintree"}  # the chats were not erased, the ad partner failed
    assert request.plan.identifiers == {}


def _later(**delta):
    return timezone.now() + timedelta(**delta)


def test_the_subject_is_never_in_the_audit_trail_of_the_work(company, file, run, staff):
    from dsr.models import AuditEvent

    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)

    for event in AuditEvent.objects.filter(request=request):
        assert PERSON not in str(event.data)
    assert Actor.system().type == "system"


def test_an_emailed_recipient_counts_as_told_once_the_message_went_out(company, file, run, staff, settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")
    tasks_finish(request, staff, run)
    run(jobs_reconcile)

    adyen = request_recipient_notifications(request).get(recipient_key="adyen")
    assert adyen.status == NotificationStatus.SENT
    assert adyen.notified_at is not None


def test_a_recipient_without_a_contact_is_told_by_staff_who_record_how(company, file, run, staff, settings):
    document = yaml.safe_load(map_text(shop=company.shop, chinook=company.chinook, processor_url=company.processor.url))
    del document["recipients"]["genesys"]["contact_email"]
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True), loaded_by="test")
    settings.DSR_ERASURE_AUTO_APPROVE = True
    request = file("erasure")
    tasks_finish(request, staff, run)

    genesys = request_recipient_notifications(request).get(recipient_key="genesys")
    assert genesys.channel == NotificationChannel.MANUAL
    assert genesys.status == NotificationStatus.PENDING
    with pytest.raises(NotificationError):
        recipient_notification_confirm(notification=genesys, note="  ", actor=staff)

    recipient_notification_confirm(notification=genesys, note="Phoned their privacy desk", actor=staff)
    genesys.refresh_from_db()
    assert genesys.status == NotificationStatus.SENT
    with pytest.raises(NotificationError):
        recipient_notification_confirm(notification=genesys, note="again", actor=staff)


def pdf_text(pdf: bytes) -> str:
    """Return the text of a PDF, as a reader would see it (poppler's pdftotext)."""
    import subprocess

    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()

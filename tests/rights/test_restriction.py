"""Restriction (GDPR Art. 18): the register, a mark in every source or a task, Art. 19 notices, and the lift."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from dsr.models import (
    AuditAction,
    Job,
    JobStatus,
    ManualFinding,
    ManualTask,
    ManualTaskStatus,
    MessageStatus,
    Operation,
    Status,
)
from dsr.restrictions import RestrictionError, restriction_check, restriction_lift_schedule, restriction_lift_state
from dsr.rights.restriction import restriction_lift, restrictions_lift_due
from tests.rights.conftest import PERSON, shop_rows
from tests.rights.helpers import closing_email, emails_to, notices, source_states, tasks_finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(company, file, run, staff):
    mail.outbox.clear()
    request = file("restriction", ground="accuracy_contested")
    tasks_finish(request, staff, run)
    return request


def test_restriction_marks_the_shop_and_enters_the_register_for_every_purpose(company, restricted):
    assert restricted.status == Status.COMPLETED
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(1,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE processing_restricted = 1") == [(1,)]
    assert restriction_check(PERSON, "newsletter")
    assert restriction_check(" Luisg@Embraer.com.br ", "purchase")
    assert not restriction_check("someone.else@example.dk", "newsletter")
    assert {entry.ground for entry in restricted.restrictions.all()} == {"accuracy_contested"}


def test_sources_that_cannot_mark_a_restriction_get_a_task_and_every_source_reports(company, file, run, staff):
    request = file("restriction", ground="accuracy_contested")

    tasks = {task.source_key: task for task in ManualTask.objects.filter(request=request)}
    # The chat owner marks the contact; the privacy team handles the ad partner and Chinook, which cannot.
    assert set(tasks) == {"chats", "adpartner", "chinook"}
    assert "restricted processing" in tasks["chats"].instructions
    assert tasks["adpartner"].owner == "dpo@madkassen-demo.example"
    assert request.status == Status.IN_PROGRESS

    tasks_finish(request, staff, run)
    assert source_states(request) == {"shop": "done", "chats": "done", "adpartner": "done", "chinook": "done"}


def test_the_answer_says_where_the_data_was_marked_and_who_was_told(restricted):
    body = closing_email(restricted).body

    assert "We have recorded the restriction of the processing of your data in our restriction register" in body
    assert "Marked as restricted:\n- Web shop and customer accounts: Customer account (1 record)" in body
    done_by_hand = body.split("Done by hand by the person responsible for the system:")[1].split("\n\n")[0]
    assert "Customer-service chat and calls (Genesys PureCloud)" in done_by_hand
    assert "Chinook music store" in done_by_hand
    assert "We will tell you before the restriction is lifted." in body
    assert "We have told these recipients" in body
    assert "Adyen" not in body


def test_recipients_are_told_of_a_restriction_only_if_they_received_the_restricted_data(restricted):
    told = notices(restricted, Operation.RESTRICTION)

    # The customer row goes to Meta and Google (retargeting, consent given), the chats to Genesys, the audience
    # to the ad partner; the payment processors get only the payment reference, which is not marked.
    assert set(told) == {"genesys", "facebook", "google", "demo_adpartner"}
    [meta] = emails_to("privacy@meta.example")
    assert "begrænset behandlingen af personens oplysninger" in meta.body
    assert f"E-mail: {PERSON}" in meta.body
    assert not emails_to("dpo@adyen.example")


def test_a_person_we_hold_nothing_about_is_told_nothing_was_found_to_mark(company, file, run, staff):
    stranger = "nobody-here@example.dk"
    request = file("restriction", email=stranger, ground="legal_claims")
    tasks_finish(request, staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert set(source_states(request).values()) == {"nothing_found"}
    body = closing_email(request).body
    assert "We found no data about you in our systems to mark as restricted." in body
    assert "Marked as restricted" not in body
    assert "Done by hand" not in body
    assert not notices(request)
    # The register still holds the person, so data that turns up later is not processed either.
    assert restriction_check(stranger, "purchase")


def test_the_register_keeps_no_plain_identifier(restricted):
    for entry in restricted.restrictions.all():
        assert PERSON not in entry.digest
        assert len(entry.digest) == 64


def test_lifting_before_telling_the_person_is_refused(restricted, staff):
    # GDPR Art. 18(3), named in the staff's language.
    with pytest.raises(RestrictionError, match=r"18(\(3\)|, stk\. 3)"):
        restriction_lift(request=restricted, actor=staff)

    assert restriction_check(PERSON, "newsletter")
    assert not restricted.jobs.filter(operation=Operation.RESTRICTION_LIFT).exists()


def test_lifting_after_telling_the_person_unmarks_every_source_that_was_marked(company, restricted, run, staff):
    mail.outbox.clear()
    # The notice goes out (the outbox sends it), and only then is the restriction lifted.
    run(restriction_lift_schedule, request=restricted, actor=staff, reasons="The data was verified as accurate.")
    assert [message.to for message in mail.outbox] == [[PERSON]]
    assert "verified as accurate" in mail.outbox[0].body

    assert not restriction_check(PERSON, "newsletter")
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(0,)]
    lifts = {job.source_key: job for job in restricted.jobs.filter(operation=Operation.RESTRICTION_LIFT)}
    assert set(lifts) == {"shop", "chats", "adpartner", "chinook"}
    assert lifts["shop"].status == JobStatus.DONE
    # Where a person marked it, a person lifts it: the request is closed, and their tasks still run.
    lift_tasks = ManualTask.objects.filter(request=restricted, operation=Operation.RESTRICTION_LIFT)
    assert set(lift_tasks.values_list("source_key", flat=True)) == {"chats", "adpartner", "chinook"}
    assert all(task.status == ManualTaskStatus.OPEN for task in lift_tasks)

    tasks_finish(restricted, staff, run)
    assert set(Job.objects.filter(pk__in=[j.pk for j in lifts.values()]).values_list("status", flat=True)) == {
        JobStatus.DONE
    }
    assert restricted.status == Status.COMPLETED


def test_a_restriction_cannot_be_lifted_twice(company, restricted, run, staff):
    run(restriction_lift_schedule, request=restricted, actor=staff, reasons="Verified.")
    assert not restriction_check(PERSON, "newsletter")

    with pytest.raises(RestrictionError):
        restriction_lift(request=restricted, actor=staff)
    with pytest.raises(RestrictionError, match=restricted.reference):
        restriction_lift_schedule(request=restricted, actor=staff, reasons="Again.")


# --- The lift waits for the notice (GDPR Art. 18(3)) ---------------------------------------------------


def _actions(request) -> list[str]:
    return list(request.audit_events.order_by("seq").values_list("action", flat=True))


def test_the_lift_takes_effect_only_after_the_notice_was_sent_and_the_audit_says_so(
    company, restricted, staff, django_capture_on_commit_callbacks
):
    # The notice is queued but the outbox has not sent it yet: nothing is lifted, whatever runs meanwhile.
    with django_capture_on_commit_callbacks(execute=False):
        restriction_lift_schedule(request=restricted, actor=staff, reasons="The data was verified as accurate.")
    assert restrictions_lift_due() == 0
    with pytest.raises(RestrictionError, match=r"18(\(3\)|, stk\. 3)"):
        restriction_lift(request=restricted, actor=staff)
    assert restriction_check(PERSON, "newsletter")
    assert restriction_lift_state(restricted).waiting
    assert not restricted.jobs.filter(operation=Operation.RESTRICTION_LIFT).exists()

    # The outbox sends it; the next sweep records the person told, then lifts.
    notice = restricted.messages.get(kind="restriction_lift")
    sent_at = timezone.now()
    type(notice).objects.filter(pk=notice.pk).update(status=MessageStatus.SENT, sent_at=sent_at)
    assert restrictions_lift_due() == 1

    assert not restriction_check(PERSON, "newsletter")
    entry = restricted.restrictions.first()
    assert entry.subject_told_at == sent_at
    assert entry.lifted_at >= sent_at
    actions = _actions(restricted)
    told, lifted = actions.index(AuditAction.RESTRICTION_SUBJECT_TOLD), actions.index(AuditAction.RESTRICTION_LIFTED)
    assert actions.index(AuditAction.RESTRICTION_LIFT_SCHEDULED) < told < lifted
    event = restricted.audit_events.get(action=AuditAction.RESTRICTION_LIFTED)
    assert event.data["notice"] == notice.pk
    assert event.data["told_at"] == sent_at.isoformat()


def test_a_notice_that_could_not_be_sent_keeps_the_restriction_and_staff_can_announce_again(
    company, restricted, run, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        restriction_lift_schedule(request=restricted, actor=staff, reasons="Verified.")
    with pytest.raises(RestrictionError, match=r"already been announced|allerede fået besked"):
        restriction_lift_schedule(request=restricted, actor=staff, reasons="Verified.")
    notice = restricted.messages.get(kind="restriction_lift")
    type(notice).objects.filter(pk=notice.pk).update(status=MessageStatus.FAILED, last_error="SMTPRecipientsRefused")

    assert restrictions_lift_due() == 0
    assert restriction_check(PERSON, "newsletter")
    assert restriction_lift_state(restricted).liftable

    mail.outbox.clear()
    run(restriction_lift_schedule, request=restricted, actor=staff, reasons="Verified, second notice.")
    assert [message.to for message in mail.outbox] == [[PERSON]]
    assert not restriction_check(PERSON, "newsletter")


def test_a_lift_announced_for_a_later_date_waits_for_that_date(company, restricted, run, staff):
    later = timezone.localdate() + timedelta(days=14)
    mail.outbox.clear()
    run(restriction_lift_schedule, request=restricted, actor=staff, reasons="Verified.", lift_date=later)

    assert "The restriction will be lifted on" in mail.outbox[0].body
    assert restriction_check(PERSON, "newsletter")
    assert restricted.restrictions.first().subject_told_at is not None
    with pytest.raises(RestrictionError, match=r"not before|ikke før"):
        restriction_lift(request=restricted, actor=staff)

    with time_machine.travel(timezone.now() + timedelta(days=14, hours=1)):
        assert run(restrictions_lift_due) == 1
    assert not restriction_check(PERSON, "newsletter")
    assert shop_rows(company.shop, "SELECT processing_restricted FROM customer WHERE id = 1") == [(0,)]


@pytest.mark.parametrize(
    ("reasons", "days", "error"),
    [("  ", 0, "Give the reasons|Angiv begrundelsen"), ("Verified.", -1, "in the past|i fortiden")],
)
def test_a_lift_needs_reasons_and_no_past_date_and_changes_nothing_otherwise(
    company, restricted, staff, reasons, days, error
):
    with pytest.raises(RestrictionError, match=error):
        restriction_lift_schedule(
            request=restricted, actor=staff, reasons=reasons, lift_date=timezone.localdate() + timedelta(days=days)
        )
    assert restriction_check(PERSON, "newsletter")
    assert not restricted.messages.filter(kind="restriction_lift").exists()
    assert AuditAction.RESTRICTION_LIFT_SCHEDULED not in _actions(restricted)


def test_a_danish_request_is_answered_in_danish(company, file, run, staff):
    mail.outbox.clear()
    request = file("restriction", ground="accuracy_contested", language="da")
    tasks_finish(request, staff, run)

    body = closing_email(request).body
    assert "Vi har registreret begrænsningen af behandlingen af dine oplysninger" in body
    assert "Markeret som begrænset:\n- Webshop og kundekonti: Kundekonto (1 post)" in body
    assert "Vi giver dig besked, før begrænsningen ophæves." in body
    for english in ("Marked as restricted", "record)", "Web shop", "We have told"):
        assert english not in body, english

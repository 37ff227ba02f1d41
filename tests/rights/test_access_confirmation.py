"""LGPD Art. 19 I: a `br` access request is told at once whether data was found, before the full answer.

The email is made from what the sources reported when the last of them answered its first search: the
systems that found the person and the kinds of data; "none found" only when every source answered with
nothing; a source still waiting for its owner or failed is "not complete", never "nothing".
"""

import pytest
from django.core import mail
from django.utils import translation

from dsr.audit import Actor
from dsr.engine.registry import handler_for
from dsr.models import AuditAction, AuditEvent, Job, JobStatus, ManualFinding, Message, MessageStatus, Operation, Status
from dsr.rights.confirmation import KIND, access_confirmation_send, job_answered
from dsr.views.staff.timeline import request_timeline
from dsr.workflow import request_submit
from tests.rights.conftest import PERSON, company_map_load
from tests.rights.helpers import emails_to, task_finish

pytestmark = pytest.mark.django_db

SHOP = "Web shop and customer accounts"


def _serve_brazil(company, change=None) -> None:
    def edit(document):
        document["controller"]["jurisdictions"] = ["dk", "se", "us-ca", "br"]
        if change is not None:
            change(document)

    company_map_load(company, edit)


def _first_answers(address: str = PERSON) -> list:
    return [m for m in emails_to(address) if "first answer to" in m.subject or "første svar på" in m.subject]


@pytest.fixture
def brazil(company):
    _serve_brazil(company)
    mail.outbox.clear()
    return company


@pytest.fixture
def file_br(run):
    """Return ``file_br(email=..., language=...)``: a `br` access request vouched for by the shop, run inline."""

    def make(email: str = PERSON, *, language: str = "en", right: str = "access", **kwargs):
        result = run(
            request_submit,
            right=right,
            email=email,
            actor=Actor.integration("shop"),
            language=language,
            pre_verified=True,
            jurisdiction="br",
            **kwargs,
        )
        result.request.refresh_from_db()
        return result.request

    return make


def test_the_person_is_told_at_once_what_was_found_and_that_the_search_is_not_complete(brazil, file_br, run, staff):
    request = file_br()

    # The chat system waits for its owner: the first answer goes now, and does not claim anything about it.
    assert request.jobs.get(source_key="chats", operation=Operation.ACCESS).status == JobStatus.WAITING
    [sent] = _first_answers()
    text = sent.body
    assert sent.subject == f"We hold data about you: first answer to {request.reference}"
    assert "We hold personal data about you in these systems:" in text
    shop_line = next(line for line in text.splitlines() if line.startswith(f"- {SHOP}"))
    assert "Contact data" in shop_line
    assert "Transaction data" in shop_line
    assert "- Chinook music store: Contact data, Identity data, Transaction data" in text
    assert "Our search is not complete: one system has not answered yet" in text
    assert "Customer-service chat and calls (Genesys PureCloud)" in text
    assert "found no personal data" not in text
    assert "Article 19 II" in text
    assert request.reference in text
    event = AuditEvent.objects.get(request=request, action=AuditAction.ACCESS_CONFIRMATION_SENT)
    message = Message.objects.get(request=request, kind=KIND)
    assert event.data["message_id"] == message.pk
    assert event.data["unfinished"] == 1
    assert event.data["holding"] >= 2
    assert message.status == MessageStatus.SENT

    # The owner answers and the request completes: the first answer is not sent again.
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)
    assert len(_first_answers()) == 1
    assert Message.objects.filter(request=request, kind=KIND).count() == 1
    request.refresh_from_db()
    assert request.status == Status.COMPLETED


def test_none_found_is_said_only_when_every_source_answered_with_nothing(brazil, file_br):
    _serve_brazil(brazil, lambda document: document["sources"].pop("chats"))
    request = file_br("nobody@example.org")

    [sent] = _first_answers("nobody@example.org")
    assert sent.subject == f"We found no data about you: first answer to {request.reference}"
    assert "We searched all our systems and found no personal data about you." in sent.body
    assert "not complete" not in sent.body
    assert "We hold personal data" not in sent.body


def test_a_source_still_searching_means_not_complete_even_when_nothing_was_found_elsewhere(brazil, file_br):
    request = file_br("nobody@example.org")

    [sent] = _first_answers("nobody@example.org")
    assert sent.subject == f"We are still searching for data about you: first answer to {request.reference}"
    assert "found no personal data" not in sent.body
    assert "We hold personal data" not in sent.body
    assert "Our search is not complete" in sent.body


def test_a_source_that_failed_for_good_is_not_complete_and_the_answer_still_goes(brazil, file_br, tmp_path):
    def broken_chinook(document):
        document["sources"]["chinook"]["url"] = f"sqlite:///{tmp_path / 'missing' / 'chinook.sqlite'}"

    _serve_brazil(brazil, broken_chinook)
    request = file_br()

    # The database is gone: the job failed for good and the request needs attention; the answer still goes.
    assert request.jobs.get(source_key="chinook", operation=Operation.ACCESS).status == JobStatus.FAILED
    [sent] = _first_answers()
    assert "Our search is not complete: 2 systems have not answered yet" in sent.body
    assert "Chinook" in sent.body.split("not complete", 1)[1]
    assert f"- {SHOP}" in sent.body


def test_the_first_answer_is_in_danish_for_a_danish_request(brazil, file_br):
    request = file_br(language="da")

    [sent] = _first_answers()
    assert sent.subject == f"Vi har oplysninger om dig: første svar på {request.reference}"
    assert "Vi har personoplysninger om dig i disse systemer:" in sent.body
    assert "- Chinook" in sent.body
    assert "Vores søgning er ikke færdig" in sent.body


def test_sending_again_or_a_job_run_again_sends_nothing_more(brazil, file_br, run):
    request = file_br()
    job = request.jobs.get(source_key="shop", operation=Operation.ACCESS)

    assert access_confirmation_send(request_id=request.pk) is None
    run(handler_for("access").job_reported, job=job)
    assert Message.objects.filter(request=request, kind=KIND).count() == 1
    assert AuditEvent.objects.filter(request=request, action=AuditAction.ACCESS_CONFIRMATION_SENT).count() == 1


def test_no_first_answer_under_a_law_that_has_none(brazil, file, staff, run):
    request = file("access")

    assert request.jurisdiction == "dk"
    assert not Message.objects.filter(request=request, kind=KIND).exists()
    assert _first_answers() == []


def test_no_first_answer_for_other_rights(brazil, file_br):
    request = file_br(right="erasure")

    assert not Message.objects.filter(request=request, kind=KIND).exists()


def test_no_first_answer_to_an_address_the_person_never_confirmed(brazil, run):
    # Staff checked who called by phone and typed the address: nobody showed they control it.
    result = run(
        request_submit,
        right="access",
        email=PERSON,
        actor=Actor.system(),
        language="en",
        identity_checked="staff_check",
        channel="phone",
        jurisdiction="br",
    )
    request = result.request

    assert request.jobs.filter(operation=Operation.ACCESS).exists()
    assert not Message.objects.filter(request=request, kind=KIND).exists()
    assert not AuditEvent.objects.filter(request=request, action=AuditAction.ACCESS_CONFIRMATION_SENT).exists()


@pytest.mark.parametrize(
    ("status", "attempts", "answered"),
    [
        (JobStatus.QUEUED, 0, False),
        (JobStatus.RUNNING, 1, False),
        (JobStatus.RUNNING, 2, True),
        (JobStatus.QUEUED, 1, True),
        (JobStatus.WAITING, 1, True),
        (JobStatus.DONE, 1, True),
        (JobStatus.FAILED, 3, True),
    ],
)
def test_a_job_has_answered_once_its_first_run_ended(status, attempts, answered):
    assert job_answered(Job(status=status, attempts=attempts)) is answered


def test_the_timeline_names_the_first_answer_and_what_it_said(brazil, file_br):
    request = file_br()

    with translation.override("en"):
        entries = request_timeline(request)
    event = next(e for e in entries if e.label == "Told the requester at once whether data was found")
    assert event.detail == "data found in 3 of 4 systems · 1 not answered yet"
    assert any(e.label == "Email: Whether data was found, at once (LGPD Art. 19 I) (English)" for e in entries)
    with translation.override("da"):
        entries = request_timeline(request)
    assert any(e.detail == "oplysninger fundet i 3 af 4 systemer · 1 har ikke svaret endnu" for e in entries)


def test_a_source_retried_after_an_error_is_not_complete_and_the_answer_does_not_wait_for_it(brazil, file_br):
    brazil.processor.mode = "down"
    request = file_br()

    job = request.jobs.get(source_key="adpartner", operation=Operation.ACCESS)
    assert job.status == JobStatus.QUEUED
    assert job.last_error
    [sent] = _first_answers()
    assert "Our search is not complete: 2 systems have not answered yet" in sent.body
    assert "Demo ad partner" in sent.body.split("not complete", 1)[1]
    assert "- Demo ad partner" not in sent.body

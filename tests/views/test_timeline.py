"""A request's timeline in words: source names, operations, counts and reasons, in the team's language."""

import pytest
from django.utils import translation

from dsr import workflow
from dsr.audit import Actor
from dsr.datamap.schema import DataMap
from dsr.models import Channel, Right, SuspensionReason, VerificationMethod
from dsr.views.staff.timeline import event_detail, request_timeline

pytestmark = pytest.mark.django_db

DATAMAP = DataMap(
    {
        "sources": {"shop": {"name": {"da": "Webshop", "en": "Web shop"}}},
        "purposes": {},
        "recipients": {},
    }
)


def _words(action: str, data: dict, language: str = "en", names: dict | None = None) -> str:
    with translation.override(language):
        return event_detail(action, data, datamap=DATAMAP, language=language, names=names or {})


def test_a_job_is_told_by_source_name_operation_and_what_it_counted():
    data = {"job": 18, "source": "shop", "operation": "access", "counts": {"records": 3, "provided": 1}}

    assert _words("job.done", data) == "Web shop · Collect the person's data · 3 rows, 1 row provided"
    assert _words("job.done", data, "da").startswith("Webshop · ")
    assert "3 rækker" in _words("job.done", data, "da")
    assert "18" not in _words("job.done", data)  # the job's id is on the jobs panel, not in the sentence


def test_identifiers_found_and_table_counts_are_said_in_words():
    resolve = {"source": "shop", "operation": "resolve", "counts": {"email": 2, "customer_number": 1}}
    plan = {"source": "shop", "operation": "erasure_plan", "counts": {"customer": 1, "orders": 12}}

    assert "2 email addresses, 1 customer number" in _words("job.done", resolve)
    assert "2 e-mailadresser, 1 kundenummer" in _words("job.done", resolve, "da")
    assert "customer: 1 row, orders: 12 rows" in _words("job.done", plan)


def test_reasons_dates_and_people_are_named_not_coded():
    assert _words("request.suspended", {"reason": "identity", "suspension_id": 4}) == (
        "Waiting for confirmation of identity"
    )
    assert _words("request.assigned", {"assignee": 7}, names={7: "colleague"}) == "to colleague"
    assert _words("request.assigned", {"assignee": None}) == "to no one"
    assert _words("request.extended", {"extended_due_date": "2026-06-05"}, "da") == "ny frist 05.06.2026"
    assert _words("request.verified", {"method": "email_code"}) == "Emailed code"
    assert _words("request.resumed", {"suspended_days": 3}) == "clock stopped 3 days in all"


def test_an_event_nothing_here_describes_still_shows_what_it_recorded():
    assert _words("something.new", {"widgets": 3, "colour": "blue"}) == "colour: blue · widgets: 3"


def test_the_request_page_timeline_reads_in_words(agent, settings):
    actor = Actor.staff(agent)
    request = workflow.request_submit(
        right=Right.ACCESS, email="ida@example.dk", actor=actor, channel=Channel.LETTER, language="da"
    ).request
    request = workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=actor)
    workflow.request_suspend(request=request, reason=SuspensionReason.CLARIFICATION, note="?", actor=actor)

    with translation.override("da"):
        entries = request_timeline(request)

    details = [entry.detail for entry in entries]
    assert "I gang · Kontrolleret af en medarbejder" in details
    assert "Afventer bekræftelse af e-mail · Indsigt (art. 15) · Brev" in details
    assert any(entry.label == "E-mail: Uret standset: spørgsmål til anmoderen (Dansk)" for entry in entries)
    assert not any("_id" in detail or "{" in detail for detail in details)


def test_every_kind_of_email_has_a_name_on_the_timeline():
    from dsr.message_templates import template_slots
    from dsr.views.staff.timeline import MESSAGE_KINDS

    kinds = {kind for kind, _language, _part in template_slots()}

    assert kinds - set(MESSAGE_KINDS) == set()

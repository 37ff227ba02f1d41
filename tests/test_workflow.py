"""The request lifecycle: filing, the clock, extensions, outcomes, and forbidden transitions."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from dsr import workflow
from dsr.audit import Actor
from dsr.models import (
    AuditEvent,
    Channel,
    IdentityLevel,
    Message,
    Request,
    Right,
    Status,
    Suspension,
    SuspensionReason,
    VerificationMethod,
)
from dsr.requests import REFUSAL_TEMPLATES
from dsr.workflow import RequestInvalid, TransitionError

CPH = ZoneInfo("Europe/Copenhagen")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; Danish is the default language."""
    with translation.override("en"):
        yield


@pytest.fixture
def staff(django_user_model):
    return Actor.staff(django_user_model.objects.create_user("agent", "agent@example.org", is_staff=True))


@pytest.fixture
def file_request(django_capture_on_commit_callbacks):
    """File a request through the service, running its after-commit work (emails)."""

    def file(**overrides) -> Request:
        values = {"right": Right.ACCESS, "email": "kunde@example.dk", "actor": Actor.subject()} | overrides
        with django_capture_on_commit_callbacks(execute=True):
            return workflow.request_submit(**values).request

    return file


@pytest.fixture
def in_progress(file_request, staff):
    def make(**overrides) -> Request:
        request = file_request(**overrides)
        return workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)

    return make


def _snapshot(request: Request) -> dict:
    request.refresh_from_db()
    return {f.name: getattr(request, f.name) for f in Request._meta.fields if f.name != "updated_at"}


# --- Filing -----------------------------------------------------------------------


def test_filing_stops_the_clock_until_the_email_is_confirmed_and_sends_the_code(file_request):
    request = file_request()
    assert request.status == Status.PENDING_VERIFICATION
    assert request.reference.startswith("DSR-")
    assert len(request.reference) == 23
    assert request.suspensions.get().reason == SuspensionReason.IDENTITY
    assert [m.kind for m in Message.objects.filter(request=request)] == ["verification"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["kunde@example.dk"]
    assert AuditEvent.objects.filter(request=request, action="request.submitted").exists()


def test_audit_events_hold_no_personal_data(file_request):
    request = file_request(email="very.private@example.dk", name="Hemmelig Person", phone="+45 12345678")
    for event in AuditEvent.objects.filter(request=request):
        text = f"{event.actor_id} {event.action} {event.data}"
        assert "very.private" not in text
        assert "Hemmelig" not in text
        assert "12345678" not in text


def test_an_integration_files_a_pre_verified_request_that_starts_at_once(file_request):
    request = file_request(pre_verified=True, channel=Channel.API, actor=Actor.integration("shop-account-page"))
    assert request.status == Status.IN_PROGRESS
    assert request.identity_level == IdentityLevel.ENHANCED
    assert request.verification_method == VerificationMethod.INTEGRATION
    assert not request.suspensions.exists()
    event = AuditEvent.objects.get(request=request, action="request.submitted")
    assert event.actor_type == "integration"
    assert event.actor_id == "shop-account-page"
    assert event.data["pre_verified"] is True
    assert [m.kind for m in request.messages.all()] == ["receipt"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"right": "teleportation"}, "right"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"name": "x" * 201}, "name"),
        ({"phone": "call me maybe"}, "phone"),
        ({"language": "sv"}, "language"),
        ({"channel": "pigeon"}, "channel"),
        ({"right": Right.RESTRICTION, "details": {}}, "ground"),
        ({"right": Right.RESTRICTION, "details": {"ground": "bored"}}, "ground"),
        ({"right": Right.OBJECTION, "details": {"scope": "profiling"}}, "grounds"),
        ({"right": Right.OBJECTION, "details": {"scope": "purpose", "grounds": "x"}}, "purposes"),
        ({"right": Right.RECTIFICATION, "details": {"corrections": []}}, "corrections"),
        ({"right": Right.RECTIFICATION, "details": {"corrections": [{"field": "name"}]}}, "corrections.0.correct"),
        ({"right": Right.CONSENT_WITHDRAWAL, "details": {"consents": ["Not A Key!"]}}, "consents"),
        ({"right": Right.ACCESS, "details": {"description": "x" * 5001}}, "description"),
        ({"right": Right.ACCESS, "details": {"corrections": []}}, "details"),
        ({"details": {"description": "nul\x00byte"}}, "description"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(file_request, overrides, field):
    with pytest.raises(RequestInvalid) as caught:
        file_request(**overrides)
    assert field in caught.value.message_dict
    assert not Request.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not mail.outbox


def test_every_problem_is_reported_at_once(file_request):
    with pytest.raises(RequestInvalid) as caught:
        file_request(email="nope", phone="??", right=Right.OBJECTION, details={})
    assert {"email", "phone", "scope"} <= set(caught.value.message_dict)


def test_a_receipt_time_in_the_future_is_refused(file_request):
    with pytest.raises(RequestInvalid, match="future"):
        file_request(received_at=datetime.now(tz=CPH) + timedelta(hours=1))


def test_marketing_objection_needs_no_grounds(file_request):
    request = file_request(right=Right.OBJECTION, details={"scope": "direct_marketing"})
    assert request.details == {"scope": "direct_marketing"}


def test_the_same_idempotency_key_returns_the_same_request(file_request):
    first = file_request(idempotency_key="abc-123")
    with pytest.raises(RequestInvalid, match="different request"):
        file_request(idempotency_key="abc-123", email="someone.else@example.dk")
    result = workflow.request_submit(
        right=Right.ACCESS, email="KUNDE@example.dk", actor=Actor.subject(), idempotency_key="abc-123"
    )
    assert result.request.pk == first.pk
    assert result.created is False
    assert Request.objects.count() == 1


# --- Deadlines and the clock -------------------------------------------------------


def test_staff_entered_letter_keeps_its_real_receipt_date(in_progress):
    received = datetime(2024, 3, 5, 9, 0, tzinfo=CPH)
    with time_machine.travel(datetime(2024, 3, 12, 10, 0, tzinfo=CPH)):
        request = in_progress(channel=Channel.LETTER, received_at=received)
    assert request.received_at == received
    assert request.due_date == date(2024, 4, 5)  # confirmed the day it was entered: no day stopped


def test_receipt_late_in_the_evening_counts_in_copenhagen_time(file_request):
    # 23:30 UTC on 4 March is 00:30 on 5 March in Copenhagen.
    with time_machine.travel(datetime(2024, 3, 4, 23, 30, tzinfo=ZoneInfo("UTC"))):
        request = file_request()
    assert request.due_date == date(2024, 4, 5)


def test_confirming_two_days_later_moves_the_deadline_by_two_days(file_request):
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        request = file_request()
    with time_machine.travel(datetime(2024, 3, 7, 10, 0, tzinfo=CPH)):
        workflow.request_verify(request=request, method=VerificationMethod.EMAIL_CODE, actor=Actor.subject())
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert request.suspended_days == 2
    assert request.due_date == date(2024, 4, 8)  # 5 April + 2 = Sunday 7 April -> Monday


def test_suspension_and_resume_add_the_stopped_days(in_progress, staff):
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        request = in_progress()
    with time_machine.travel(datetime(2024, 3, 10, 10, 0, tzinfo=CPH)):
        workflow.request_suspend(
            request=request, reason=SuspensionReason.CLARIFICATION, note="Which account?", actor=staff
        )
    request.refresh_from_db()
    assert request.status == Status.AWAITING_SUBJECT
    assert request.messages.filter(kind="suspended").exists()
    with time_machine.travel(datetime(2024, 3, 15, 10, 0, tzinfo=CPH)):
        workflow.request_resume(request=request, actor=staff)
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert request.suspended_days == 5
    assert request.due_date == date(2024, 4, 10)
    actions = list(AuditEvent.objects.filter(request=request).values_list("action", flat=True))
    assert "request.suspended" in actions
    assert "request.resumed" in actions


def test_asking_for_identity_requires_a_check_before_resuming(in_progress, staff, file_request):
    request = file_request()
    workflow.request_verify(request=request, method=VerificationMethod.EMAIL_LINK, actor=Actor.subject())
    workflow.request_suspend(
        request=request, reason=SuspensionReason.IDENTITY, note="Please confirm your customer number.", actor=staff
    )
    request.refresh_from_db()
    assert request.identity_required == IdentityLevel.ENHANCED
    with pytest.raises(TransitionError, match="identity check"):
        workflow.request_resume(request=request, actor=staff)
    workflow.request_identity_check(request=request, method=VerificationMethod.ATTRIBUTE_MATCH, actor=staff)
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert not request.suspensions.filter(ended_at__isnull=True).exists()


def test_extension_within_the_first_month_is_three_months_from_receipt(in_progress, staff):
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        request = in_progress()
    with time_machine.travel(datetime(2024, 4, 5, 16, 0, tzinfo=CPH)):
        workflow.request_extend(request=request, reasons="Many systems involved.", actor=staff)
    request.refresh_from_db()
    assert request.extended_due_date == date(2024, 6, 5)
    assert request.effective_due_date == date(2024, 6, 5)
    assert request.messages.filter(kind="extended").exists()


def test_a_late_extension_is_refused_and_changes_nothing(in_progress, staff):
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        request = in_progress()
    before = _snapshot(request)
    with time_machine.travel(datetime(2024, 4, 6, 9, 0, tzinfo=CPH)), pytest.raises(TransitionError, match="12\\(3\\)"):
        workflow.request_extend(request=request, reasons="Too late.", actor=staff)
    assert _snapshot(request) == before
    assert not AuditEvent.objects.filter(action="request.extended").exists()


def test_a_request_is_extended_only_once(in_progress, staff):
    request = in_progress()
    workflow.request_extend(request=request, reasons="Many systems.", actor=staff)
    with pytest.raises(TransitionError, match="already extended"):
        workflow.request_extend(request=request, reasons="Again.", actor=staff)


def test_extension_without_reasons_is_refused(in_progress, staff):
    request = in_progress()
    with pytest.raises(RequestInvalid, match="reasons"):
        workflow.request_extend(request=request, reasons="  ", actor=staff)


# --- Outcomes ------------------------------------------------------------------------


def test_refusal_needs_a_ground_and_reasons_and_closes_the_request(in_progress, staff):
    request = in_progress()
    with pytest.raises(RequestInvalid):
        workflow.request_refuse(request=request, ground="excessive", reasons="", actor=staff)
    with pytest.raises(RequestInvalid):
        workflow.request_refuse(request=request, ground="because", reasons="No.", actor=staff)
    workflow.request_refuse(request=request, ground="manifestly_unfounded", reasons="It asks for a poem.", actor=staff)
    request.refresh_from_db()
    assert request.status == Status.REFUSED
    assert request.closed_at is not None
    assert request.refusal_ground == "manifestly_unfounded"
    assert request.messages.filter(kind="refused").exists()


@pytest.mark.parametrize("language", ["en", "da"])
@pytest.mark.parametrize("ground", ["manifestly_unfounded", "excessive", "identity_not_established", "exemption"])
def test_a_refusal_with_only_the_templates_opening_words_is_refused_and_changes_nothing(
    in_progress, staff, ground, language
):
    # GDPR Art. 12(4): the person is told this request's reasons, not only the ground.
    request = in_progress()
    opening = REFUSAL_TEMPLATES[ground][language]
    for reasons in (opening, opening.strip().rstrip(":"), opening.upper() + " :"):
        with pytest.raises(RequestInvalid) as caught:
            workflow.request_refuse(request=request, ground=ground, reasons=reasons, actor=staff)
        assert "own reasons" in caught.value.message_dict["reasons"][0]
    request.refresh_from_db()
    assert request.status == Status.IN_PROGRESS
    assert not request.messages.filter(kind="refused").exists()
    workflow.request_refuse(
        request=request, ground=ground, reasons=opening + "the same request for the fourth time.", actor=staff
    )
    request.refresh_from_db()
    assert request.status == Status.REFUSED


def test_partial_completion_requires_the_reasons(in_progress, staff):
    request = in_progress()
    with pytest.raises(RequestInvalid):
        workflow.request_complete(request=request, actor=staff, partial=True)
    workflow.request_complete(
        request=request, actor=staff, partial=True, reasons="Invoices kept under the Bookkeeping Act."
    )
    request.refresh_from_db()
    assert request.status == Status.PARTIALLY_COMPLETED
    assert request.outcome_reasons == "Invoices kept under the Bookkeeping Act."


def test_completing_what_no_source_reported_doing_requires_staff_to_say_what_was_done(in_progress, staff):
    # No data map, so no source did anything: the letter can only say what the privacy team writes.
    request = in_progress()
    before = _snapshot(request)
    with pytest.raises(RequestInvalid, match="No source reported doing anything") as raised:
        workflow.request_complete(request=request, actor=staff)

    assert "reasons" in raised.value.message_dict
    assert _snapshot(request) == before
    assert not request.messages.filter(kind="completed").exists()
    workflow.request_complete(request=request, actor=staff, reasons="Sent the order history by registered post.")
    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert request.outcome_reasons == "Sent the order history by registered post."
    assert request.messages.filter(kind="completed").exists()


def test_cancelling_while_unconfirmed_closes_the_open_suspension(file_request, staff):
    request = file_request()
    workflow.request_cancel(request=request, actor=staff, reasons="Duplicate of another request.")
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert not Suspension.objects.filter(request=request, ended_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("request_complete", {}),
        ("request_extend", {"reasons": "x"}),
        ("request_refuse", {"ground": "excessive", "reasons": "x"}),
        ("request_cancel", {}),
        ("request_resume", {}),
        ("request_suspend", {"reason": "clarification", "note": "x"}),
    ],
)
def test_a_closed_request_refuses_every_action_and_changes_nothing(in_progress, staff, action, kwargs):
    request = in_progress()
    workflow.request_complete(request=request, actor=staff, reasons="Answered by letter from the privacy team.")
    before = _snapshot(request)
    events = AuditEvent.objects.count()
    with pytest.raises(TransitionError, match=request.reference):
        getattr(workflow, action)(request=request, actor=staff, **kwargs)
    assert _snapshot(request) == before
    assert AuditEvent.objects.count() == events


def test_an_unconfirmed_request_cannot_be_completed(file_request, staff):
    request = file_request()
    with pytest.raises(TransitionError, match="awaiting email confirmation"):
        workflow.request_complete(request=request, actor=staff, reasons="Answered by letter from the privacy team.")


def test_unconfirmed_requests_expire_after_the_configured_days(file_request, settings):
    settings.DSR_UNVERIFIED_EXPIRY_DAYS = 14
    with time_machine.travel(datetime(2024, 3, 1, 10, 0, tzinfo=CPH)):
        old = file_request()
    with time_machine.travel(datetime(2024, 3, 14, 10, 0, tzinfo=CPH)):
        recent = file_request(email="other@example.dk")
    with time_machine.travel(datetime(2024, 3, 16, 10, 0, tzinfo=CPH)):
        assert workflow.requests_expire_unverified() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == Status.EXPIRED
    assert old.messages.filter(kind="expired").exists()
    assert recent.status == Status.PENDING_VERIFICATION


def test_staff_get_one_reminder_digest_for_requests_due_soon_or_overdue(
    in_progress, settings, django_user_model, django_capture_on_commit_callbacks
):
    django_user_model.objects.create_user("lead", "lead@example.org", is_staff=True)
    settings.DSR_REMINDER_DAYS_BEFORE = 5
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        due_soon = in_progress()
    with time_machine.travel(datetime(2024, 3, 25, 10, 0, tzinfo=CPH)):
        in_progress(email="later@example.dk")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert workflow.requests_remind_staff(today=date(2024, 4, 1)) == 1
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"agent@example.org", "lead@example.org"}
    assert due_soon.reference in mail.outbox[0].body


def test_status_token_opens_only_its_own_request_and_reissue_kills_old_links(file_request, staff):
    request = file_request()
    other = file_request(email="b@example.dk")
    token = workflow.request_status_token(request)
    assert workflow.request_by_status_token(reference=request.reference, token=token) == request
    assert workflow.request_by_status_token(reference=other.reference, token=token) is None
    assert workflow.request_by_status_token(reference=request.reference, token=token[:-1] + "x") is None
    workflow.request_status_link_reissue(request=request, actor=staff)
    request.refresh_from_db()
    assert workflow.request_by_status_token(reference=request.reference, token=token) is None
    assert request.messages.filter(kind="status_link").exists()


# --- Retention -------------------------------------------------------------------------


def test_closed_requests_lose_personal_details_after_the_retention_period(in_progress, staff, settings):
    settings.DSR_RECORD_RETENTION_DAYS = 365
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        old = in_progress(email="old@example.dk", name="Gammel Kunde", phone="+45 11223344")
        workflow.request_refuse(request=old, ground="excessive", reasons="Gammel Kunde asked 5 times.", actor=staff)
    with time_machine.travel(datetime(2025, 1, 5, 10, 0, tzinfo=CPH)):
        recent = in_progress(email="recent@example.dk")
        workflow.request_complete(request=recent, actor=staff, reasons="Answered by letter from the privacy team.")
        still_open = in_progress(email="open@example.dk")
    with time_machine.travel(datetime(2025, 3, 6, 10, 0, tzinfo=CPH)):
        assert workflow.requests_purge_closed() == 1
        assert workflow.requests_purge_closed() == 0
    old.refresh_from_db()
    assert (old.email, old.name, old.phone, old.outcome_reasons) == ("", "", "", "")
    assert old.purged_at is not None
    assert old.status == Status.REFUSED
    assert old.refusal_ground == "excessive"
    assert AuditEvent.objects.filter(request=old, action="request.purged").exists()
    recent.refresh_from_db()
    still_open.refresh_from_db()
    assert recent.email == "recent@example.dk"
    assert still_open.email == "open@example.dk"
    with pytest.raises(TransitionError, match="still open"):
        workflow.request_purge(request=still_open, actor=staff)


def test_staff_entering_a_checked_request_start_it_without_emailing_a_code(file_request):
    request = file_request(channel=Channel.PHONE, identity_checked=VerificationMethod.STAFF_CHECK)
    assert request.status == Status.IN_PROGRESS
    assert request.identity_level == IdentityLevel.ENHANCED
    assert request.verification_method == VerificationMethod.STAFF_CHECK
    assert not request.suspensions.exists()
    assert not request.challenges.exists()
    assert [m.kind for m in request.messages.all()] == ["receipt"]
    event = AuditEvent.objects.get(request=request, action="request.submitted")
    assert event.data["identity_checked"] == "staff_check"


def test_an_unknown_identity_check_method_is_refused(file_request):
    with pytest.raises(RequestInvalid) as caught:
        file_request(identity_checked="looked_trustworthy")
    assert "identity_checked" in caught.value.message_dict
    assert not Request.objects.exists()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("DSR-7K2M-9QXP-4HTV-C3RW", "DSR-7K2M-9QXP-4HTV-C3RW"),
        ("dsr-7k2m-9qxp-4htv-c3rw", "DSR-7K2M-9QXP-4HTV-C3RW"),
        ("7K2M-9QXP-4HTV-C3RW", "DSR-7K2M-9QXP-4HTV-C3RW"),
        (" 7k2m 9qxp 4htv c3rw ", "DSR-7K2M-9QXP-4HTV-C3RW"),
        ("7K2M9QXP4HTVC3RW", "DSR-7K2M-9QXP-4HTV-C3RW"),
        ("DSR 7K2M9QXP 4HTV C3RW", "DSR-7K2M-9QXP-4HTV-C3RW"),
        ("not a reference", "NOT A REFERENCE"),
        ("7K2M-9QXP", "7K2M-9QXP"),
    ],
)
def test_a_reference_is_found_however_it_is_typed(typed, stored):
    from dsr.requests import reference_normalise

    assert reference_normalise(typed) == stored


def test_a_reference_is_four_groups_of_four_symbols_from_the_readable_alphabet_every_symbol_as_likely():
    from collections import Counter

    from dsr.workflow.filing import _REFERENCE_ALPHABET

    references = [workflow.reference_new() for _ in range(6000)]
    assert all(re.fullmatch(r"DSR-(?:[A-HJKMNP-TV-Z2-9]{4}-){3}[A-HJKMNP-TV-Z2-9]{4}", ref) for ref in references)
    assert len(set(references)) == len(references)
    counts = Counter("".join(ref[4:].replace("-", "") for ref in references))
    assert set(counts) == set(_REFERENCE_ALPHABET)
    # Taking every byte modulo 30 would favour the first 16 symbols: 9 bytes each against 8, 56.25 % of all
    # symbols drawn instead of 53.3 %. Over 96,000 symbols one standard deviation is 0.16 %.
    first = sum(counts[symbol] for symbol in _REFERENCE_ALPHABET[:16]) / sum(counts.values())
    assert abs(first - 16 / 30) < 0.008


def test_a_reference_draws_again_for_random_bytes_that_would_favour_some_symbols(monkeypatch):
    from dsr.workflow import filing

    draws = iter([bytes([255, 240, 0, 29]) + bytes([250] * 16), bytes(range(30, 50))])
    monkeypatch.setattr(filing.secrets, "token_bytes", lambda count: next(draws))
    # 0 → A, 29 → 9; 240 and above skipped; then 30 → A, 31 → B, ...
    assert workflow.reference_new() == "DSR-A9AB-CDEF-GHJK-MNPQ"

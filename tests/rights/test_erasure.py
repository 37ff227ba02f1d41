"""Erasure (GDPR Art. 17): the dry run, approval, execution, suppression, Art. 19 notices and the confirmation.

Everything the person and the recipients are told is checked against what the
sources did: the confirmation email and its PDF letter, the recorded outcome,
and the RecipientNotification rows and notice emails.
"""

import sqlite3
from contextlib import closing
from datetime import date

import pytest
from django.core import mail
from django.utils import timezone, translation

from dsr.engine.jobs import job_run
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import (
    AuditEvent,
    Job,
    JobStatus,
    ManualFinding,
    NotificationChannel,
    NotificationStatus,
    Operation,
    PlanStage,
    Status,
)
from dsr.portal import request_result
from dsr.recipients import NotificationError, recipient_notification_confirm
from dsr.rights.base import request_plan_approve
from dsr.rights.erasure import FIELD_METHODS, erasure_dry_run, field_method_label
from dsr.suppression import suppression_check
from dsr.workflow import TransitionError, request_complete
from tests.rights.conftest import (
    PERSON,
    PERSON_SHA256,
    company_map_load,
    shop_consents,
    shop_execute,
    shop_rows,
)
from tests.rights.helpers import (
    closing_email,
    emails_to,
    letter_text,
    names_listed,
    notices,
    outcome_of,
    source_states,
    task_finish,
    tasks_finish,
)

pytestmark = pytest.mark.django_db


def _job(request, source, operation):
    return Job.objects.get(request=request, source_key=source, operation=operation)


@pytest.fixture
def auto_approve(settings):
    settings.DSR_ERASURE_AUTO_APPROVE = True


@pytest.fixture
def erased(company, file, run, staff, auto_approve):
    """Return PERSON's erasure, approved at once, with the chat owner's deletion attested; the outbox holds its mail."""
    mail.outbox.clear()
    request = file("erasure")
    tasks_finish(request, staff, run)
    return request


# --- The dry run and the approval -------------------------------------------------------------


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
    # A dry run: the person is still in the shop and at the ad partner, and nobody was told anything.
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(1,)]
    assert PERSON_SHA256 in company.processor.audience
    assert not suppression_check(PERSON)
    assert not notices(request)


@pytest.mark.parametrize(
    ("language", "anonymise", "request_label"),
    [("da", "anonymisér", "spørg databehandleren"), ("en", "anonymise", "ask the processor")],
)
def test_the_dry_run_the_team_reviews_names_each_action_in_their_language(
    company, file, language, anonymise, request_label
):
    request = file("erasure")

    with translation.override(language):
        rows = {(row["source"], row.get("table")): row for row in erasure_dry_run(request)}
        labels = {key: str(row.get("action_label", "")) for key, row in rows.items()}
        keyed_hash = str(FIELD_METHODS["hash"])

    assert labels[("shop", "customer")] == anonymise
    assert labels[("adpartner", "processor")] == request_label
    assert rows[("chats", None)]["task_owner"]
    assert ("email", keyed_hash) in rows[("shop", "customer")]["fields"]


def test_approved_erasure_changes_the_sources_and_waits_for_the_chat_owner(company, file, run, staff):
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    request.refresh_from_db()

    assert request.status == Status.IN_PROGRESS
    assert _job(request, "chats", Operation.ERASURE).status == JobStatus.WAITING
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(0,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM login WHERE customer_id = 1") == [(0,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM invoice WHERE customer_id = 1") == [(4,)]
    assert PERSON_SHA256 not in company.processor.audience
    # Nothing is announced before every source has reported.
    assert not notices(request)
    assert not suppression_check(PERSON)


def test_erasure_runs_without_staff_when_the_privacy_team_chose_auto_approval(company, file, auto_approve):
    request = file("erasure")

    assert request.plan.approved_by == "system:"
    assert _job(request, "shop", Operation.ERASURE).status == JobStatus.DONE
    assert shop_rows(company.shop, "SELECT count(*) FROM customer WHERE email = ?", PERSON) == [(0,)]


def test_erasure_executes_the_approved_plan_not_a_fresh_query(company, file, run, staff):
    request = file("erasure")
    # The person logs in again after staff saw the plan: that row was not in what they approved.
    shop_execute(
        company.shop, "INSERT INTO login (customer_id, at, ip_address, user_agent) VALUES (1, '2026-01-01', 'x', 'y')"
    )
    run(request_plan_approve, request=request, actor=staff)

    assert shop_rows(company.shop, "SELECT count(*) FROM login WHERE customer_id = 1") == [(1,)]


def test_a_plan_cannot_be_approved_twice(company, file, run, staff):
    request = file("erasure")
    run(request_plan_approve, request=request, actor=staff)
    jobs = request.jobs.count()

    with pytest.raises(TransitionError):
        request_plan_approve(request=request, actor=staff)
    assert request.jobs.count() == jobs


# --- What the person is told -------------------------------------------------------------------


def test_the_confirmation_lists_the_erased_and_anonymised_tables_with_their_counts(erased):
    assert erased.status == Status.COMPLETED
    body = closing_email(erased).body

    assert "We have erased your personal data as listed below" in body
    erased_part = body.split("Erased:")[1].split("Anonymised")[0]
    assert "- Web shop and customer accounts: Addresses (1 record)" in erased_part
    assert "- Web shop and customer accounts: Log-ins (3 records)" in erased_part
    assert "- Web shop and customer accounts: Payment methods (1 record)" in erased_part
    assert "- Web shop and customer accounts: Newsletter (1 record)" in erased_part
    anonymised_part = body.split("Anonymised")[1].split("Done by hand")[0]
    assert "- Web shop and customer accounts: Customer account (1 record)" in anonymised_part
    assert "- Chinook music store: Customer (1 record)" in anonymised_part
    # The chats were erased by their owner, the ad partner by its own OpenGDPR request.
    assert "Done by hand by the person responsible for the system:\n- Customer-service chat and calls" in body
    assert "- Demo ad partner (hashed email audience; demo): they have confirmed it is done" in body


def test_the_confirmation_lists_the_kept_tables_with_their_hold_law_and_a_future_date(erased):
    body = closing_email(erased).body
    kept = {
        line["table"]: line
        for source in outcome_of(erased)["sources"]
        for line in source["lines"]
        if line["kind"] == "kept"
    }

    assert set(kept) == {"orders", "order_line", "invoice", "consent", "Invoice", "InvoiceLine"}
    assert kept["invoice"]["count"] == 4
    assert kept["Invoice"]["count"] == 7
    until = date.fromisoformat(kept["invoice"]["until"])
    assert until > timezone.localdate()
    kept_part = body.split("Kept because the law requires it")[1]
    assert (
        "- Web shop and customer accounts: Invoices (4 records), Bookkeeping obligation, "
        f"Danish Bookkeeping Act (Bogføringsloven) § 10, until {until.day} {until:%B %Y}"
    ) in kept_part
    assert "- Chinook music store: Invoice (7 records), Bookkeeping obligation" in kept_part
    assert "- Web shop and customer accounts: Consents (2 records), Evidence of consent, GDPR Art. 7(1)" in kept_part


def test_the_pdf_letter_says_what_was_erased_kept_under_which_law_and_who_was_told(erased):
    letter = letter_text(closing_email(erased))

    assert "Confirmation of the erasure of your personal data" in letter
    assert "What we erased" in letter
    assert "Newsletter" in letter  # the table as the map names it, not as the database does
    assert "What we must keep" in letter
    assert "Invoices 4 Bookkeeping obligation, Danish Bookkeeping Act (Bogføringsloven) § 10 31 December 2030" in letter
    assert "Recipients we have told" in letter
    assert "Meta Platforms Ireland Ltd." in letter
    assert "Datatilsynet" in letter
    assert erased.reference in letter


def test_a_table_without_rows_for_the_person_gets_no_line_and_its_recipients_are_not_told(
    company, file, run, staff, auto_approve
):
    shop_execute(company.shop, "DELETE FROM preference WHERE customer_id = 1")
    shop_execute(company.shop, "DELETE FROM payment_reference WHERE customer_id = 1")
    request = file("erasure")
    tasks_finish(request, staff, run)

    message = closing_email(request)
    letter = letter_text(message)
    for text in (message.body, letter):
        assert "Preferences" not in text
        assert "Payment methods" not in text
        assert "(0 " not in text
    tables = {line["table"] for source in outcome_of(request)["sources"] for line in source["lines"]}
    assert "preference" not in tables
    assert "payment_reference" not in tables
    # GDPR Art. 19: the payment processors received nothing that changed.
    assert not {"adyen", "braintree"} & set(notices(request))
    assert not emails_to("dpo@adyen.example")


def test_rows_whose_hold_has_ended_are_erased_and_no_past_date_is_stated(company, file, run, staff, auto_approve):
    # Bookkeeping Act § 10: the 2015 orders and invoices were to be kept until the end of 2020, no longer.
    shop_execute(company.shop, "UPDATE orders SET placed_at = '2015-03-01 10:00:00' WHERE customer_id = 1")
    shop_execute(company.shop, "UPDATE invoice SET issued_at = '2015-03-04 10:00:00' WHERE customer_id = 1")
    request = file("erasure")
    tasks_finish(request, staff, run)

    assert shop_rows(company.shop, "SELECT count(*) FROM invoice WHERE customer_id = 1") == [(0,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM orders WHERE customer_id = 1") == [(0,)]
    assert shop_rows(company.shop, "SELECT count(*) FROM order_line") == shop_rows(
        company.shop, "SELECT count(*) FROM order_line JOIN orders ON orders.id = order_line.order_id"
    )
    message = closing_email(request)
    erased = message.body.split("Erased:")[1].split("\n\n")[0]
    assert "- Web shop and customer accounts: Invoices (4 records)" in erased
    assert "Orders (" in erased
    assert "Order lines (" in erased
    kept = message.body.split("Kept because", 1)[1] if "Kept because" in message.body else ""
    assert ": Invoices (" not in kept
    for text in (message.body, letter_text(message)):
        assert "2020" not in text


def test_a_danish_request_gets_its_confirmation_and_letter_in_danish(company, file, run, staff, auto_approve):
    request = file("erasure", language="da")
    tasks_finish(request, staff, run)

    message = closing_email(request)
    assert "Vi har slettet dine personoplysninger som beskrevet nedenfor" in message.body
    assert "- Webshop og kundekonti: Log-ind (3 poster)" in message.body
    assert "Fakturaer (4 poster), Bogføringspligt, Bogføringsloven § 10, indtil 31. december 2030" in message.body
    assert "Gjort i hånden af den ansvarlige for systemet:\n- Kundeservice-chat og opkald" in message.body
    for english in ("Erased", "Kept because", "records", "Web shop", "Danish Bookkeeping Act", "until "):
        assert english not in message.body, english
    letter = letter_text(message)
    assert "Bogføringsloven § 10" in letter
    assert "Webshop og kundekonti: Fakturaer 4 Bogføringspligt, Bogføringsloven § 10 31. december 2030" in letter
    assert "Danish Bookkeeping Act" not in letter
    assert "What we erased" not in letter


def test_erasure_suppresses_the_person_and_forgets_their_identifiers(erased):
    assert suppression_check(PERSON.upper())
    erased.plan.refresh_from_db()
    assert erased.plan.identifiers == {}
    assert erased.plan.stage == PlanStage.DONE


def test_the_chat_owner_finding_nothing_makes_the_chats_nothing_found_in_the_letter(
    company, file, run, staff, auto_approve
):
    request = file("erasure")
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    assert source_states(request)["chats"] == "nothing_found"
    body = closing_email(request).body
    assert "We found no data about you in: Customer-service chat and calls (Genesys PureCloud)." in body
    assert "Done by hand" not in body
    assert "Erased by hand" not in letter_text(closing_email(request))
    # Nothing changed in the chats: Genesys, which receives only from them, is not told.
    assert "genesys" not in notices(request)


@pytest.fixture
def erased_twice(company, file, run, staff, auto_approve):
    """Return PERSON's second erasure, after the first erased them everywhere; the outbox holds only its mail."""
    first = file("erasure")
    tasks_finish(first, staff, run)
    mail.outbox.clear()
    second = file("erasure")
    task_finish(second, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)
    return second


def test_a_second_erasure_finds_nothing_tells_no_recipient_and_still_suppresses(erased_twice):
    assert erased_twice.status == Status.COMPLETED
    assert source_states(erased_twice) == {
        "shop": "nothing_found",
        "chats": "nothing_found",
        "adpartner": "asked",
        "chinook": "nothing_found",
    }
    body = closing_email(erased_twice).body
    for section in ("Erased:", "Anonymised", "Kept because", "Done by hand", "We have told these recipients"):
        assert section not in body, section
    # The ad partner is sent the request again: only it can say whether it holds the person.
    assert "- Demo ad partner (hashed email audience; demo): they have confirmed it is done" in body
    assert not notices(erased_twice)
    assert [message.to for message in mail.outbox if message.to != [PERSON]] == []
    assert outcome_of(erased_twice)["summary"]["changed"] is False
    assert suppression_check(PERSON)


def test_a_second_erasure_tells_the_person_the_systems_searched_held_no_data_about_them(erased_twice):
    for text in (closing_email(erased_twice).body, letter_text(closing_email(erased_twice))):
        assert "found no" in text
        for name in (
            "Web shop and customer accounts",
            "Customer-service chat and calls (Genesys PureCloud)",
            "Chinook music store",
        ):
            assert name in text, name


def test_erasure_of_an_email_no_source_holds_says_no_personal_data_was_found(company, file, run, staff, auto_approve):
    # A company whose sources are all its own: nothing is sent to a processor that could hold the person.
    company_map_load(company, lambda document: document["sources"].pop("adpartner"))
    stranger = "nobody-here@example.dk"
    request = file("erasure", email=stranger)
    task_finish(request, "chats", staff, run, finding=ManualFinding.NOTHING_FOUND)

    assert request.status == Status.COMPLETED
    body = closing_email(request).body
    assert names_listed(
        body, "We searched ", " and found no personal data about you, so there was nothing to erase."
    ) == {
        "Web shop and customer accounts",
        "Customer-service chat and calls (Genesys PureCloud)",
        "Chinook music store",
    }
    letter = letter_text(closing_email(request))
    assert "found no personal data about you, so there was nothing to erase" in letter
    assert "What we erased" not in letter
    assert not notices(request)
    assert suppression_check(stranger)


# --- Art. 19: who is told, and what ---------------------------------------------------------------


def test_recipients_are_told_only_of_changes_to_data_they_received(erased):
    told = notices(erased, Operation.ERASURE)

    assert set(told) == {"adyen", "braintree", "genesys", "facebook", "google", "demo_adpartner"}
    # The payment processors receive the payment reference only: its deletion, never a contact change.
    assert told["adyen"].categories == ["financial"]
    assert told["braintree"].categories == ["financial"]
    # Meta and Google receive the hashed email for retargeting (consent given): contact data only.
    assert told["facebook"].categories == ["contact"]
    assert told["google"].categories == ["contact"]
    assert set(told["genesys"].categories) == {"identity", "contact", "usage"}
    names = [entry["name"] for entry in outcome_of(erased)["notified"]]
    assert "We have told these recipients" in closing_email(erased).body
    for name in names:
        assert name in closing_email(erased).body


def test_the_ad_partner_is_told_by_its_own_erasure_request_not_by_email(erased):
    partner = notices(erased)["demo_adpartner"]

    assert partner.channel == NotificationChannel.HTTP
    assert partner.status == NotificationStatus.SENT
    sent = _job(erased, "adpartner", Operation.ERASURE).result["reference"]
    assert partner.reference == sent
    assert not emails_to("demo-adpartner@madkassen-demo.example")


def test_a_recipient_holding_no_identifier_of_the_person_is_told_by_staff_not_by_email(erased):
    # Adyen has the payment reference only: an email could name the person by nothing Adyen already holds.
    adyen = notices(erased)["adyen"]

    assert adyen.channel == NotificationChannel.MANUAL
    assert adyen.identifier_kinds == []
    assert adyen.status == NotificationStatus.PENDING
    assert not emails_to("dpo@adyen.example")


def test_the_letter_says_recipients_staff_must_still_tell_are_being_told_not_that_they_were(erased):
    body = closing_email(erased).body
    letter = letter_text(closing_email(erased))

    told, telling = body.split("Our privacy team is telling these recipients")
    # Adyen is told by staff, later: never in the "we have told" line. Meta was emailed at the close.
    assert "Adyen N.V." in telling
    assert "Adyen N.V." not in told
    assert "Meta Platforms Ireland Ltd." in told.split("We have told these recipients")[1]
    assert "Recipients our privacy team is telling" in letter
    assert letter.index("Adyen N.V.") > letter.index("Recipients our privacy team is telling")


def test_once_staff_record_telling_a_recipient_the_status_page_says_it_was_told(erased, staff):
    adyen = notices(erased)["adyen"]
    with translation.override("en"):
        before = request_result(erased)
    recipient_notification_confirm(notification=adyen, note="Emailed their DPO from the shared inbox", actor=staff)

    with translation.override("en"):
        after = request_result(erased)

    told_before, telling_before = before.split("Our privacy team is telling")
    assert "Adyen N.V." in telling_before
    assert "Adyen N.V." not in told_before
    told_after, _, telling_after = after.partition("Our privacy team is telling")
    assert "Adyen N.V." in told_after.split("We have told these recipients")[1]
    assert "Adyen N.V." not in telling_after


def test_a_notice_names_the_person_by_the_identifiers_the_recipient_received(company, file, run, staff, auto_approve):
    [(phone, customer_no)] = shop_rows(company.shop, "SELECT phone, customer_no FROM customer WHERE id = 1")
    shop_phone = "+" + "".join(digit for digit in phone if digit.isdigit())
    erased = file("erasure")
    tasks_finish(erased, staff, run)

    meta = notices(erased)["facebook"]
    assert meta.identifier_kinds == ["email", "phone"]
    [notice] = emails_to("privacy@meta.example")
    assert "sletning af personoplysninger" in notice.subject
    assert f"E-mail: {PERSON}" in notice.body
    assert shop_phone in notice.body
    # The customer number is identity data, which Meta never received.
    assert customer_no not in notice.body
    assert "Kundenummer" not in notice.body
    assert erased.reference in notice.body


def test_a_notice_never_names_an_identifier_only_a_source_the_recipient_gets_nothing_from_holds(
    company, file, run, staff, auto_approve
):
    # Chinook's phone number for the person went to no recipient: Meta receives from the shop only.
    with closing(sqlite3.connect(company.chinook)) as conn:
        [(chinook_phone,)] = conn.execute("SELECT Phone FROM Customer WHERE CustomerId = 1").fetchall()
    chinook_digits = "".join(digit for digit in chinook_phone if digit.isdigit())
    mail.outbox.clear()
    tasks_finish(file("erasure"), staff, run)

    [notice] = emails_to("privacy@meta.example")
    assert chinook_digits not in "".join(character for character in notice.body if character.isdigit())


def test_meta_and_google_are_not_told_of_a_person_who_never_gave_the_ad_consent(
    company, file, run, staff, auto_approve
):
    shop_consents(company.shop, given=("newsletter",))
    company.processor.audience.discard(PERSON_SHA256)
    request = file("erasure")
    tasks_finish(request, staff, run)

    told = set(notices(request))
    assert not {"facebook", "google"} & told
    assert {"adyen", "braintree", "genesys"} <= told
    assert not emails_to("privacy@meta.example")
    assert not emails_to("privacy@google.example")
    assert "Meta Platforms" not in closing_email(request).body


def test_meta_and_google_are_told_when_the_ad_consent_was_given_and_withdrawn_since(
    company, file, run, staff, auto_approve
):
    # The hashed email went to them while the consent was given (GDPR Art. 19).
    shop_consents(company.shop, given=("newsletter",), withdrawn=("ad_retargeting",))
    request = file("erasure")
    tasks_finish(request, staff, run)

    assert {"facebook", "google"} <= set(notices(request))
    assert len(emails_to("privacy@meta.example")) == 1


def test_an_emailed_recipient_counts_as_told_once_the_message_went_out(erased, run):
    run(jobs_reconcile)

    meta = notices(erased)["facebook"]
    assert meta.channel == NotificationChannel.EMAIL
    assert meta.status == NotificationStatus.SENT
    assert meta.notified_at is not None
    assert len(emails_to("privacy@meta.example")) == 1


def test_a_recipient_without_a_contact_address_is_told_by_staff_who_record_how(company, file, run, staff, auto_approve):
    company_map_load(company, lambda document: document["recipients"]["facebook"].pop("contact_email"))
    request = file("erasure")
    tasks_finish(request, staff, run)

    meta = notices(request)["facebook"]
    assert meta.channel == NotificationChannel.MANUAL
    assert meta.status == NotificationStatus.PENDING
    # An emailed recipient is not the team's to record as told.
    emailed = notices(request)["google"]
    with pytest.raises(NotificationError):
        recipient_notification_confirm(notification=emailed, note="Told", actor=staff)

    recipient_notification_confirm(notification=meta, note="Sent through Meta's privacy form", actor=staff)
    meta.refresh_from_db()
    assert meta.status == NotificationStatus.SENT
    assert meta.note == "Sent through Meta's privacy form"
    with pytest.raises(NotificationError):
        recipient_notification_confirm(notification=meta, note="again", actor=staff)


# --- Failures and staff completing part of it --------------------------------------------------


@pytest.fixture
def partly_erased(company, file, run, staff):
    """Return PERSON's erasure closed partly done by staff after the ad partner failed for good."""
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
    assert "HTTP 500" in job.last_error
    assert PERSON not in job.last_error
    assert request.status == Status.NEEDS_ATTENTION

    mail.outbox.clear()
    run(request_complete, request=request, actor=staff, partial=True, reasons="The ad partner could not be reached.")
    run(jobs_reconcile)
    request.refresh_from_db()
    return request


def test_staff_close_a_failed_erasure_partly_done_and_the_letter_says_only_what_was_done(partly_erased):
    assert partly_erased.status == Status.PARTIALLY_COMPLETED
    body = closing_email(partly_erased).body
    assert "- Web shop and customer accounts: Customer account (1 record)" in body
    assert names_listed(body, "Not finished: ") == {
        "Customer-service chat and calls (Genesys PureCloud)",
        "Demo ad partner (hashed email audience; demo)",
    }
    assert "they have confirmed it is done" not in body
    assert "Done by hand" not in body
    assert "The ad partner could not be reached." in body
    # Told: those that received changed data from the shop; not Genesys (the chats were not erased), not the
    # ad partner (its request failed).
    assert set(notices(partly_erased)) == {"adyen", "braintree", "facebook", "google"}
    partly_erased.plan.refresh_from_db()
    assert partly_erased.plan.identifiers == {}


def test_a_partly_done_erasure_still_puts_the_person_on_the_suppression_list(partly_erased):
    # The shop's account was anonymised: a marketing import must not bring the person back.
    assert suppression_check(PERSON)


def test_the_subject_is_never_in_the_audit_trail_of_the_work(erased):
    events = AuditEvent.objects.filter(request=erased)

    assert events.filter(action="outcome.recorded").exists()
    for event in events:
        assert PERSON not in str(event.data)
        assert PERSON_SHA256 not in str(event.data)


def test_the_sources_rows_are_consistent_after_erasure(erased, company):
    with closing(sqlite3.connect(company.shop)) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM invoice WHERE customer_id NOT IN (SELECT id FROM customer)"
        ).fetchone()
        [(first, last)] = conn.execute("SELECT first_name, last_name FROM customer WHERE id = 1").fetchall()
    assert orphans == (0,)
    assert (first, last) == ("[erased]", "[erased]")


@pytest.mark.parametrize(
    ("method", "da", "en"),
    [
        ({"set": False}, "sæt til false", "set to false"),
        ({"set": 0}, "sæt til 0", "set to 0"),
        ({"truncate": "year"}, "afkort til året", "truncate to the year"),
        ({"truncate": "month"}, "afkort til måneden", "truncate to the month"),
        ("null", "tøm", "clear"),
        ("hash", "nøglehash", "keyed hash"),
    ],
)
def test_the_dry_run_names_every_anonymiser_in_both_languages(method, da, en):
    with translation.override("da"):
        assert field_method_label(method) == da
    with translation.override("en"):
        assert field_method_label(method) == en

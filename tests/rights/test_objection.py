"""Objection (GDPR Art. 21): direct marketing, and profiling for it, stop at once; other processing is weighed.

In the demo map the direct-marketing purposes are those with marketing data
(newsletter, other_marketing, ad_retargeting); ad_retargeting is also the one
profiling purpose, so an objection to profiling is one to direct marketing.
"""

import pytest
from django.core import mail
from django.utils import timezone

from dsr.models import MessageStatus, Operation, PlanStage, Status
from dsr.restrictions import OBJECTION_DIRECT_MARKETING, OBJECTION_UPHELD, restriction_check, restriction_lift_state
from dsr.rights.objection import OBJECTION_PENDING, objection_decide
from dsr.rights.restriction import restrictions_lift_due
from dsr.suppression import suppression_check
from dsr.workflow import RequestInvalid, TransitionError
from tests.rights.conftest import PERSON, PERSON_SHA256, shop_rows
from tests.rights.helpers import closing_email, names_listed, notices, outcome_of

pytestmark = pytest.mark.django_db

MARKETING = {"newsletter", "other_marketing", "ad_retargeting"}


def _register(request) -> set[tuple[str, str]]:
    """Return the request's register entries in force, as (ground, purpose)."""
    return set(request.restrictions.filter(lifted_at__isnull=True).values_list("ground", "purpose"))


def test_objection_to_direct_marketing_is_carried_out_at_once_without_balancing(company, file):
    request = file("objection", scope="direct_marketing")

    assert request.status == Status.COMPLETED
    assert request.plan.decision == ""
    assert shop_rows(company.shop, "SELECT purpose, granted FROM consent WHERE customer_id = 1 ORDER BY purpose") == [
        ("ad_retargeting", 0),
        ("newsletter", 0),
    ]
    assert PERSON_SHA256 not in company.processor.audience
    assert request.jobs.filter(source_key="adpartner", operation=Operation.AUDIENCE_REMOVAL).exists()
    assert suppression_check(PERSON)
    assert _register(request) == {(OBJECTION_DIRECT_MARKETING, purpose) for purpose in MARKETING}
    assert restriction_check(PERSON, "other_marketing")
    assert not restriction_check(PERSON, "purchase")


def test_the_answer_to_a_direct_marketing_objection_says_what_stopped_and_what_was_withdrawn(company, file):
    mail.outbox.clear()
    request = file("objection", scope="direct_marketing")

    body = closing_email(request).body
    assert names_listed(body, "We no longer use your data for: ", ", and we have put you on the list") == {
        "Newsletter",
        "Other marketing to existing customers",
        "Targeted advertising with ad partners",
    }
    assert "and we have put you on the list of people we do not market to." in body
    assert "- Newsletter: withdrawn in Web shop and customer accounts" in body
    assert "- Targeted advertising with ad partners: withdrawn in Web shop and customer accounts" in body
    assert "- Demo ad partner (hashed email audience; demo): they have confirmed it is done" in body
    # Nothing was erased, corrected or restricted in a source: Art. 19 has nobody to tell.
    assert not notices(request)


def test_objection_to_profiling_for_direct_marketing_stops_it_at_once_without_balancing(company, file, staff):
    request = file("objection", scope="profiling", grounds="I do not want to be profiled.")

    assert request.status == Status.COMPLETED
    assert request.plan.stage == PlanStage.DONE
    assert _register(request) == {(OBJECTION_DIRECT_MARKETING, "ad_retargeting")}
    assert shop_rows(company.shop, "SELECT purpose, granted FROM consent WHERE customer_id = 1 ORDER BY purpose") == [
        ("ad_retargeting", 0),
        ("newsletter", 1),
    ]
    assert PERSON_SHA256 not in company.processor.audience
    # The person objected to the profiling, not to all marketing: the newsletter they signed up to goes on, so
    # they are not put on the suppression list that keeps them out of every marketing list.
    assert not suppression_check(PERSON)
    [stopped] = [item for item in outcome_of(request)["items"] if item["state"] == "stopped"]
    assert stopped["purposes"] == ["ad_retargeting"]
    assert stopped["weighed"] == []
    with pytest.raises(TransitionError):
        objection_decide(request=request, upheld=True, reasons="x", actor=staff)


def test_an_objection_to_direct_marketing_has_no_decision_to_take(company, file, staff):
    request = file("objection", scope="direct_marketing")

    with pytest.raises(TransitionError):
        objection_decide(request=request, upheld=True, reasons="x", actor=staff)


def test_an_objection_naming_a_direct_marketing_purpose_stops_it_at_once(company, file):
    # GDPR Art. 21(3): marketing to existing customers is direct marketing, whatever its legal basis.
    request = file("objection", scope="purpose", purpose="other_marketing", grounds="No more offers, please.")

    assert request.status == Status.COMPLETED
    assert (OBJECTION_DIRECT_MARKETING, "other_marketing") in _register(request)
    # One marketing purpose stops; the suppression list is for an objection to all direct marketing.
    assert not suppression_check(PERSON)


def test_an_objection_naming_a_purpose_by_its_danish_name_stops_that_purpose(company, file):
    request = file(
        "objection", scope="purpose", purpose="Anden markedsføring til eksisterende kunder", grounds="Nej tak."
    )

    assert request.status == Status.COMPLETED
    assert (OBJECTION_DIRECT_MARKETING, "other_marketing") in _register(request)


# --- Art. 21(1): a purpose based on legitimate interests is weighed ------------------------------------


def test_objection_to_a_purpose_restricts_it_while_staff_balance(company, file):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")

    assert request.status == Status.AWAITING_APPROVAL
    assert request.plan.stage == PlanStage.AWAITING_DECISION
    assert _register(request) == {(OBJECTION_PENDING, "customer_service")}
    assert restriction_check(PERSON, "customer_service")
    assert not restriction_check(PERSON, "purchase")
    # Nothing stops for good before the decision, and the person is not suppressed.
    assert not suppression_check(PERSON)
    assert not request.jobs.exclude(operation="resolve").exists()


def test_an_objection_naming_the_purpose_by_its_name_restricts_that_purpose(company, file):
    request = file("objection", scope="purpose", purpose="Customer service and enquiries", grounds="I moved abroad.")

    assert request.plan.stage == PlanStage.AWAITING_DECISION
    assert restriction_check(PERSON, "customer_service")


def test_an_upheld_objection_stops_the_purpose_for_good(company, file, run, staff):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")
    mail.outbox.clear()
    request = run(
        objection_decide, request=request, upheld=True, reasons="Your grounds override our interest.", actor=staff
    )

    assert request.status == Status.COMPLETED
    assert request.plan.decision == "upheld"
    assert _register(request) == {(OBJECTION_UPHELD, "customer_service")}
    assert restriction_check(PERSON, "customer_service")
    body = closing_email(request).body
    assert "We have dealt with your objection" in body
    assert "Your grounds override our interest." in body


def test_a_rejected_objection_is_refused_with_reasons_and_the_interim_restriction_ends(company, file, run, staff):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")
    mail.outbox.clear()
    request = run(
        objection_decide,
        request=request,
        upheld=False,
        reasons="We must keep answering the open complaint you filed.",
        actor=staff,
    )

    assert request.status == Status.REFUSED
    assert request.plan.decision == "rejected"
    assert "open complaint" in request.outcome_reasons
    assert not restriction_check(PERSON, "customer_service")
    assert _register(request) == set()
    body = closing_email(request).body
    assert "open complaint" in body
    assert "Datatilsynet" in body


def test_the_interim_restriction_holds_until_the_decision_letter_has_gone_out(
    company, file, staff, django_capture_on_commit_callbacks
):
    request = file("objection", scope="purpose", purposes=["customer_service"], grounds="I moved abroad.")
    with django_capture_on_commit_callbacks(execute=False):
        objection_decide(request=request, upheld=False, reasons="We must answer your open complaint.", actor=staff)

    # Refused, but the letter saying so has not been sent: the purpose stays restricted (GDPR Art. 18(1)(d)).
    assert restrictions_lift_due() == 0
    assert restriction_check(PERSON, "customer_service")
    letter = request.messages.get(kind="refused")
    assert set(request.restrictions.filter(ground=OBJECTION_PENDING).values_list("lift_notice_id", flat=True)) == {
        letter.pk
    }

    type(letter).objects.filter(pk=letter.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    assert restrictions_lift_due() == 1
    assert not restriction_check(PERSON, "customer_service")
    for entry in request.restrictions.filter(ground=OBJECTION_PENDING):
        assert entry.subject_told_at is not None
        assert entry.lifted_at >= entry.subject_told_at


def test_a_decision_letter_that_could_not_be_sent_keeps_the_interim_restriction(
    company, file, staff, django_capture_on_commit_callbacks
):
    request = file("objection", scope="purpose", purposes=["customer_service"], grounds="I moved abroad.")
    with django_capture_on_commit_callbacks(execute=False):
        objection_decide(request=request, upheld=False, reasons="We must answer your open complaint.", actor=staff)
    letter = request.messages.get(kind="refused")
    type(letter).objects.filter(pk=letter.pk).update(status=MessageStatus.FAILED, last_error="SMTPRecipientsRefused")

    assert restrictions_lift_due() == 0
    assert restriction_check(PERSON, "customer_service")
    # Staff can tell the person with the lift notice instead (the dashboard offers it).
    assert restriction_lift_state(request).liftable


# --- The purposes the person ticks are the register's keys ----------------------------------------------


def test_ticked_purposes_are_restricted_by_their_keys_while_staff_balance(company, file):
    request = file(
        "objection",
        scope="purpose",
        purposes=["customer_service", "other_marketing"],
        purpose="Something I cannot name",
        grounds="I moved abroad.",
    )

    # other_marketing is direct marketing: it stops at once; customer_service is weighed meanwhile.
    assert request.plan.stage == PlanStage.AWAITING_DECISION
    assert _register(request) == {
        (OBJECTION_PENDING, "customer_service"),
        (OBJECTION_DIRECT_MARKETING, "other_marketing"),
    }
    assert restriction_check(PERSON, "customer_service")
    assert not restriction_check(PERSON, "purchase")


def test_words_that_name_no_purpose_restrict_every_purpose_while_staff_balance(company, file, run, staff):
    request = file("objection", scope="purpose", purpose="the thing with the loyalty points", grounds="Because.")

    assert _register(request) == {(OBJECTION_PENDING, "")}
    assert restriction_check(PERSON, "purchase")
    assert restriction_check(PERSON, "customer_service")


def test_upheld_the_ticked_purposes_stop_for_good_and_the_words_alone_do_not_stop_everything(company, file, run, staff):
    request = file(
        "objection",
        scope="purpose",
        purposes=["customer_service"],
        purpose="the thing with the loyalty points",
        grounds="I moved abroad.",
    )
    request = run(objection_decide, request=request, upheld=True, reasons="Your grounds prevail.", actor=staff)

    assert _register(request) == {(OBJECTION_UPHELD, "customer_service")}
    assert not restriction_check(PERSON, "purchase")


def test_an_unknown_purpose_key_is_refused_with_a_clear_error(company, file):
    with pytest.raises(RequestInvalid) as raised:
        file("objection", scope="purpose", purposes=["no_such_purpose"], grounds="Because.")
    assert "no_such_purpose" in " ".join(raised.value.message_dict["purposes"])


def test_a_named_purpose_objection_needs_a_ticked_purpose_or_words(company, file):
    with pytest.raises(RequestInvalid) as raised:
        file("objection", scope="purpose", grounds="Because.")
    assert set(raised.value.message_dict) == {"purposes"}


def test_a_balancing_decision_needs_reasons(company, file, staff):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")

    with pytest.raises(RequestInvalid):
        objection_decide(request=request, upheld=True, reasons="  ", actor=staff)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL
    assert restriction_check(PERSON, "customer_service")


def test_a_danish_objection_to_direct_marketing_is_answered_in_danish(company, file):
    mail.outbox.clear()
    request = file("objection", scope="direct_marketing", language="da")

    body = closing_email(request).body
    assert "Vi har behandlet din indsigelse (databeskyttelsesforordningens artikel 21)." in body
    assert names_listed(body, "Vi bruger ikke længere dine oplysninger til: ", ", og vi har sat dig på listen") == {
        "Nyhedsbrev",
        "Anden markedsføring til eksisterende kunder",
        "Målrettede annoncer hos reklamepartnere",
    }
    assert "- Nyhedsbrev: trukket tilbage i Webshop og kundekonti" in body
    assert "- Demo-reklamepartner (hashet e-mail-målgruppe; demo): de har bekræftet, at det er gjort" in body
    for english in ("Newsletter", "withdrawn", "Web shop", "confirmed"):
        assert english not in body, english

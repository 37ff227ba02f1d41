"""Objection: to direct marketing at once and for good; to other processing after staff's balancing."""

import hashlib

import pytest

from dsr.models import Operation, PlanStage, Status
from dsr.restrictions import restriction_check
from dsr.rights.objection import objection_decide
from dsr.suppression import suppression_check
from dsr.workflow import RequestInvalid, TransitionError
from tests.rights.conftest import PERSON, shop_rows

pytestmark = pytest.mark.django_db


def test_objection_to_direct_marketing_is_carried_out_at_once_without_balancing(company, file):
    request = file("objection", scope="direct_marketing")

    assert request.status == Status.COMPLETED
    assert shop_rows(company.shop, "SELECT purpose, granted FROM consent WHERE customer_id = 1 ORDER BY purpose") == [
        ("ad_retargeting", 0),
        ("newsletter", 0),
    ]
    assert hashlib.sha256(PERSON.encode()).hexdigest() not in company.processor.audience
    assert suppression_check(PERSON)
    assert restriction_check(PERSON, "other_marketing")
    assert not restriction_check(PERSON, "purchase")
    assert request.jobs.filter(source_key="adpartner", operation=Operation.AUDIENCE_REMOVAL).exists()


def test_objection_to_a_purpose_restricts_it_while_staff_balance(company, file):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")

    assert request.status == Status.AWAITING_APPROVAL
    assert request.plan.stage == PlanStage.AWAITING_DECISION
    assert restriction_check(PERSON, "customer_service")
    assert not restriction_check(PERSON, "purchase")


def test_an_upheld_objection_stops_the_purpose_for_good(company, file, run, staff):
    request = file("objection", scope="profiling", grounds="I do not want to be profiled.")
    request = run(objection_decide, request=request, upheld=True, reasons="No overriding grounds.", actor=staff)

    assert request.status == Status.COMPLETED
    assert request.plan.decision == "upheld"
    assert restriction_check(PERSON, "ad_retargeting")


def test_a_rejected_objection_is_refused_with_reasons_and_the_interim_restriction_ends(company, file, run, staff):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")
    request = run(
        objection_decide,
        request=request,
        upheld=False,
        reasons="We must keep answering the open complaint you filed.",
        actor=staff,
    )

    assert request.status == Status.REFUSED
    assert "open complaint" in request.outcome_reasons
    assert not restriction_check(PERSON, "customer_service")


def test_a_balancing_decision_needs_reasons(company, file, staff):
    request = file("objection", scope="purpose", purpose="customer_service", grounds="I moved abroad.")

    with pytest.raises(RequestInvalid):
        objection_decide(request=request, upheld=True, reasons="  ", actor=staff)
    request.refresh_from_db()
    assert request.status == Status.AWAITING_APPROVAL


def test_an_objection_to_direct_marketing_has_no_decision_to_take(company, file, staff):
    request = file("objection", scope="direct_marketing")

    with pytest.raises(TransitionError):
        objection_decide(request=request, upheld=True, reasons="x", actor=staff)

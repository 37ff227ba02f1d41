"""California's request to limit the use of sensitive personal information (Cal. Civ. Code § 1798.121).

It is an objection with the scope "sensitive" under the us-ca profile: it stops exactly the purposes the
data map marks with ``sensitive_beyond_permitted`` (the demo: other_marketing, which uses the diet), withdraws
their consents in the sources, and tells the recipients of data a source reported changing (CCPA regs
§ 7027(g)). The answer says only what was recorded and what the sources reported.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from dsr.models import Job, Operation, Request, Status
from dsr.restrictions import LIMIT_SENSITIVE, restriction_check
from dsr.suppression import suppression_check
from dsr.workflow import RequestInvalid
from tests.rights.conftest import PERSON, company_map_load, shop_rows
from tests.rights.helpers import closing_email, notices, outcome_of

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")
CONSENTS = "SELECT purpose, granted FROM consent WHERE customer_id = 1 ORDER BY purpose"


def _register(request) -> set[tuple[str, str]]:
    return set(request.restrictions.filter(lifted_at__isnull=True).values_list("ground", "purpose"))


def _mark_retargeting(document: dict) -> None:
    document["purposes"]["ad_retargeting"]["sensitive_beyond_permitted"] = True


def _mark_none(document: dict) -> None:
    for purpose in document["purposes"].values():
        purpose.pop("sensitive_beyond_permitted", None)


def test_a_limit_records_the_marked_purpose_and_touches_no_consent_it_is_not_tied_to(company, file):
    mail.outbox.clear()
    request = file("objection", jurisdiction="us-ca", scope="sensitive")

    assert request.status == Status.COMPLETED
    assert _register(request) == {(LIMIT_SENSITIVE, "other_marketing")}
    assert restriction_check(PERSON, "other_marketing")
    assert not restriction_check(PERSON, "purchase")
    # other_marketing rests on legitimate interests: no consent to withdraw, so no source is asked anything.
    assert not Job.objects.filter(request=request).exclude(operation=Operation.RESOLVE).exists()
    assert shop_rows(company.shop, CONSENTS) == [("ad_retargeting", 1), ("newsletter", 1)]
    # A limit is not an opt-out of marketing: the person stays off the suppression list.
    assert not suppression_check(PERSON)
    assert not notices(request)

    body = " ".join(closing_email(request).body.split())
    assert "(Right to limit the use of sensitive personal information (Cal. Civ. Code § 1798.121))" in body
    assert (
        "We have recorded in our register that we no longer use it for: Other marketing to existing customers." in body
    )
    assert "withdrawn" not in body
    assert "We have told" not in body


def test_a_limit_withdraws_the_tied_consent_and_tells_the_recipients_that_received_the_data(company, file):
    company_map_load(company, _mark_retargeting)
    mail.outbox.clear()
    request = file("objection", jurisdiction="us-ca", scope="sensitive")

    assert request.status == Status.COMPLETED
    assert _register(request) == {(LIMIT_SENSITIVE, "other_marketing"), (LIMIT_SENSITIVE, "ad_retargeting")}
    assert shop_rows(company.shop, CONSENTS) == [("ad_retargeting", 0), ("newsletter", 1)]
    # The consent rows went to Meta and Google under the retargeting consent (the map's lineage); the shop's
    # consent table holds no identifier they received, so the privacy team tells them by hand.
    told = notices(request, Operation.CONSENT_WITHDRAWAL)
    assert set(told) == {"facebook", "google"}
    assert {notification.channel for notification in told.values()} == {"manual"}
    [stopped] = [item for item in outcome_of(request)["items"] if item["state"] == "stopped"]
    assert set(stopped["purposes"]) == {"other_marketing", "ad_retargeting"}
    assert stopped["limited"]
    assert not stopped["suppressed"]

    body = " ".join(closing_email(request).body.split())
    assert (
        'Your consent to "Targeted advertising with ad partners" was withdrawn in: Web shop and customer accounts.'
        in body
    )
    assert "We are telling: " in body
    for notification in told.values():
        assert notification.recipient_name in body
    assert "We have told" not in body


def test_a_limit_already_in_force_changes_nothing_and_tells_nobody(company, file):
    company_map_load(company, _mark_retargeting)
    file("objection", jurisdiction="us-ca", scope="sensitive")
    mail.outbox.clear()
    again = file("objection", jurisdiction="us-ca", scope="sensitive", email=PERSON)

    assert again.status == Status.COMPLETED
    assert not notices(again)
    body = " ".join(closing_email(again).body.split())
    assert 'Your consent to "Targeted advertising with ad partners" had already been withdrawn in' in body
    assert "We have told" not in body


def test_a_danish_limit_is_answered_in_danish(company, file):
    mail.outbox.clear()
    request = file("objection", jurisdiction="us-ca", scope="sensitive", language="da")

    body = " ".join(closing_email(request).body.split())
    assert "Ret til at begrænse brugen af følsomme personoplysninger (Cal. Civ. Code § 1798.121)" in body
    assert (
        "Vi har registreret i vores register, at vi ikke længere bruger dem til: "
        "Anden markedsføring til eksisterende kunder." in body
    )


def test_a_limit_is_due_within_15_californian_business_days(company, file):
    # Received Wednesday 19 November 2025; Thanksgiving (27th) and the day after (28th) are California holidays.
    with time_machine.travel(datetime(2025, 11, 19, 10, 0, tzinfo=LA)):
        request = file("objection", jurisdiction="us-ca", scope="sensitive")
    request.refresh_from_db()
    assert request.due_date == date(2025, 12, 12)


def test_a_limit_under_a_gdpr_law_is_refused_on_the_scope_and_nothing_is_stored(company, file):
    with pytest.raises(RequestInvalid) as caught, translation.override("en"):
        file("objection", jurisdiction="dk", scope="sensitive")
    assert "can only be one of" in caught.value.message_dict["scope"][0]
    assert not Request.objects.exists()


def test_a_limit_where_the_map_marks_no_purpose_is_refused_with_a_clear_message(company, file):
    company_map_load(company, _mark_none)
    with pytest.raises(RequestInvalid) as caught, translation.override("en"):
        file("objection", jurisdiction="us-ca", scope="sensitive")
    assert "so there is nothing to limit" in caught.value.message_dict["scope"][0]
    assert not Request.objects.exists()


def test_a_limit_needs_no_grounds(company, file):
    request = file("objection", jurisdiction="us-ca", scope="sensitive")
    assert "grounds" not in request.details
    assert request.status == Status.COMPLETED

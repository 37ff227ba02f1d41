"""Consent withdrawal: per purpose, in every source that holds that consent, with no approval step."""

import hashlib

import pytest

from dsr.models import Operation, Status
from tests.rights.conftest import PERSON, shop_rows
from tests.rights.helpers import tasks_finish

pytestmark = pytest.mark.django_db


def test_withdrawing_the_newsletter_consent_changes_only_that_consent(company, file):
    request = file("consent_withdrawal", consents=["newsletter"])

    assert request.status == Status.COMPLETED
    consents = shop_rows(company.shop, "SELECT purpose, granted FROM consent WHERE customer_id = 1 ORDER BY purpose")
    assert consents == [("ad_retargeting", 1), ("newsletter", 0)]
    withdrawn = "SELECT withdrawn_at IS NOT NULL FROM consent WHERE purpose = 'newsletter' AND customer_id = ?"
    assert shop_rows(company.shop, withdrawn, 1) == [(1,)]
    assert hashlib.sha256(PERSON.encode()).hexdigest() in company.processor.audience


def test_withdrawing_the_ad_consent_removes_the_person_from_the_partners_audience(company, file):
    request = file("consent_withdrawal", consents=["ad_retargeting"])

    assert request.status == Status.COMPLETED
    assert hashlib.sha256(PERSON.encode()).hexdigest() not in company.processor.audience
    assert request.jobs.filter(source_key="adpartner", operation=Operation.AUDIENCE_REMOVAL).exists()


def test_withdrawing_the_call_recording_consent_gives_the_chat_owner_a_task(company, file, run, staff):
    request = file("consent_withdrawal", consents=["call_recording"])

    assert request.status == Status.IN_PROGRESS
    assert tasks_finish(request, staff, run) == 1
    assert request.status == Status.COMPLETED

"""The API's rate limits, counted together: the address first, then the email, then everyone; bad bodies count too."""

import pytest
from rest_framework.test import APIClient

from dsr.models import Request
from dsr.ratelimit import rate_limit_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")


def _file(api, email: str, address: str):
    return api.post("/api/v1/requests/", {"right": "access", "email": email}, format="json", REMOTE_ADDR=address)


def test_a_filing_refused_for_its_address_counts_against_neither_its_email_nor_everyone(api, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "2/hour"
    codes = [_file(api, f"p{n}@example.dk", "203.0.113.7").status_code for n in range(4)]
    assert codes == [201, 201, 429, 429]
    assert rate_limit_count(scope="intake-all", key="all", rate=settings.DSR_INTAKE_RATE_GLOBAL) == 2
    assert rate_limit_count(scope="intake-email", key="p3@example.dk", rate=settings.DSR_INTAKE_RATE_PER_EMAIL) == 0
    assert Request.objects.count() == 2


def test_a_filing_refused_for_its_email_does_not_count_against_everyone(api, settings):
    settings.DSR_INTAKE_RATE_PER_EMAIL = "1/hour"
    first = _file(api, "ida@example.dk", "203.0.113.1")
    again = _file(api, "IDA@example.dk ", "203.0.113.2")
    assert (first.status_code, again.status_code) == (201, 429)
    assert 0 < int(again["Retry-After"]) <= 3600
    assert again.json()["error"]["code"] == "throttled"
    assert rate_limit_count(scope="intake-ip", key="203.0.113.2", rate=settings.DSR_INTAKE_RATE_PER_IP) == 1
    assert rate_limit_count(scope="intake-all", key="all", rate=settings.DSR_INTAKE_RATE_GLOBAL) == 1


def test_everyone_counts_last(api, settings):
    settings.DSR_INTAKE_RATE_GLOBAL = "2/hour"
    codes = [_file(api, f"p{n}@example.dk", f"198.51.100.{n}").status_code for n in range(3)]
    assert codes == [201, 201, 429]
    # The refused one was counted against its address and its email before everyone's refused it.
    assert rate_limit_count(scope="intake-ip", key="198.51.100.2", rate=settings.DSR_INTAKE_RATE_PER_IP) == 1
    assert rate_limit_count(scope="intake-email", key="p2@example.dk", rate=settings.DSR_INTAKE_RATE_PER_EMAIL) == 1


def test_a_body_that_is_not_json_counts_against_its_address_then_is_refused_for_it(api, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "2/hour"
    sent = [
        api.post("/api/v1/requests/", "{not json", content_type="application/json", REMOTE_ADDR="203.0.113.9")
        for _ in range(3)
    ]
    assert [response.status_code for response in sent] == [400, 400, 429]
    assert sent[0].json()["error"]["message"] == "The body is not valid JSON."
    assert _file(api, "ida@example.dk", "203.0.113.9").status_code == 429
    assert rate_limit_count(scope="intake-all", key="all", rate=settings.DSR_INTAKE_RATE_GLOBAL) == 0


def test_a_code_guess_refused_for_its_address_does_not_count_against_the_reference(api, settings):
    settings.DSR_VERIFY_RATE_PER_IP = "1/hour"
    reference = "DSR-AAAA-BBBB-CCCC-DDDD"
    url = f"/api/v1/requests/{reference}/verify/"
    codes = [api.post(url, {"code": "123456"}, format="json", REMOTE_ADDR="203.0.113.4").status_code for _ in range(3)]
    assert codes[1:] == [429, 429]
    assert rate_limit_count(scope="verify-ref", key=reference, rate=settings.DSR_VERIFY_RATE_PER_REFERENCE) == 1

"""The public edge: client addresses behind proxies, 429 with Retry-After, the code cap and the reference oracle."""

import json
import re
import time

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from dsr.models import AuditAction, AuditEvent, Request, Status
from dsr.workflow import request_status_token

EMAIL = "ida.jensen@example.com"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def _form_token(response) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', response.content.decode()).group(1)


def _code(message) -> str:
    return re.search(r"^\s+(\d{6})\s*$", message.body, re.M).group(1)


def _errors(response) -> str:
    return re.search(r'<div class="form-errors".*?</div>', response.content.decode(), re.S).group(0)


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.fixture
def file_access(client, commit, db):
    def file(email: str = EMAIL, http_client: Client | None = None, **extra):
        browser = http_client or client
        token = _form_token(browser.get("/request/access/"))
        return commit(browser.post, "/request/access/", {"email": email, "form_token": token}, **extra)

    return file


# --- Client addresses ----------------------------------------------------------------------


def test_a_forged_x_forwarded_for_does_not_escape_the_per_address_limit(file_access, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "2/hour"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    codes = [
        file_access(email=f"p{n}@example.com", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(6)
    ]
    assert codes == [302, 302, 429, 429, 429, 429]
    assert Request.objects.count() == 2


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(file_access, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "1/hour"
    settings.DSR_TRUSTED_PROXIES = "1"
    first = file_access(email="a@example.com", HTTP_X_FORWARDED_FOR="203.0.113.1")
    other = file_access(email="b@example.com", HTTP_X_FORWARDED_FOR="203.0.113.2")
    again = file_access(email="c@example.com", HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert (first.status_code, other.status_code, again.status_code) == (302, 302, 429)


def test_a_refused_filing_says_when_to_come_back(file_access, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "1/hour"
    file_access(email="a@example.com")
    refused = file_access(email="b@example.com")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600


def test_the_global_ceiling_stops_filings_from_many_addresses(file_access, settings):
    settings.DSR_INTAKE_RATE_GLOBAL = "3/hour"  # an hour: the filings of a slow test machine stay in one window
    codes = [file_access(email=f"p{n}@example.com", REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(5)]
    assert codes == [302, 302, 302, 429, 429]
    assert Request.objects.count() == 3


def test_status_token_guessing_through_forged_addresses_is_refused(db, settings):
    settings.DSR_VERIFY_RATE_PER_IP = "3/hour"
    api = APIClient()
    codes = [
        api.get("/api/v1/requests/DSR-AAAA-BBBB-CCCC-DDDD/", HTTP_X_STATUS_TOKEN="x", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}")
        for n in range(6)
    ]
    assert [response.status_code for response in codes] == [404, 404, 404, 429, 429, 429]
    assert int(codes[-1]["Retry-After"]) > 0


def test_api_filing_with_forged_addresses_is_refused(db, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "2/hour"
    api = APIClient()
    codes = [
        api.post(
            "/api/v1/requests/",
            {"right": "access", "email": f"p{n}@example.dk"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}",
        ).status_code
        for n in range(5)
    ]
    assert codes == [201, 201, 429, 429, 429]


def test_code_guesses_on_one_reference_are_limited_from_any_address(file_access, client, settings):
    settings.DSR_VERIFY_RATE_PER_REFERENCE = "3/hour"
    response = file_access()
    code = _code(mail.outbox[-1])
    for n in range(3):
        client.post(response["Location"], {"code": _wrong(code)}, REMOTE_ADDR=f"198.51.100.{n}")
    blocked = client.post(response["Location"], {"code": code}, REMOTE_ADDR="198.51.100.9")
    assert blocked.status_code == 429
    assert blocked["Retry-After"]
    assert Request.objects.get().status == Status.PENDING_VERIFICATION


# --- Codes ---------------------------------------------------------------------------------


def test_an_unknown_reference_answers_exactly_like_a_known_one_with_a_wrong_code(file_access, client):
    response = file_access()
    code = _code(mail.outbox[-1])
    unknown = "/verify/DSR-AAAA-BBBB-CCCC-DDDD/"
    for _ in range(5):
        known_answer = client.post(response["Location"], {"code": _wrong(code)})
        unknown_answer = client.post(unknown, {"code": _wrong(code)})
        assert known_answer.status_code == unknown_answer.status_code == 400
        assert _errors(known_answer) == _errors(unknown_answer)
    assert "For mange forkerte koder" in unknown_answer.content.decode()


def test_a_malformed_code_gets_the_same_answer_for_known_and_unknown_references(file_access, client):
    response = file_access()
    known = client.post(response["Location"], {"code": "12ab56"}).content.decode()
    unknown = client.post("/verify/DSR-AAAA-BBBB-CCCC-DDDD/", {"code": "12ab56"}).content.decode()
    assert "seks cifre" in known
    assert "seks cifre" in unknown


def test_known_and_unknown_references_take_the_same_time_to_answer(file_access, client, settings):
    settings.DSR_EDGE_ANSWER_SECONDS = 0.3
    response = file_access()
    code = _code(mail.outbox[-1])
    timings = {}
    for name, url in (("known", response["Location"]), ("unknown", "/verify/DSR-AAAA-BBBB-CCCC-DDDD/")):
        started = time.monotonic()
        client.post(url, {"code": _wrong(code)})
        timings[name] = time.monotonic() - started
    assert timings["known"] >= 0.3
    assert timings["unknown"] >= 0.3


def test_wrong_codes_are_capped_per_email_address_across_requests(file_access, client, settings, commit):
    settings.DSR_CODE_FAILURES_PER_EMAIL = "6/3d"
    settings.DSR_INTAKE_RATE_PER_EMAIL = "10/hour"
    references = []
    for _ in range(2):
        response = file_access(email=EMAIL)
        references.append((response["Location"], _code(mail.outbox[-1])))
    sent_before = len(mail.outbox)
    # Five wrong codes on the first request lock it; a new request for the same address gets one more try only.
    for _ in range(5):
        commit(client.post, references[0][0], {"code": _wrong(references[0][1])})
    last_wrong = commit(client.post, references[1][0], {"code": _wrong(references[1][1])})
    assert "medarbejdere" in last_wrong.content.decode()
    # Even the right code no longer works for this address: staff verify instead.
    right = commit(client.post, references[1][0], {"code": references[1][1]})
    assert right.status_code == 400
    assert "medarbejdere" in right.content.decode()
    assert set(Request.objects.values_list("status", flat=True)) == {Status.PENDING_VERIFICATION}
    told = mail.outbox[sent_before:]
    assert [message.to for message in told] == [[EMAIL]]
    assert "mange forkerte koder" in told[0].subject
    assert (
        AuditEvent.objects.filter(action=AuditAction.VERIFICATION_FAILED, data__code_failures_capped=True).count() == 1
    )


def test_the_code_cap_leaves_other_addresses_alone(file_access, client, settings, commit):
    settings.DSR_CODE_FAILURES_PER_EMAIL = "2/3d"
    first = file_access(email=EMAIL)
    first_code = _code(mail.outbox[-1])
    for _ in range(2):
        commit(client.post, first["Location"], {"code": _wrong(first_code)})
    other_browser = Client()
    other = file_access(email="bo@example.com", http_client=other_browser)
    confirmed = commit(other_browser.post, other["Location"], {"code": _code(mail.outbox[-1])})
    assert confirmed.status_code == 302
    assert Request.objects.get(email="bo@example.com").status == Status.IN_PROGRESS


# --- The lost-link form --------------------------------------------------------------------


def _status_link(message) -> str:
    url = re.search(r"https?://\S+/status/\S+/", message.body).group(0)
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


def test_asking_for_a_lost_link_does_not_end_the_link_the_holder_has(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    reference = Request.objects.get().reference
    held = _status_link(mail.outbox[-1])  # the receipt's link
    stranger = Client()
    commit(stranger.post, "/status/", {"reference": reference, "email": EMAIL})
    new = _status_link(mail.outbox[-1])
    assert "holder op med at virke, når du har åbnet dette" in mail.outbox[-1].body
    assert new != held
    # The holder's browser and emailed link still open the status page.
    assert client.get(f"/status/{reference}/").status_code == 200
    assert Client().get(held).status_code == 302
    # Once the new link is opened, it is the one that works.
    assert Client().get(new).status_code == 302
    assert Client().get(held).status_code == 404
    assert Client().get(new).status_code == 302


def test_a_second_lost_link_ask_replaces_only_the_unopened_link(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    reference = Request.objects.get().reference
    held = _status_link(mail.outbox[-1])
    commit(Client().post, "/status/", {"reference": reference, "email": EMAIL})
    first = _status_link(mail.outbox[-1])
    commit(Client().post, "/status/", {"reference": reference, "email": EMAIL})
    second = _status_link(mail.outbox[-1])
    assert Client().get(first).status_code == 404
    assert Client().get(held).status_code == 302
    assert Client().get(second).status_code == 302


def test_the_lost_link_form_answers_a_match_no_sooner_than_a_miss(file_access, client, commit, settings):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    reference = Request.objects.get().reference
    settings.DSR_EDGE_ANSWER_SECONDS = 0.3
    timings = {}
    for name, email in (("match", EMAIL), ("miss", "someone@example.com")):
        started = time.monotonic()
        answer = commit(Client().post, "/status/", {"reference": reference, "email": email})
        timings[name] = time.monotonic() - started
        assert answer.status_code == 200
    assert timings["match"] >= 0.3
    assert timings["miss"] >= 0.3


# --- Secrets -------------------------------------------------------------------------------


def test_the_session_keeps_no_readable_status_token(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    request = Request.objects.get()
    token = request_status_token(request)
    kept = json.dumps(dict(client.session.items()))
    assert request.reference in kept
    assert token not in kept
    # The sealed token still opens the page in this browser.
    assert client.get(f"/status/{request.reference}/").status_code == 200


def test_a_session_with_a_plain_token_from_before_is_asked_again_not_an_error(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    request = Request.objects.get()
    session = client.session
    session["dsr_status_tokens"] = {request.reference: request_status_token(request)}
    session.save()
    assert client.get(f"/status/{request.reference}/").status_code == 403


def test_the_console_email_backend_logs_no_code(file_access, caplog, settings, tmp_path):
    settings.EMAIL_BACKEND = "dsr.mail.ConsoleOutboxBackend"
    settings.DSR_OUTBOX_DIR = tmp_path
    caplog.set_level("DEBUG")
    file_access()
    (kept,) = tmp_path.glob("*.eml")
    code = re.search(r"^\s+(\d{6})\s*$", kept.read_text(), re.M).group(1)
    assert "Bekræft din anmodning" in caplog.text  # the message was logged, by its subject
    assert code not in caplog.text


def test_api_code_guesses_count_per_reference_but_status_reads_do_not(db, settings):
    settings.DSR_VERIFY_RATE_PER_REFERENCE = "2/hour"
    api = APIClient()
    reference = "DSR-AAAA-BBBB-CCCC-DDDD"
    guesses = [
        api.post(f"/api/v1/requests/{reference}/verify/", {"code": "123456"}, format="json", REMOTE_ADDR=f"6.6.6.{n}")
        for n in range(3)
    ]
    assert [response.status_code for response in guesses][-1] == 429
    reads = [api.get(f"/api/v1/requests/{reference}/", HTTP_X_STATUS_TOKEN="x").status_code for _ in range(3)]
    assert 429 not in reads


def test_a_new_code_for_an_unknown_reference_restarts_its_attempts_as_for_a_known_one(client, db):
    unknown = "/verify/DSR-AAAA-BBBB-CCCC-DDDD/"
    for _ in range(5):
        locked = client.post(unknown, {"code": "123456"})
    assert "For mange forkerte koder" in locked.content.decode()
    client.post(unknown, {"action": "resend"})
    again = client.post(unknown, {"code": "123456"})
    assert "4 forsøg tilbage" in again.content.decode()

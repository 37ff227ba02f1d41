"""The preference centre through Django's test client: confirm the email, see each consent, withdraw or give it."""

import re
from datetime import timedelta

import pytest
import time_machine
import yaml
from django.core import mail
from django.test import Client
from django.utils import timezone

from dsr.datamap.loading import datamap_load
from dsr.models import AuditAction, AuditEvent, IdentityLevel, Request, Right, Status, VerificationMethod
from tests.rights.conftest import PERSON, map_document, shop_build, shop_consents, shop_execute, shop_rows

STRANGER = "nobody-here@example.com"


def _map_load(shop, change=None) -> None:
    document = map_document(shop=shop, chinook=None, processor_url="http://127.0.0.1:9/")
    if change:
        change(document)
    datamap_load(text=yaml.safe_dump(document, allow_unicode=True, sort_keys=False), loaded_by="test")


@pytest.fixture
def shop(db, tmp_path):
    path = shop_build(tmp_path / "shop.sqlite3")
    shop_consents(path, given=("newsletter",), withdrawn=("call_recording",))
    _map_load(path)
    return path


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a client call and the emails it schedules (Celery is eager in tests)."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _code(message) -> str:
    return re.search(r"^\s+(\d{6})\s*$", message.body, re.M).group(1)


def _link_path(message) -> str:
    url = re.search(r"https?://\S+/preferences/link/\S+/", message.body).group(0)
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


def _open(browser, commit, email=PERSON):
    """Ask for a code for ``email`` and enter it: the centre is open."""
    commit(browser.post, "/preferences/", {"email": email})
    response = browser.post("/preferences/code/", {"code": _code(mail.outbox[-1])})
    assert response.status_code == 302
    assert response["Location"] == "/preferences/"
    return browser.get("/preferences/")


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def _consent_section(page: str, key: str) -> str:
    return page.split(f'id="consent-{key}"', 1)[1].split("</section>", 1)[0]


def test_a_confirmed_person_sees_each_consent_with_its_state_per_source(shop, browser, commit):
    response = commit(browser.post, "/preferences/", {"email": PERSON.upper()})

    assert response.status_code == 302
    assert response["Location"] == "/preferences/code/"
    assert mail.outbox[-1].to == [PERSON]
    assert mail.outbox[-1].subject == "Your code for your consents at Madkassen Demo ApS"
    page = _open_with_code(browser)

    assert "Your consents" in page
    newsletter = _consent_section(page, "newsletter")
    assert "Newsletter" in newsletter
    assert "Web shop and customer accounts" in newsletter
    assert 'value="withdraw"' in newsletter
    recording = _consent_section(page, "call_recording")
    assert "Withdrawn" in recording
    assert 'value="give"' in recording
    ads = _consent_section(page, "ad_retargeting")
    assert "No consent recorded" in ads
    # Ids only: the audit trail keeps no address.
    (opened,) = _events(AuditAction.PREFERENCES_OPENED)
    assert opened.data == {"method": VerificationMethod.EMAIL_CODE}
    assert PERSON not in str(opened.data)


def _open_with_code(browser) -> str:
    response = browser.post("/preferences/code/", {"code": _code(mail.outbox[-1])})
    assert response.status_code == 302
    return browser.get("/preferences/").content.decode()


def test_an_unknown_address_gets_the_same_answer_and_then_sees_no_consent_recorded(shop, browser, commit):
    known = commit(browser.post, "/preferences/", {"email": PERSON})
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    unknown = commit(other.post, "/preferences/", {"email": STRANGER})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert mail.outbox[-1].to == [STRANGER]
    assert "Check your email" in other.get("/preferences/code/").content.decode()
    page = _open_with_code(other)

    for key in ("newsletter", "call_recording", "ad_retargeting"):
        assert "No consent recorded" in _consent_section(page, key)
    assert 'value="withdraw"' not in page


def test_a_wrong_code_costs_an_attempt_and_too_many_lock_the_code(shop, browser, commit, settings):
    settings.DSR_VERIFICATION_MAX_ATTEMPTS = 2
    commit(browser.post, "/preferences/", {"email": PERSON})
    right = _code(mail.outbox[-1])
    wrong = "000000" if right != "000000" else "111111"

    first = browser.post("/preferences/code/", {"code": wrong})
    second = browser.post("/preferences/code/", {"code": wrong})
    third = browser.post("/preferences/code/", {"code": right})

    assert first.status_code == 400
    assert "The code is not correct. 1 attempts left." in first.content.decode()
    assert "Too many wrong codes. Ask for a new code." in second.content.decode()
    assert third.status_code == 400
    assert "Email address" in browser.get("/preferences/").content.decode()
    assert _events(AuditAction.PREFERENCES_OPENED) == []


def test_a_code_that_is_not_six_digits_is_refused_with_a_clear_message(shop, browser, commit):
    commit(browser.post, "/preferences/", {"email": PERSON})

    response = browser.post("/preferences/code/", {"code": "12ab"})

    assert response.status_code == 400
    assert "The code is the six digits from the email." in response.content.decode()


def test_the_emailed_link_opens_the_centre_only_with_its_button_and_once(shop, browser, commit):
    commit(browser.post, "/preferences/", {"email": PERSON})
    path = _link_path(mail.outbox[-1])
    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="en")

    shown = elsewhere.get(path)
    assert shown.status_code == 200
    assert "Email address" in elsewhere.get("/preferences/").content.decode()  # a GET opens nothing
    assert elsewhere.post(path)["Location"] == "/preferences/"
    assert "Newsletter" in elsewhere.get("/preferences/").content.decode()

    again = Client(HTTP_ACCEPT_LANGUAGE="en").post(path)
    assert again.status_code == 400
    assert "This link has expired or has already been used." in again.content.decode()
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get("/preferences/link/not-a-token/").status_code == 400
    # The code of a used link no longer opens the centre either.
    assert browser.post("/preferences/code/", {"code": _code(mail.outbox[-1])}).status_code == 400


def test_the_centre_closes_after_its_time_and_a_change_then_does_nothing(shop, browser, commit, settings):
    _open(browser, commit)

    with time_machine.travel(timezone.now() + timedelta(minutes=settings.DSR_PREFERENCES_GRANT_MINUTES + 1)):
        page = browser.get("/preferences/").content.decode()
        response = browser.post("/preferences/change/", {"consent": "newsletter", "action": "withdraw"})
        after = browser.get(response["Location"]).content.decode()

    assert "Email address" in page
    assert response["Location"] == "/preferences/?expired=1"
    assert "Your session with your consents has ended." in after
    assert Request.objects.count() == 0


def test_leaving_the_centre_ends_the_grant(shop, browser, commit):
    _open(browser, commit)

    browser.post("/preferences/leave/")

    assert "Email address" in browser.get("/preferences/").content.decode()
    assert browser.post("/preferences/change/", {"consent": "newsletter", "action": "withdraw"})["Location"] == (
        "/preferences/?expired=1"
    )


def test_a_change_without_the_csrf_token_is_refused(shop, commit):
    careful = Client(HTTP_ACCEPT_LANGUAGE="en", enforce_csrf_checks=True)
    session_open = Client(HTTP_ACCEPT_LANGUAGE="en")
    _open(session_open, commit)
    careful.cookies = session_open.cookies

    response = careful.post("/preferences/change/", {"consent": "newsletter", "action": "withdraw"})

    assert response.status_code == 403
    assert Request.objects.count() == 0


def test_withdraw_files_a_consent_withdrawal_for_that_consent_in_the_confirmed_name(shop, browser, commit):
    _open(browser, commit)

    response = commit(
        browser.post,
        "/preferences/change/",
        # Another address in the form changes nothing: the grant names the person.
        {"consent": "newsletter", "action": "withdraw", "email": STRANGER},
    )

    (filed,) = Request.objects.all()
    assert filed.right == Right.CONSENT_WITHDRAWAL
    assert filed.email == PERSON
    assert filed.details["consents"] == ["newsletter"]
    assert filed.status != Status.PENDING_VERIFICATION
    assert filed.verification_method == VerificationMethod.EMAIL_CODE
    assert filed.identity_level == IdentityLevel.EMAIL
    (event,) = _events(AuditAction.PREFERENCES_WITHDRAWAL_FILED)
    assert event.request_id == filed.pk
    assert event.data == {"consent": "newsletter"}
    assert _events(AuditAction.REQUEST_SUBMITTED)[0].data["email_confirmed"] == VerificationMethod.EMAIL_CODE
    page = browser.get(response["Location"]).content.decode()
    assert f"reference {filed.reference}" in page
    assert 'value="withdraw"' not in _consent_section(page, "newsletter")
    # The same receipt as a withdrawal filed on the form.
    assert any(message.to == [PERSON] and filed.reference in message.body for message in mail.outbox)


def test_give_writes_a_dated_consent_row_in_the_shop_and_is_audited(shop, browser, commit):
    _open(browser, commit)

    response = browser.post("/preferences/change/", {"consent": "call_recording", "action": "give"})

    page = browser.get(response["Location"]).content.decode()
    assert "Your consent is recorded in: Web shop and customer accounts." in page
    assert "Given" in _consent_section(page, "call_recording")
    rows = shop_rows(
        shop, "SELECT granted, channel FROM consent WHERE customer_id = 1 AND purpose = 'call_recording' ORDER BY id"
    )
    assert rows == [(0, "web"), (1, "preference_centre")]
    (event,) = _events(AuditAction.PREFERENCES_CONSENT_GIVEN)
    assert event.data == {"consent": "call_recording", "recorded_in": ["shop"], "failed_in": []}
    assert Request.objects.count() == 0


def test_give_for_an_address_no_source_knows_records_nothing_and_says_so(shop, commit):
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    _open(stranger, commit, email=STRANGER)
    before = shop_rows(shop, "SELECT count(*) FROM consent")

    response = stranger.post("/preferences/change/", {"consent": "newsletter", "action": "give"})

    page = stranger.get(response["Location"]).content.decode()
    assert "Your consent is not recorded: none of our systems that record consents holds an account" in page
    assert shop_rows(shop, "SELECT count(*) FROM consent") == before
    (event,) = _events(AuditAction.PREFERENCES_CONSENT_GIVEN)
    assert event.data["recorded_in"] == []


def test_give_is_not_offered_and_is_refused_where_no_source_can_record_a_consent(shop, browser, commit):
    def no_give(document):
        document["sources"]["shop"]["tables"]["consent"]["consent"].pop("given_at_column")

    _map_load(shop, no_give)
    page = _open(browser, commit).content.decode()
    before = shop_rows(shop, "SELECT count(*) FROM consent")

    response = browser.post("/preferences/change/", {"consent": "call_recording", "action": "give"})

    assert 'value="give"' not in page
    assert "This consent cannot be given here." in _consent_section(page, "call_recording")
    assert "None of our systems can record this consent here." in browser.get(response["Location"]).content.decode()
    assert shop_rows(shop, "SELECT count(*) FROM consent") == before
    assert _events(AuditAction.PREFERENCES_CONSENT_GIVEN) == []


def test_an_unknown_consent_or_action_is_refused_with_a_message(shop, browser, commit):
    _open(browser, commit)

    unknown = browser.post("/preferences/change/", {"consent": "telepathy", "action": "withdraw"})
    assert "We do not know this consent." in browser.get(unknown["Location"]).content.decode()
    odd = browser.post("/preferences/change/", {"consent": "newsletter", "action": "explode"})
    assert "Choose to withdraw or to give a consent." in browser.get(odd["Location"]).content.decode()
    assert Request.objects.count() == 0


def test_a_map_without_consents_says_there_is_nothing_to_change(shop, browser, commit):
    def no_consents(document):
        for purpose in document["purposes"].values():
            purpose.pop("consent_key", None)
            if purpose.get("legal_basis") == ["a"]:
                purpose["legal_basis"] = ["f"]
                purpose["legitimate_interest"] = {"da": "Test.", "en": "Test."}
        tables = document["sources"]["shop"]["tables"]
        tables["newsletter_subscription"].pop("withdrawal")
        tables["consent"].pop("consent")

    _map_load(shop, no_consents)

    page = _open(browser, commit).content.decode()

    assert "We do not ask for any consents, so there is nothing to withdraw or give here." in page


def test_asking_for_codes_too_often_is_slowed_down(shop, browser, commit, settings):
    settings.DSR_INTAKE_RATE_PER_EMAIL = "1/hour"
    commit(browser.post, "/preferences/", {"email": PERSON})

    again = commit(browser.post, "/preferences/", {"email": PERSON})

    assert again.status_code == 429
    assert len(mail.outbox) == 1


def test_a_bad_address_is_refused_with_a_clear_message_and_sends_nothing(shop, browser, commit):
    response = commit(browser.post, "/preferences/", {"email": "not an address"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_the_pages_speak_danish(shop, commit):
    danish = Client(HTTP_ACCEPT_LANGUAGE="da")
    commit(danish.post, "/preferences/", {"email": PERSON})
    assert mail.outbox[-1].subject == "Din kode til dine samtykker hos Madkassen Demo ApS"

    page = _open_with_code(danish)

    assert "Dine samtykker" in page
    assert "Nyhedsbrev" in page
    assert "Træk tilbage" in page


def test_giving_the_newsletter_again_subscribes_the_person_again_and_only_once(shop, browser, commit):
    # The person withdrew the newsletter: the subscription row went with the consent (Art. 7(3)).
    shop_execute(shop, "DELETE FROM newsletter_subscription WHERE customer_id = 1")
    shop_execute(shop, "UPDATE consent SET granted = 0, withdrawn_at = '2025-03-01' WHERE customer_id = 1")
    _open(browser, commit)

    response = browser.post("/preferences/change/", {"consent": "newsletter", "action": "give"})

    page = browser.get(response["Location"]).content.decode()
    assert "Your consent is recorded in: Web shop and customer accounts." in page
    (row,) = shop_rows(
        shop, "SELECT customer_id, email, subscribed_at IS NOT NULL FROM newsletter_subscription WHERE customer_id = 1"
    )
    assert row == (1, PERSON, 1)
    # Given once more: the consent is already given and the person subscribed, so nothing more is written.
    browser.post("/preferences/change/", {"consent": "newsletter", "action": "give"})
    assert shop_rows(shop, "SELECT count(*) FROM newsletter_subscription WHERE customer_id = 1") == [(1,)]
    assert shop_rows(shop, "SELECT count(*) FROM consent WHERE customer_id = 1 AND purpose = 'newsletter'") == [(2,)]


def test_giving_a_consent_whose_row_is_still_there_writes_no_second_subscription(shop, browser, commit):
    shop_execute(shop, "UPDATE consent SET granted = 0 WHERE customer_id = 1 AND purpose = 'newsletter'")
    _open(browser, commit)

    browser.post("/preferences/change/", {"consent": "newsletter", "action": "give"})

    assert shop_rows(shop, "SELECT count(*) FROM newsletter_subscription WHERE customer_id = 1") == [(1,)]

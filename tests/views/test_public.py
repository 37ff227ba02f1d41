"""The public pages through Django's test client: filing, confirming, following, and abuse resistance."""

import logging
import re

import pytest
from django.core import mail
from django.test import Client

from dsr.models import Request, Status, VerificationChallenge

EMAIL = "ida.jensen@example.com"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a client call and the emails it schedules (Celery is eager in tests)."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def _form_token(response) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', response.content.decode()).group(1)


def _code(message) -> str:
    return re.search(r"^\s+(\d{6})\s*$", message.body, re.M).group(1)


def _path(url: str) -> str:
    return "/" + url.split("//", 1)[1].split("/", 1)[1]


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _link(message, kind: str) -> str:
    return _path(re.search(rf"https?://\S+/{kind}/\S+/", message.body).group(0))


@pytest.fixture
def file_access(client, commit, db):
    """Post a valid access request as a browser would; return the response."""

    def file(email: str = EMAIL, http_client: Client | None = None, **extra):
        browser = http_client or client
        token = _form_token(browser.get("/request/access/"))
        return commit(browser.post, "/request/access/", {"email": email, "form_token": token, **extra})

    return file


# --- Start page and language ------------------------------------------------------------


@pytest.mark.django_db
def test_start_page_explains_every_right_in_danish_by_default(client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="da">' in html
    assert "Dine rettigheder over dine personoplysninger" in html
    for right in (
        "access",
        "portability",
        "erasure",
        "rectification",
        "restriction",
        "objection",
        "consent_withdrawal",
    ):
        assert f'href="/request/{right}/"' in html


@pytest.mark.django_db
def test_a_foreign_accept_language_falls_back_to_danish(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert '<html lang="da">' in html


@pytest.mark.django_db
def test_english_is_one_click_away_and_remembered(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Your rights over your personal data" in html


@pytest.mark.django_db
def test_unknown_right_is_a_404_page_in_the_visitors_language(client):
    response = client.get("/request/everything/")
    assert response.status_code == 404
    assert "Siden findes ikke" in response.content.decode()


# --- Filing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "right", ["access", "portability", "erasure", "rectification", "restriction", "objection", "consent_withdrawal"]
)
@pytest.mark.django_db
def test_every_right_has_a_form_with_labelled_fields_and_csrf(client, right):
    html = client.get(f"/request/{right}/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_email">' in html
    assert 'name="form_token"' in html


def test_filing_creates_one_request_in_the_page_language_and_emails_the_code(file_access):
    response = file_access()
    request = Request.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/verify/{request.reference}/"
    assert request.language == "da"
    assert request.channel == "web"
    assert request.status == Status.PENDING_VERIFICATION
    assert mail.outbox[-1].subject.startswith("Bekræft din anmodning")


def test_filing_in_english_stores_english_for_every_later_message(client, file_access):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    file_access()
    assert Request.objects.get().language == "en"
    assert mail.outbox[-1].subject.startswith("Confirm your request")


def test_a_form_posted_twice_files_one_request(client, commit, db):
    token = _form_token(client.get("/request/access/"))
    first = commit(client.post, "/request/access/", {"email": EMAIL, "form_token": token})
    second = commit(client.post, "/request/access/", {"email": EMAIL, "form_token": token})
    assert Request.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert len(mail.outbox) == 1


def test_invalid_email_is_shown_next_to_the_field_and_nothing_is_stored(client, db):
    token = _form_token(client.get("/request/access/"))
    response = client.post("/request/access/", {"email": "not-an-email", "form_token": token})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in html
    assert 'id="id_email_error"' in html
    assert re.search(r'<input[^>]+aria-describedby="[^"]*id_email_error', html)
    assert 'role="alert"' in html
    assert "ida" not in response.get("Location", "")
    assert Request.objects.count() == 0


def test_a_rejected_form_keeps_what_the_person_typed_and_gets_a_fresh_token(client, db):
    response = client.post(
        "/request/erasure/", {"email": EMAIL, "description": "Only the newsletter data", "form_token": "forged"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Formularen er udløbet" in html
    assert "Only the newsletter data" in html
    assert 'value="forged"' not in html
    assert Request.objects.count() == 0


def test_honeypot_filled_in_by_a_robot_files_nothing(client, db):
    token = _form_token(client.get("/request/access/"))
    response = client.post("/request/access/", {"email": EMAIL, "form_token": token, "website": "http://spam"})
    assert response.status_code == 400
    assert Request.objects.count() == 0
    assert mail.outbox == []


def test_the_answer_is_the_same_whether_or_not_we_already_know_the_email(file_access, client, db):
    known = file_access(email="known@example.com")  # this address now has a request on file
    again = file_access(email="known@example.com")
    unknown = file_access(email="stranger@example.com")
    assert known.status_code == again.status_code == unknown.status_code == 302
    for response in (again, unknown):
        page = client.get(response["Location"]).content.decode()
        assert "Tjek din e-mail" in page
        assert "known@example.com" not in page
        assert "stranger@example.com" not in page


def test_no_personal_data_in_urls_or_logs(file_access, caplog):
    caplog.set_level(logging.DEBUG)
    response = file_access(name="Ida Jensen", phone="+45 12 34 56 78")
    assert "ida" not in response["Location"].lower()
    request = Request.objects.get()
    for link in re.findall(r"https?://\S+", mail.outbox[-1].body):
        assert EMAIL not in link
    logged = caplog.text.lower()
    assert "ida.jensen" not in logged
    assert "12 34 56 78" not in logged
    assert request.reference  # the log may name the reference, never the person


def test_per_email_rate_limit_stops_a_mail_bomb(file_access, settings, client):
    settings.DSR_INTAKE_RATE_PER_EMAIL = "2/hour"
    assert file_access().status_code == 302
    assert file_access(name="Ida").status_code == 302  # a second request, not the first one again
    blocked = file_access(name="Ida Jensen")
    html = blocked.content.decode()
    assert blocked.status_code == 429
    assert "Vi har modtaget mange forsøg fra dig på kort tid" in html
    assert 'value="Ida Jensen"' in html  # what was typed is kept
    assert Request.objects.count() == 2


def test_per_ip_rate_limit_counts_every_post(file_access, settings):
    settings.DSR_INTAKE_RATE_PER_IP = "1/hour"
    assert file_access(email="a@example.com").status_code == 302
    assert file_access(email="b@example.com").status_code == 429
    assert Request.objects.count() == 1


def test_post_without_csrf_token_is_refused_with_a_plain_explanation(db):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/request/access/", {"email": EMAIL, "form_token": "x"})
    assert response.status_code == 403
    assert "Formularen kunne ikke sendes" in response.content.decode()
    assert Request.objects.count() == 0


def test_a_huge_payload_is_refused_with_a_clear_message(client, db, settings):
    token = _form_token(client.get("/request/access/"))
    response = client.post(
        "/request/access/",
        {"email": EMAIL, "form_token": token, "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)},
    )
    assert response.status_code == 400
    assert "Formularen kunne ikke læses" in response.content.decode()
    assert Request.objects.count() == 0


def test_an_oversized_field_is_named_and_nothing_is_stored(client, db):
    token = _form_token(client.get("/request/access/"))
    response = client.post("/request/access/", {"email": EMAIL, "form_token": token, "description": "x" * 5001})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_description_error"' in html
    # Said with the numbers, in the request's language, and what was typed is still there to shorten.
    assert "højst 5000 tegn; den har 5001" in html
    assert "x" * 5001 in html
    assert Request.objects.count() == 0


def test_long_text_fields_let_the_browser_take_everything_pasted(client, db):
    html = client.get("/request/erasure/").content.decode()
    textarea = re.search(r"<textarea[^>]*name=\"description\"[^>]*>", html).group(0)
    assert "maxlength" not in textarea


def test_binary_content_in_a_field_is_refused(client, db):
    token = _form_token(client.get("/request/access/"))
    response = client.post("/request/access/", {"email": EMAIL, "form_token": token, "name": "Ida\x00\x01"})
    assert response.status_code == 400
    assert 'id="id_name_error"' in response.content.decode()
    assert Request.objects.count() == 0


def test_rectification_errors_from_the_form_sit_next_to_the_row(client, db):
    token = _form_token(client.get("/request/rectification/"))
    response = client.post(
        "/request/rectification/", {"email": EMAIL, "form_token": token, "field_0": "Address", "field_1": "Name"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_correct_0_error"' in html
    assert 'id="id_correct_1_error"' in html
    assert Request.objects.count() == 0


def test_rectification_is_filed_with_its_corrections_and_statement(client, commit, db):
    token = _form_token(client.get("/request/rectification/"))
    response = commit(
        client.post,
        "/request/rectification/",
        {
            "email": EMAIL,
            "form_token": token,
            "field_0": "Address",
            "current_0": "Vestergade 1",
            "correct_0": "Østergade 2",
            "statement": "I moved in May.",
        },
    )
    assert response.status_code == 302
    assert Request.objects.get().details == {
        "corrections": [{"field": "Address", "current": "Vestergade 1", "correct": "Østergade 2"}],
        "statement": "I moved in May.",
    }


def test_objection_to_a_purpose_without_grounds_shows_the_services_error_on_the_field(client, db):
    token = _form_token(client.get("/request/objection/"))
    response = client.post(
        "/request/objection/", {"email": EMAIL, "form_token": token, "scope": "purpose", "purpose": "Analytics"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_grounds_error"' in html
    assert Request.objects.count() == 0


def test_direct_marketing_objection_needs_no_grounds(client, commit, db):
    token = _form_token(client.get("/request/objection/"))
    response = commit(
        client.post, "/request/objection/", {"email": EMAIL, "form_token": token, "scope": "direct_marketing"}
    )
    assert response.status_code == 302
    assert Request.objects.get().details == {"scope": "direct_marketing"}


def test_restriction_needs_one_of_the_four_grounds(client, commit, db):
    token = _form_token(client.get("/request/restriction/"))
    missing = client.post("/request/restriction/", {"email": EMAIL, "form_token": token})
    assert 'id="id_ground_error"' in missing.content.decode()
    filed = commit(
        client.post, "/request/restriction/", {"email": EMAIL, "form_token": token, "ground": "accuracy_contested"}
    )
    assert filed.status_code == 302
    assert Request.objects.get().details["ground"] == "accuracy_contested"


def test_consent_withdrawal_offers_every_consent_at_once(client, commit, db):
    html = client.get("/request/consent_withdrawal/").content.decode()
    assert 'value="all"' in html
    token = _form_token(client.get("/request/consent_withdrawal/"))
    response = commit(
        client.post, "/request/consent_withdrawal/", {"email": EMAIL, "form_token": token, "consents": ["all"]}
    )
    assert response.status_code == 302
    assert Request.objects.get().details == {"consents": ["all"]}


# --- Verification ---------------------------------------------------------------------------


def test_the_right_code_confirms_and_opens_the_status_page(file_access, client, commit):
    response = file_access()
    code = _code(mail.outbox[-1])
    confirmed = commit(client.post, response["Location"], {"code": code})
    request = Request.objects.get()
    assert confirmed.status_code == 302
    assert confirmed["Location"] == f"/status/{request.reference}/"
    assert request.status == Status.IN_PROGRESS
    assert mail.outbox[-1].subject.startswith("Vi har modtaget din anmodning")
    page = client.get(confirmed["Location"]).content.decode()
    assert "Vi samler en kopi af dine oplysninger" in page


def test_a_wrong_code_says_how_many_attempts_are_left_and_changes_nothing(file_access, client):
    response = file_access()
    code = _code(mail.outbox[-1])
    wrong = "000000" if code != "000000" else "111111"
    answer = client.post(response["Location"], {"code": wrong})
    assert answer.status_code == 400
    assert "forsøg tilbage" in answer.content.decode()
    assert Request.objects.get().status == Status.PENDING_VERIFICATION


def test_code_guessing_is_rate_limited_per_address(file_access, client, settings):
    settings.DSR_VERIFY_RATE_PER_IP = "2/hour"
    response = file_access()
    code = _code(mail.outbox[-1])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        client.post(response["Location"], {"code": wrong})
    blocked = client.post(response["Location"], {"code": code})
    assert blocked.status_code == 429
    assert Request.objects.get().status == Status.PENDING_VERIFICATION


def test_asking_for_a_new_code_too_soon_is_explained(file_access, client):
    response = file_access()
    answer = client.post(response["Location"], {"action": "resend"})
    assert answer.status_code == 429
    assert "Vent venligst et minut" in answer.content.decode()
    assert VerificationChallenge.objects.count() == 1


def test_resend_for_an_unknown_reference_answers_like_a_known_one(client, db):
    answer = client.post("/verify/DSR-AAAA-BBBB-CCCC-DDDD/", {"action": "resend"})
    assert answer.status_code == 200
    assert "Hvis anmodningen venter på bekræftelse" in answer.content.decode()
    assert mail.outbox == []


def test_the_emailed_link_shows_a_button_and_only_the_post_confirms(file_access, client, commit):
    file_access()
    link = _link(mail.outbox[-1], "verify/link")
    page = client.get(link)
    assert page.status_code == 200
    assert '<form method="post">' in page.content.decode()
    assert Request.objects.get().status == Status.PENDING_VERIFICATION  # a mail scanner's GET does nothing
    confirmed = commit(client.post, link)
    assert confirmed.status_code == 302
    assert Request.objects.get().status == Status.IN_PROGRESS


def test_a_used_link_says_the_request_is_already_confirmed(file_access, client, commit):
    file_access()
    link = _link(mail.outbox[-1], "verify/link")
    commit(client.post, link)
    again = client.get(link)
    assert again.status_code == 400
    assert "allerede bekræftet" in again.content.decode()


def test_a_broken_link_is_explained(client, db):
    response = client.get("/verify/link/not-a-real-token/")
    assert response.status_code == 400
    assert "Linket virker ikke" in response.content.decode()


# --- Status ---------------------------------------------------------------------------------


def test_the_status_link_moves_its_token_into_the_session_and_a_clean_url(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    status_link = _link(mail.outbox[-1], "status")
    reference = Request.objects.get().reference
    stranger = Client()
    opened = stranger.get(status_link)
    assert opened.status_code == 302
    assert opened["Location"] == f"/status/{reference}/"
    assert stranger.get(opened["Location"]).status_code == 200


def test_the_status_page_needs_the_emailed_link(file_access, client, commit):
    file_access()
    reference = Request.objects.get().reference
    response = Client().get(f"/status/{reference}/")
    assert response.status_code == 403
    assert "Åbn linket fra din e-mail" in response.content.decode()
    assert Client().get(f"/status/{reference}/wrong-token/").status_code == 404


def test_htmx_polling_gets_only_the_status_body(file_access, client):
    response = file_access()
    reference = Request.objects.get().reference
    partial = client.get(f"/status/{reference}/", HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert partial.status_code == 200
    assert html.lstrip().startswith('<div id="status-body"')
    assert "<html" not in html
    assert 'hx-trigger="every 15s"' in html
    assert response.status_code == 302


def test_a_new_link_kills_the_old_one_and_is_emailed(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    old_link = _link(mail.outbox[-1], "status")
    reference = Request.objects.get().reference
    answer = commit(client.post, f"/status/{reference}/new-link/")
    assert answer.status_code == 200
    assert mail.outbox[-1].subject.startswith("Nyt link til din anmodning")
    assert Client().get(old_link).status_code == 404
    assert Client().get(_link(mail.outbox[-1], "status")).status_code == 302
    assert client.get(f"/status/{reference}/").status_code == 403  # this browser's old token died too


def test_lost_link_form_answers_the_same_and_emails_only_the_owner(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    reference = Request.objects.get().reference
    sent_before = len(mail.outbox)
    wrong = commit(client.post, "/status/", {"reference": reference, "email": "someone@example.com"})
    assert len(mail.outbox) == sent_before
    right = commit(client.post, "/status/", {"reference": reference.lower(), "email": EMAIL.upper()})
    assert len(mail.outbox) == sent_before + 1
    # Typed without the prefix or the dashes, as read aloud on the phone.
    typed = reference.removeprefix("DSR-").replace("-", " ").lower()
    commit(client.post, "/status/", {"reference": typed, "email": EMAIL})
    assert len(mail.outbox) == sent_before + 2
    assert mail.outbox[-1].to == [EMAIL]
    assert wrong.status_code == right.status_code == 200
    assert _without_csrf(wrong) == _without_csrf(right)


def test_the_status_page_offers_no_download_until_an_export_exists(file_access, client, commit):
    response = file_access()
    commit(client.post, response["Location"], {"code": _code(mail.outbox[-1])})
    reference = Request.objects.get().reference
    html = client.get(f"/status/{reference}/").content.decode()
    assert 'data-testid="download"' in html
    assert "Din kopi er ikke klar endnu" in html
    assert "Hent dine oplysninger" not in html

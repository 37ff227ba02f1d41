"""Staff login: password then TOTP, enrolment with a QR code on first login, lockout, and the demo's skip."""

import re
import time
from base64 import b32decode

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from dsr.models import AuditEvent
from tests.views.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    """Browse the staff pages in English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _code(device: TOTPDevice, *, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def _password(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def test_password_alone_does_not_log_in_and_the_code_does(client, agent):
    response = _password(client, "agent")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/two-factor/"
    assert client.get("/dashboard/").status_code == 302  # not logged in yet
    device = agent.totpdevice_set.get()
    response = client.post("/accounts/login/two-factor/", {"token": _code(device)})
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    event = AuditEvent.objects.get(action="staff.logged_in")
    assert event.data == {"second_factor": "totp"}
    assert event.actor_id == str(agent.pk)


def test_first_login_enrols_a_device_with_an_inline_svg_qr_code(client, agent):
    agent.totpdevice_set.all().delete()
    _password(client, "agent")
    page = client.get("/accounts/login/two-factor/").content.decode()
    assert "Set up your authenticator app" in page
    assert "<svg" in page
    key = re.search(r'data-testid="totp-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=agent)
    assert not device.confirmed
    assert b32decode(key) == device.bin_key
    response = client.post("/accounts/login/two-factor/", {"token": _code(device)})
    assert response["Location"] == "/dashboard/"
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="staff.two_factor_enrolled").count() == 1


def test_the_second_step_without_the_first_goes_back_to_the_password(client):
    response = client.get("/accounts/login/two-factor/")
    assert response["Location"] == "/accounts/login/"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, agent):
    response = _password(client, "agent", "not-the-password")
    assert response.status_code == 200
    assert "Wrong username or password." in response.content.decode()
    assert "Wrong username or password." in _password(client, "nobody").content.decode()


def test_a_user_without_a_role_cannot_get_past_the_password(client, django_user_model):
    django_user_model.objects.create_user("shopper", password=PASSWORD)
    response = _password(client, "shopper")
    assert "no role on the privacy team" in response.content.decode()
    assert client.get("/accounts/login/two-factor/")["Location"] == "/accounts/login/"


def test_repeated_failed_passwords_lock_the_account_out_even_with_the_right_password(client, agent, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password(client, "agent", "wrong-password")
    response = _password(client, "agent")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert client.get("/accounts/login/two-factor/")["Location"] == "/accounts/login/"


def test_repeated_wrong_codes_lock_the_account_out(client, agent, settings):
    device = agent.totpdevice_set.get()
    wrong = "000000" if _code(device) != "000000" else "111111"
    _password(client, "agent")
    first = client.post("/accounts/login/two-factor/", {"token": wrong})
    assert "That code is not valid" in first.content.decode()
    response = None
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/accounts/login/two-factor/", {"token": wrong})
    assert response.status_code == 429
    assert _password(client, "agent").status_code == 429


def test_a_stale_password_step_expires(client, agent, monkeypatch):
    _password(client, "agent")
    from dsr.views.staff import auth

    later = time.time() + auth.PENDING_SECONDS + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    assert client.get("/accounts/login/two-factor/")["Location"] == "/accounts/login/"


def test_the_demo_skips_the_second_factor_only_with_debug_and_says_so(client, agent, settings):
    settings.DEBUG = True
    response = _password(client, "agent")
    assert response["Location"] == "/dashboard/"
    page = client.get("/dashboard/").content.decode()
    assert "Two-factor login is skipped in this demo" in page
    settings.DEBUG = False
    assert client.get("/dashboard/").status_code == 302  # the unverified session is worth nothing in production


def test_the_next_parameter_is_followed_only_within_the_site(client, agent):
    device = agent.totpdevice_set.get()
    _password(client, "agent", next="https://evil.example/")
    assert client.post("/accounts/login/two-factor/", {"token": _code(device)})["Location"] == "/dashboard/"


def test_the_admin_login_form_is_closed_in_favour_of_the_two_factor_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_logout_is_a_post_and_is_audited(agent_client, agent):
    assert agent_client.get("/accounts/logout/").status_code == 405
    response = agent_client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert agent_client.get("/dashboard/").status_code == 302
    assert AuditEvent.objects.filter(action="staff.logged_out", actor_id=str(agent.pk)).exists()

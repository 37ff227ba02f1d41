"""Staff users in each role, and test clients logged in with both factors."""

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from dsr.roles import AUDITOR, PRIVACY_ADMIN, PRIVACY_AGENT, roles_sync, user_role_set

PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def roles(db) -> None:
    roles_sync()


def _member(django_user_model, username: str, role: str):
    user = django_user_model.objects.create_user(username, f"{username}@example.org", password=PASSWORD)
    user_role_set(user=user, role=role)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


@pytest.fixture
def agent(roles, django_user_model):
    return _member(django_user_model, "agent", PRIVACY_AGENT)


@pytest.fixture
def colleague(roles, django_user_model):
    return _member(django_user_model, "colleague", PRIVACY_AGENT)


@pytest.fixture
def auditor(roles, django_user_model):
    return _member(django_user_model, "auditor", AUDITOR)


@pytest.fixture
def privacy_admin(roles, django_user_model):
    return _member(django_user_model, "lead", PRIVACY_ADMIN)


def verified_client(user) -> Client:
    """Return a client logged in as `user` with the second factor done, as after the real login."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()
    return client


@pytest.fixture
def agent_client(agent) -> Client:
    return verified_client(agent)


@pytest.fixture
def auditor_client(auditor) -> Client:
    return verified_client(auditor)

"""API keys: the token is shown once, stored hashed, checked in constant time, revocable; admins manage them."""

import hashlib
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from dsr.apikeys import apikey_authenticate, apikey_create, apikey_revoke
from dsr.audit import Actor
from dsr.models import ApiKey, AuditEvent
from dsr.requests import RequestInvalid
from tests.api.conftest import verified_client

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"^dsr_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


def test_a_new_key_stores_only_the_hash_of_its_secret():
    created = apikey_create(name="shop", scopes=["requests:read", "requests:create"], actor=Actor.system())
    match = TOKEN.match(created.token)
    assert match, created.token
    prefix, secret = match.groups()
    key = ApiKey.objects.get()
    assert key.prefix == prefix
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    assert key.scopes == ["requests:create", "requests:read"]
    event = AuditEvent.objects.get(action="apikey.created")
    assert event.data == {"apikey": prefix, "scopes": ["requests:create", "requests:read"]}


def test_the_token_authenticates_and_records_its_last_use():
    created = apikey_create(name="shop", scopes=["requests:read"], actor=Actor.system())
    assert apikey_authenticate(created.token) == created.key
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "dsr_00000000_" + t.split("_", 2)[2],  # unknown prefix
        lambda t: t.replace("dsr_", "xyz_", 1),
        lambda t: t.split("_", 2)[1],
        lambda t: "",
        lambda t: t + "x" * 200,
    ],
)
def test_a_wrong_or_malformed_token_authenticates_nothing(mangle):
    created = apikey_create(name="shop", scopes=["requests:read"], actor=Actor.system())
    assert apikey_authenticate(mangle(created.token)) is None


def test_a_revoked_key_authenticates_nothing_and_the_revocation_is_audited():
    created = apikey_create(name="shop", scopes=["requests:read"], actor=Actor.system())
    apikey_revoke(key=created.key, actor=Actor.system())
    assert apikey_authenticate(created.token) is None
    assert AuditEvent.objects.filter(action="apikey.revoked", data__apikey=created.key.prefix).exists()


@pytest.mark.parametrize(("name", "scopes", "field"), [("", ["requests:read"], "name"), ("x", [], "scopes")])
def test_a_key_needs_a_name_and_known_scopes(name, scopes, field):
    with pytest.raises(RequestInvalid) as caught:
        apikey_create(name=name, scopes=scopes, actor=Actor.system())
    assert field in caught.value.message_dict
    with pytest.raises(RequestInvalid, match="teleport"):
        apikey_create(name="x", scopes=["teleport"], actor=Actor.system())
    assert not ApiKey.objects.exists()


def test_the_command_prints_a_working_token_once(capsys):
    call_command("dsr_apikey_create", "--name", "crm", "--scope", "registers:read", "--scope", "requests:read")
    out = capsys.readouterr()
    token = out.out.strip()
    key = apikey_authenticate(token)
    assert key is not None
    assert key.name == "crm"
    assert key.scopes == ["requests:read", "registers:read"]
    assert token not in out.err


def test_the_command_refuses_an_unknown_scope():
    with pytest.raises(CommandError):
        call_command("dsr_apikey_create", "--name", "crm", "--scope", "everything")
    assert not ApiKey.objects.exists()


def test_a_privacy_admin_creates_a_key_in_admin_and_sees_the_token_once(privacy_admin):
    client = verified_client(privacy_admin)
    response = client.post(
        "/admin/dsr/apikey/add/", {"name": "shop account pages", "scopes": ["requests:create", "requests:read"]}
    )
    assert response.status_code == 200
    token = re.search(r"dsr_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    key = apikey_authenticate(token)
    assert key.name == "shop account pages"
    assert key.created_by == privacy_admin
    listing = client.get("/admin/dsr/apikey/").content.decode()
    assert f"dsr_{key.prefix}_" in listing
    assert token not in listing
    assert token not in client.get(f"/admin/dsr/apikey/{key.pk}/change/").content.decode()


def test_a_privacy_admin_revokes_keys_in_admin(privacy_admin, make_key):
    key, token = make_key(["requests:read"])
    client = verified_client(privacy_admin)
    response = client.post("/admin/dsr/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    assert apikey_authenticate(token) is None
    api = Client()
    refused = api.get("/api/v1/requests/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_key"


@pytest.mark.parametrize("role", ["agent", "auditor"])
def test_only_privacy_admins_manage_keys(request, role):
    client = verified_client(request.getfixturevalue(role))
    assert client.get("/admin/dsr/apikey/add/").status_code == 403
    response = client.post("/admin/dsr/apikey/add/", {"name": "sneaky", "scopes": ["requests:act"]})
    assert response.status_code == 403
    assert not ApiKey.objects.exists()

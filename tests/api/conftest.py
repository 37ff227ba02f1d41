"""API keys with chosen scopes, clients that send them, and staff sessions in each role."""

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from dsr.apikeys import apikey_create
from dsr.audit import Actor
from dsr.models import ApiScope
from tests.views.conftest import (  # noqa: F401  (the staff fixtures, shared with the dashboard's tests)
    agent,
    auditor,
    privacy_admin,
    roles,
    verified_client,
)

ALL_SCOPES = list(ApiScope.values)


@pytest.fixture
def make_key(db) -> Callable:
    """Return `make(scopes=ALL_SCOPES, name=...)`: create a key and return (key, token)."""

    def make(scopes: list[str] | None = None, name: str = "shop account pages"):
        created = apikey_create(name=name, scopes=scopes or ALL_SCOPES, actor=Actor.system())
        return created.key, created.token

    return make


@pytest.fixture
def key_client(make_key) -> Callable:
    """Return `client(scopes=ALL_SCOPES)`: an API client sending a new key with those scopes."""

    def client(scopes: list[str] | None = None) -> APIClient:
        _key, token = make_key(scopes)
        api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return api

    return client


@pytest.fixture
def integration(key_client) -> APIClient:
    """A client with a key holding every scope."""
    return key_client()

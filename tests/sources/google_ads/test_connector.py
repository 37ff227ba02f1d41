"""The google_ads connector against a real local HTTP server playing Google's OAuth2 and Google Ads APIs."""

import hashlib

import pytest

from dsr.datamap.schema import DataMapInvalid
from dsr.demo.demo_platforms import (
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_DEVELOPER_TOKEN,
    GOOGLE_REFRESH_TOKEN,
    GOOGLE_USER_LIST,
)
from dsr.sources.base import AUDIENCE, AUDIENCE_REMOVAL, SourcePermanentError, SourceTransientError
from dsr.sources.google_ads import GoogleAdsConnector
from tests.sources.maps import map_build
from tests.sources.platforms import EMAIL, EMAIL_SHA256, OTHER_SHA256

METTE = {"email": {EMAIL}}


def source(base: str, **config) -> dict:
    return {
        "name": "Google Ads customer lists",
        "kind": "google_ads",
        "purposes": ["newsletter"],
        "origin": {"da": "Fra os", "en": "From us"},
        "provided_by_subject": [],
        "url": base,
        "token_url": f"{base}/token",
        "developer_token": GOOGLE_DEVELOPER_TOKEN,
        "client_id": GOOGLE_CLIENT_ID,
        "client_secret": GOOGLE_CLIENT_SECRET,
        "refresh_token": GOOGLE_REFRESH_TOKEN,
        "customer_id": "123-456-7890",
        "login_customer_id": "111-222-3333",
        "audiences": {"retargeting": {"id": GOOGLE_USER_LIST, "name": "Retargeting"}},
        "owner": "Marketing team",
        "retries": 1,
        "backoff_seconds": 0.01,
        "timeout_seconds": 2,
        **config,
    }


def connector_for(url: str, **config) -> GoogleAdsConnector:
    datamap = map_build({"google": source(url, **config)})
    return GoogleAdsConnector(datamap.sources["google"], datamap)


def test_removal_creates_a_job_adds_remove_operations_and_runs_it(google):
    result = connector_for(google.url).audience_remove(METTE, reference="R-1")

    assert (GOOGLE_USER_LIST, EMAIL_SHA256) not in google.store.members
    assert (GOOGLE_USER_LIST, OTHER_SHA256) in google.store.members
    paths = [path for path, _ in google.calls]
    assert paths == [
        "token",
        "/v19/customers/1234567890/offlineUserDataJobs:create",
        "/v19/customers/1234567890/offlineUserDataJobs/900:addOperations",
        "/v19/customers/1234567890/offlineUserDataJobs/900:run",
    ]
    assert google.calls[0][1] == {"grant_type": "refresh_token"}
    assert google.calls[2][1] == {
        "enablePartialFailure": True,
        "operations": [{"remove": {"userIdentifiers": [{"hashedEmail": EMAIL_SHA256}]}}],
    }
    [fact] = result.facts
    assert (fact.table, fact.action, fact.found, fact.changed, fact.confirmed) == (
        "Retargeting",
        AUDIENCE,
        None,
        1,
        True,
    )
    assert fact.reference == "customers/1234567890/offlineUserDataJobs/900"
    assert google.refusals == []


def test_gmail_dots_are_dropped_and_phones_go_in_e164_before_hashing(google):
    connector = connector_for(google.url, identifiers=["email", "phone"])
    connector.audience_remove({"email": {"Mette.Hansen@Gmail.com"}, "phone": {"20 30 40 50"}}, reference="R-2")

    operations = google.calls[2][1]["operations"]
    assert [op["remove"]["userIdentifiers"][0] for op in operations] == [
        {"hashedEmail": hashlib.sha256(b"mettehansen@gmail.com").hexdigest()},
        {"hashedPhoneNumber": hashlib.sha256(b"+4520304050").hexdigest()},
    ]


@pytest.mark.parametrize("google", ["expired_token"], indirect=True)
def test_an_expired_refresh_token_is_a_permanent_error_that_says_to_authorise_again(google):
    with pytest.raises(SourcePermanentError, match=r"invalid_grant.*authorise again"):
        connector_for(google.url).audience_remove(METTE, reference="R-3")
    assert (GOOGLE_USER_LIST, EMAIL_SHA256) in google.store.members


def test_a_wrong_developer_token_is_unauthenticated(google):
    with pytest.raises(SourcePermanentError, match="UNAUTHENTICATED"):
        connector_for(google.url, developer_token="wrong").audience_remove(METTE, reference="R-4")


def test_a_wrong_manager_account_is_permission_denied(google):
    with pytest.raises(SourcePermanentError, match=r"PERMISSION_DENIED.*login_customer_id"):
        connector_for(google.url, login_customer_id="999").audience_remove(METTE, reference="R-5")


@pytest.mark.parametrize("google", ["rate_limited"], indirect=True)
def test_resource_exhausted_that_lasts_is_transient(google):
    with pytest.raises(SourceTransientError, match="RESOURCE_EXHAUSTED"):
        connector_for(google.url).audience_remove(METTE, reference="R-6")


@pytest.mark.parametrize("google", ["rate_limited_once"], indirect=True)
def test_resource_exhausted_once_is_retried(google):
    result = connector_for(google.url).audience_remove(METTE, reference="R-7")
    assert result.facts[0].changed == 1
    assert (GOOGLE_USER_LIST, EMAIL_SHA256) not in google.store.members


@pytest.mark.parametrize("google", ["no_audience"], indirect=True)
def test_an_unknown_user_list_is_a_permanent_error_naming_the_audience(google):
    with pytest.raises(SourcePermanentError, match='no such user list for audience "retargeting"'):
        connector_for(google.url).audience_remove(METTE, reference="R-8")


@pytest.mark.parametrize("google", ["down"], indirect=True)
def test_an_unavailable_api_is_transient(google):
    with pytest.raises(SourceTransientError, match="UNAVAILABLE"):
        connector_for(google.url).audience_remove(METTE, reference="R-9")


def test_without_a_refresh_token_the_marketing_team_gets_a_task_naming_the_hash_and_list(monkeypatch):
    monkeypatch.delenv("GOOGLE_REFRESH_UNSET", raising=False)
    connector = connector_for("https://googleads.googleapis.com", refresh_token="${env:GOOGLE_REFRESH_UNSET:-}")

    spec = connector.audience_task(METTE)

    assert spec["operation"] == AUDIENCE_REMOVAL
    assert spec["owner"] == "Marketing team"
    for language in ("da", "en"):
        assert EMAIL_SHA256 in spec["instructions"][language]
        assert GOOGLE_USER_LIST in spec["instructions"][language]


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"developer_token": None}, "sources.google.developer_token"),
        ({"customer_id": 1234567890}, "sources.google.customer_id"),
        ({"audiences": {"x": {"id": "1", "size": 3}}}, "sources.google.audiences.x.size"),
        ({"url": "ftp://x"}, "sources.google.url"),
        ({"login_customer_id": 5}, "sources.google.login_customer_id"),
    ],
)
def test_a_bad_configuration_is_refused_at_load_naming_the_path(config, path):
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"google": source("https://googleads.googleapis.com", **config)})
    assert path in str(caught.value)

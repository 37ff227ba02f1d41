"""The meta_audience connector against a real local HTTP server playing Meta's custom-audience API."""

import hashlib
import json

import pytest

from dsr.datamap.schema import DataMapInvalid
from dsr.demo.demo_platforms import META_AUDIENCE, META_TOKEN
from dsr.sources.base import AUDIENCE, AUDIENCE_REMOVAL, SourcePermanentError, SourceTransientError
from dsr.sources.meta_audience import MetaAudienceConnector
from tests.sources.maps import map_build
from tests.sources.platforms import EMAIL, EMAIL_SHA256, OTHER_SHA256

METTE = {"email": {EMAIL}}


def source(base: str, **config) -> dict:
    return {
        "name": "Meta custom audiences",
        "kind": "meta_audience",
        "purposes": ["newsletter"],
        "origin": {"da": "Fra os", "en": "From us"},
        "provided_by_subject": [],
        "url": base,
        "access_token": META_TOKEN,
        "audiences": {"retargeting": {"id": META_AUDIENCE, "name": {"da": "Genmålretning", "en": "Retargeting"}}},
        "owner": "Marketing team",
        "retries": 1,
        "backoff_seconds": 0.01,
        "timeout_seconds": 2,
        **config,
    }


def connector_for(url: str, **config) -> MetaAudienceConnector:
    datamap = map_build({"meta": source(url, **config)})
    return MetaAudienceConnector(datamap.sources["meta"], datamap)


def test_removal_sends_the_normalised_sha256_email_and_reports_metas_count(meta):
    result = connector_for(meta.url).audience_remove(METTE, reference="R-1")

    assert (META_AUDIENCE, EMAIL_SHA256) not in meta.store.members
    assert (META_AUDIENCE, OTHER_SHA256) in meta.store.members
    [call] = meta.calls
    assert call["access_token"] == META_TOKEN
    assert json.loads(call["payload"]) == {"schema": ["EMAIL_SHA256"], "data": [[EMAIL_SHA256]]}
    session = json.loads(call["session"])
    assert session["batch_seq"] == 1
    assert session["last_batch_flag"] is True
    [fact] = result.facts
    assert result.operation == AUDIENCE_REMOVAL
    assert result.complete
    assert (fact.table, fact.action, fact.found, fact.changed, fact.confirmed) == (
        "Retargeting",
        AUDIENCE,
        None,
        1,
        True,
    )
    assert fact.reference == str(session["session_id"])


def test_phone_numbers_go_as_digits_with_the_country_code(meta):
    connector = connector_for(meta.url, identifiers=["email", "phone"])
    connector.audience_remove({"email": {EMAIL}, "phone": {"+45 20 30 40 50"}}, reference="R-2")

    payload = json.loads(meta.calls[0]["payload"])
    assert payload["schema"] == ["EMAIL_SHA256", "PHONE_SHA256"]
    assert payload["data"] == [[EMAIL_SHA256, ""], ["", hashlib.sha256(b"4520304050").hexdigest()]]


def test_a_retry_of_the_same_request_uses_the_same_session(meta):
    connector = connector_for(meta.url)
    connector.audience_remove(METTE, reference="R-3")
    connector.audience_remove(METTE, reference="R-3")

    assert json.loads(meta.calls[0]["session"])["session_id"] == json.loads(meta.calls[1]["session"])["session_id"]


def test_more_than_ten_thousand_rows_go_in_numbered_batches_of_one_session(meta, monkeypatch):
    connector = connector_for(meta.url)
    many = {"email": {f"person{n}@example.dk" for n in range(10_001)}}
    result = connector.audience_remove(many, reference="R-4")

    assert [len(json.loads(call["payload"])["data"]) for call in meta.calls] == [10_000, 1]
    sessions = [json.loads(call["session"]) for call in meta.calls]
    assert [(s["batch_seq"], s["last_batch_flag"]) for s in sessions] == [(1, False), (2, True)]
    assert result.facts[0].changed == 10_001


def test_a_person_with_no_identifier_the_platform_takes_is_not_sent(meta):
    result = connector_for(meta.url).audience_remove({"phone": {"+4520304050"}}, reference="R-5")

    assert meta.calls == []
    assert result.facts[0].found == 0
    assert not result.facts[0].reference


@pytest.mark.parametrize("meta", ["expired_token"], indirect=True)
def test_an_expired_token_is_a_permanent_error_that_says_to_renew_it(meta):
    with pytest.raises(SourcePermanentError, match=r"190.*renew"):
        connector_for(meta.url).audience_remove(METTE, reference="R-6")
    assert (META_AUDIENCE, EMAIL_SHA256) in meta.store.members


@pytest.mark.parametrize("meta", ["rate_limited"], indirect=True)
def test_a_rate_limit_that_lasts_is_transient(meta):
    with pytest.raises(SourceTransientError, match=r"80003.*rate limited"):
        connector_for(meta.url).audience_remove(METTE, reference="R-7")
    assert len(meta.calls) == 2  # the first try and one retry


@pytest.mark.parametrize("meta", ["rate_limited_once"], indirect=True)
def test_a_rate_limit_that_passes_is_retried(meta):
    result = connector_for(meta.url).audience_remove(METTE, reference="R-8")
    assert result.facts[0].changed == 1
    assert (META_AUDIENCE, EMAIL_SHA256) not in meta.store.members


@pytest.mark.parametrize("meta", ["no_audience"], indirect=True)
def test_an_unknown_audience_is_a_permanent_error_naming_the_audience(meta):
    with pytest.raises(SourcePermanentError, match=r'audience "retargeting".*no such audience'):
        connector_for(meta.url).audience_remove(METTE, reference="R-9")


@pytest.mark.parametrize("meta", ["down"], indirect=True)
def test_a_platform_that_is_down_is_transient(meta):
    with pytest.raises(SourceTransientError):
        connector_for(meta.url).audience_remove(METTE, reference="R-10")


def test_without_a_token_the_marketing_team_gets_a_task_naming_the_hash_and_audience(monkeypatch):
    monkeypatch.delenv("META_TOKEN_UNSET", raising=False)
    connector = connector_for("https://graph.facebook.com", access_token="${env:META_TOKEN_UNSET:-}")

    spec = connector.audience_task(METTE)

    assert spec["owner"] == "Marketing team"
    assert spec["operation"] == AUDIENCE_REMOVAL
    for language in ("da", "en"):
        assert EMAIL_SHA256 in spec["instructions"][language]
        assert META_AUDIENCE in spec["instructions"][language]
    assert "Genmålretning" in spec["instructions"]["da"]
    assert "Retargeting" in spec["instructions"]["en"]
    assert EMAIL.strip() not in spec["instructions"]["en"]


def test_with_a_token_there_is_no_task(meta):
    assert connector_for(meta.url).audience_task(METTE) is None


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"audiences": {}}, "sources.meta.audiences"),
        ({"audiences": {"x": {"name": "X"}}}, "sources.meta.audiences.x.id"),
        ({"identifiers": ["customer_number"]}, "sources.meta.identifiers"),
        ({"owner": ""}, "sources.meta.owner"),
        ({"access_token": "${TOKEN}"}, "sources.meta.access_token"),
        ({"api_version": "21"}, "sources.meta.api_version"),
        ({"batch": 5}, "sources.meta.batch"),
    ],
)
def test_a_bad_configuration_is_refused_at_load_naming_the_path(config, path):
    with pytest.raises(DataMapInvalid) as caught:
        map_build({"meta": source("https://graph.facebook.com", **config)})
    assert path in str(caught.value)

"""The http connector against a real local HTTP server playing an OpenGDPR processor."""

import json
import socket

import pytest

from dsr.datamap.schema import DataMapInvalid
from dsr.sources.base import (
    ACCESS,
    AUDIENCE_REMOVAL,
    ERASURE,
    REQUEST,
    ErasurePlan,
    Fact,
    SignatureInvalid,
    SourcePermanentError,
    SourceTransientError,
    SourceUnsupported,
)
from dsr.sources.http import HttpConnector, signature_make
from tests.sources.http.processor import EMAIL, EMAIL_SHA256, SECRET
from tests.sources.maps import map_build

METTE = {"email": {EMAIL}}
RECIPIENTS = {
    "adpartner": {
        "name": "Ad partner ApS",
        "role": "processor",
        "country": "DK",
        "safeguard": {"da": "Inden for EU", "en": "Within the EU"},
        "purposes": ["newsletter"],
    }
}


def connector_for(url: str, secret: str = SECRET, **config) -> HttpConnector:
    source = {
        "name": "Demo ad partner",
        "kind": "http",
        "purposes": ["newsletter"],
        "origin": {"da": "Fra os", "en": "From us"},
        "provided_by_subject": [],
        "url": url,
        "secret": secret,
        "identities": [{"type": "email", "format": "sha256"}],
        "categories": {"audience": {"email_sha256": "marketing"}},
        "retries": 2,
        "backoff_seconds": 0.01,
        "timeout_seconds": 2,
        **config,
    }
    datamap = map_build({"adpartner": source}, recipients=RECIPIENTS)
    return HttpConnector(datamap.sources["adpartner"], datamap)


def _posted(processor) -> list[str]:
    """Return the subject_request_ids the processor was sent, in order."""
    return list(processor.requests)


# --- capabilities and configuration ------------------------------------------------------


def test_a_processor_is_told_by_the_request_itself_and_answers_by_callback():
    connector = connector_for("http://127.0.0.1:1/opengdpr")
    assert connector.informs_recipients is True
    assert connector.accepts_callbacks is True
    assert connector.task_for(ERASURE) is None
    assert all(connector.supports(op) for op in (ACCESS, ERASURE, AUDIENCE_REMOVAL))


def test_a_processor_that_takes_no_erasure_requests_cannot_remove_from_audiences():
    connector = connector_for("http://127.0.0.1:1/opengdpr", request_types=["access"])
    assert not connector.supports(ERASURE)
    assert not connector.supports(AUDIENCE_REMOVAL)
    with pytest.raises(SourceUnsupported):
        connector.audience_remove(METTE, reference="R-1")
    with pytest.raises(SourceUnsupported):
        connector.erasure_plan(METTE, reference="R-1")


def test_record_groups_describe_their_own_purposes_and_recipients_or_leave_them_to_the_source():
    connector = connector_for(
        "http://127.0.0.1:1/opengdpr",
        groups={"audience": {"recipients": ["adpartner"]}, "segments": {"purposes": ["newsletter"]}},
    )
    assert HttpConnector.groups_describe(connector.config) == {
        "audience": {"purposes": None, "recipients": ["adpartner"], "categories": ["marketing"]},
        "segments": {"purposes": ["newsletter"], "recipients": None, "categories": []},
    }


def test_unknown_purposes_and_recipients_of_a_record_group_are_refused_with_their_path():
    with pytest.raises(DataMapInvalid) as caught:
        connector_for(
            "http://127.0.0.1:1/opengdpr",
            groups={"audience": {"purposes": ["ads"], "recipients": ["printer"], "owner": "x"}},
        )
    assert [str(e) for e in caught.value.errors] == [
        "sources.adpartner.groups.audience.owner: unknown key; expected purposes or recipients",
        'sources.adpartner.groups.audience.purposes: unknown purpose "ads"',
        'sources.adpartner.groups.audience.recipients: unknown recipient "printer"',
    ]


# --- access ---------------------------------------------------------------------------


def test_connection_test_reads_the_discovery_document(processor):
    connector_for(processor.url).test_connection()
    assert processor.calls == [("GET", "/opengdpr/discovery")]


def test_access_returns_the_processors_records_with_categories(processor):
    connector = connector_for(processor.url)
    records = list(connector.records({"email": {" Mette@Example.dk"}}, reference="R-1"))
    assert [(r.table, r.row["email_sha256"], r.categories) for r in records] == [
        ("audience", EMAIL_SHA256, {"email_sha256": "marketing"})
    ]
    # The id the processor was sent is the one a callback for this access request will name.
    assert _posted(processor) == [connector.work_reference(ACCESS, METTE, "R-1")]


@pytest.mark.parametrize("processor", ["pending"], indirect=True)
def test_access_still_pending_at_the_processor_is_worth_retrying_without_resubmitting(processor):
    connector = connector_for(processor.url)
    for _ in range(2):
        with pytest.raises(SourceTransientError, match="not finished"):
            list(connector.records(METTE, reference="R-9"))
    assert sum(1 for call in processor.calls if call[0] == "POST") == 1


# --- erasure and audience removal ------------------------------------------------------------


def test_only_hashed_email_is_sent(processor):
    connector = connector_for(processor.url)
    plan = connector.erasure_plan({"email": {EMAIL}, "phone": {"+4520304050"}})
    assert plan.extra["subject_identities"] == [
        {"identity_type": "email", "identity_value": EMAIL_SHA256, "identity_format": "sha256"}
    ]


def test_erasure_is_submitted_once_and_the_facts_say_so(processor):
    connector = connector_for(processor.url)
    plan = ErasurePlan.from_dict(connector.erasure_plan(METTE, reference="R-2").to_dict())
    assert [(t.table, t.action, t.categories) for t in plan.tables] == [("processor", REQUEST, ["marketing"])]
    reference = connector.work_reference(ERASURE, METTE, "R-2")

    first = connector.erasure_execute(plan)
    second = connector.erasure_execute(plan)

    assert first.facts == [
        Fact(table="processor", action=REQUEST, found=None, changed=1, confirmed=True, reference=reference)
    ]
    assert second.facts == [
        Fact(table="processor", action=REQUEST, found=None, changed=0, confirmed=True, reference=reference)
    ]
    assert first.complete
    assert second.complete
    assert first.reference == reference
    assert EMAIL_SHA256 not in processor.audience
    assert _posted(processor) == [reference]


@pytest.mark.parametrize("processor", ["pending"], indirect=True)
def test_an_erasure_the_processor_has_not_finished_is_not_confirmed(processor):
    connector = connector_for(processor.url)
    result = connector.erasure_execute(connector.erasure_plan(METTE, reference="R-3"))
    assert result.complete is False
    assert [(f.changed, f.confirmed) for f in result.facts] == [(1, None)]


def test_an_erasure_for_a_person_without_an_identity_the_processor_knows_sends_nothing(processor):
    connector = connector_for(processor.url)
    result = connector.erasure_execute(connector.erasure_plan({"phone": {"+4520304050"}}, reference="R-4"))
    assert result.facts == [Fact(table="processor", action=REQUEST, found=0, changed=0)]
    assert result.complete
    assert processor.calls == []


def test_audience_removal_sends_one_erasure_request_and_reports_it(processor):
    connector = connector_for(processor.url)
    reference = connector.work_reference(AUDIENCE_REMOVAL, METTE, "R-5")

    first = connector.audience_remove(METTE, reference="R-5")
    second = connector.audience_remove(METTE, reference="R-5")

    assert first.operation == AUDIENCE_REMOVAL
    assert first.facts == [
        Fact(table="audience", action=REQUEST, found=None, changed=1, confirmed=True, reference=reference)
    ]
    assert second.facts == [
        Fact(table="audience", action=REQUEST, found=None, changed=0, confirmed=True, reference=reference)
    ]
    assert first.complete
    assert first.reference == reference
    assert EMAIL_SHA256 not in processor.audience
    assert processor.requests == {reference: {"type": "erasure", "found": [EMAIL_SHA256]}}
    # An erasure of the same dsr request is a request of its own.
    assert reference != connector.work_reference(ERASURE, METTE, "R-5")


@pytest.mark.parametrize("processor", ["pending"], indirect=True)
def test_an_audience_removal_the_processor_has_not_finished_is_incomplete(processor):
    result = connector_for(processor.url).audience_remove(METTE, reference="R-6")
    assert result.complete is False
    assert [(f.changed, f.confirmed) for f in result.facts] == [(1, None)]


# --- callbacks -------------------------------------------------------------------------


def test_a_signed_callback_is_verified_and_names_the_request_and_its_status():
    connector = connector_for("http://127.0.0.1:1/opengdpr")
    body = json.dumps({"subject_request_id": "abc", "request_status": "completed"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000, event_id="evt-1")
    verified = connector.callback_verify(body, header, now=1_700_000_010)
    assert {key: verified[key] for key in ("reference", "status", "event_id", "timestamp")} == {
        "reference": "abc",
        "status": "completed",
        "event_id": "evt-1",
        "timestamp": 1_700_000_000,
    }


def test_a_callback_signed_with_another_secret_or_malformed_is_refused():
    connector = connector_for("http://127.0.0.1:1/opengdpr")
    body = json.dumps({"subject_request_id": "abc", "request_status": "completed"}).encode()
    header = signature_make("other", body, timestamp=1_700_000_000, event_id="e")
    with pytest.raises(SignatureInvalid):
        connector.callback_verify(body, header, now=1_700_000_000)
    no_status = json.dumps({"subject_request_id": "abc"}).encode()
    header = signature_make(SECRET, no_status, timestamp=1_700_000_000, event_id="e")
    with pytest.raises(ValueError, match="request_status"):
        connector.callback_verify(no_status, header, now=1_700_000_000)


def test_the_work_reference_is_the_same_for_the_same_request_and_differs_between_requests():
    connector = connector_for("http://127.0.0.1:1/opengdpr")
    assert connector.work_reference(ACCESS, METTE, "R-7") == connector.work_reference(ACCESS, METTE, "R-7")
    assert connector.work_reference(ACCESS, METTE, "R-7") != connector.work_reference(ACCESS, METTE, "R-8")
    with pytest.raises(SourceUnsupported):
        connector.work_reference("rectification", METTE, "R-7")


# --- transport errors ------------------------------------------------------------------


@pytest.mark.parametrize("processor", ["garbage"], indirect=True)
def test_a_processor_answering_garbage_is_a_permanent_error(processor):
    with pytest.raises(SourcePermanentError, match=r"adpartner.*not JSON"):
        connector_for(processor.url).test_connection()
    assert len(processor.calls) == 1


@pytest.mark.parametrize("processor", ["flaky"], indirect=True)
def test_a_500_is_retried_and_the_next_answer_used(processor):
    connector_for(processor.url).test_connection()
    assert processor.calls == [("GET", "/opengdpr/discovery")] * 2


@pytest.mark.parametrize("processor", ["down"], indirect=True)
def test_a_processor_failing_every_attempt_is_a_transient_error(processor):
    with pytest.raises(SourceTransientError, match="HTTP 500 \\(after 3 attempts\\)"):
        connector_for(processor.url).test_connection()


@pytest.mark.parametrize("processor", ["normal", "forbids"], indirect=True)
def test_401_and_403_from_a_processor_both_say_the_shared_secret_is_wrong(processor):
    with pytest.raises(
        SourcePermanentError, match=r"did not accept our signature.*HTTP 40[13]; check the shared secret"
    ):
        connector_for(processor.url, secret="wrong-secret").test_connection()
    assert len(processor.calls) == 1


def test_an_unreachable_processor_is_a_transient_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SourceTransientError, match="could not be reached"):
        connector_for(f"http://127.0.0.1:{port}/opengdpr").test_connection()

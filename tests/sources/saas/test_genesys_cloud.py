"""The Genesys Cloud catalogue entry against the Genesys stand-in: OAuth2, subject search, asynchronous GDPR jobs."""

import pytest

from dsr.demo.vendors.genesys_cloud import CLIENT_ID, CLIENT_SECRET
from dsr.sources.base import ACCESS, ASYNC, ERASURE, REQUEST, ErasurePlan, SourcePermanentError, SourceTransientError
from dsr.sources.state import JobState
from tests.sources.saas.conftest import METTE, saas_connector


class KeptState(JobState):
    """A job state that survives its connector, as Job.state survives a worker; counts its saves."""

    saves = 0

    def save(self) -> None:
        self.saves += 1


def genesys_connector(fake, *, state: JobState | None = None, **config):
    config.setdefault("jobs", {"wait_seconds": 5, "interval_seconds": 0.01})
    connector = saas_connector(
        "genesys_cloud",
        fake.url,
        token_url=f"{fake.url}/oauth/token",
        secrets={"client_id": "${env:TEST_GENESYS_ID}", "client_secret": "${env:TEST_GENESYS_SECRET}"},
        settings={"region": "mypurecloud.de"},
        **config,
    )
    if state is not None:
        connector.state = state
    return connector


@pytest.fixture(autouse=True)
def genesys_credentials(monkeypatch):
    monkeypatch.setenv("TEST_GENESYS_ID", CLIENT_ID)
    monkeypatch.setenv("TEST_GENESYS_SECRET", CLIENT_SECRET)


def test_the_entry_builds_its_addresses_from_the_region():
    connector = saas_connector(
        "genesys_cloud",
        None,
        secrets={"client_id": "${env:X:-a}", "client_secret": "${env:Y:-b}"},
        settings={"region": "mypurecloud.de"},
    )

    assert connector.client().base_url == "https://api.mypurecloud.de"
    assert connector.capabilities() == {ACCESS, ERASURE, ASYNC}


def test_access_exports_the_persons_interactions_through_a_gdpr_export_job(genesys):
    connector = genesys_connector(genesys)

    records = list(connector.records(METTE, reference="DSR-1"))

    assert [record.row for record in records] == genesys.interactions("ext-mette")
    assert {record.table for record in records} == {"interactions"}
    assert records[0].categories["participants"] == "contact"
    submitted = genesys.calls_to("POST", "/api/v2/gdpr/requests")
    assert len(submitted) == 1
    body = submitted[0].json()
    assert body["requestType"] == "GDPR_EXPORT"
    assert body["subject"]["externalContactId"] == "ext-mette"
    # One token for every call; the signed results link was fetched without it.
    assert genesys.tokens_issued == 1
    assert genesys.refusals == []


def test_the_person_is_found_by_phone_as_well_and_counted_once(genesys):
    connector = genesys_connector(genesys)

    subjects = connector.subjects({"email": {"mette.hansen@example.dk"}, "phone": {"+45 12 34 56 78"}})

    assert [subject["externalContactId"] for subject in subjects] == ["ext-mette"]
    search = {
        call.param("searchType"): call.param("searchValue") for call in genesys.calls_to("GET", "/api/v2/gdpr/subjects")
    }
    assert search == {"EMAIL": "mette.hansen@example.dk", "PHONE": "+4512345678"}


def test_an_export_not_ready_within_the_wait_is_a_transient_error_and_the_next_run_polls_the_same_job(genesys):
    genesys.polls_until_done = 4
    state = KeptState()
    first = genesys_connector(genesys, state=state, jobs={"wait_seconds": 0, "interval_seconds": 0})

    with pytest.raises(SourceTransientError, match="has not finished the interactions job yet"):
        list(first.records(METTE))
    assert state.saves == 1  # the job id was kept before the first poll

    # Another worker, with the state the first one left on the job row.
    second = genesys_connector(genesys, state=KeptState(state.data), jobs={"wait_seconds": 5, "interval_seconds": 0})
    records = list(second.records(METTE))

    assert len(records) == 5
    assert len(genesys.calls_to("POST", "/api/v2/gdpr/requests")) == 1


def test_erasure_sends_one_gdpr_delete_request_and_waits_until_genesys_reports_it_fulfilled(genesys):
    genesys.polls_until_done = 3
    state = KeptState()
    connector = genesys_connector(genesys, state=state, jobs={"wait_seconds": 0, "interval_seconds": 0})
    plan = ErasurePlan.from_dict(connector.erasure_plan(METTE, reference="DSR-1").to_dict())
    assert [(table.table, table.action, table.count) for table in plan.tables] == [("interactions", REQUEST, 1)]

    first = connector.erasure_execute(plan)

    assert not first.complete
    fact = first.facts[0]
    assert (fact.action, fact.confirmed, fact.found) == (REQUEST, None, None)
    assert fact.reference == genesys.store.items("requests")[0]["id"]
    assert len(genesys.interactions("ext-mette")) == 5

    # The reconciler runs the job again (a later run, maybe another worker) until Genesys is done.
    again = genesys_connector(genesys, state=KeptState(state.data), jobs={"wait_seconds": 0, "interval_seconds": 0})
    results = [again.erasure_execute(plan) for _ in range(2)]

    assert results[-1].complete
    assert results[-1].facts[0].confirmed is True
    assert results[-1].facts[0].reference == fact.reference
    submitted = genesys.calls_to("POST", "/api/v2/gdpr/requests")
    assert len(submitted) == 1
    assert submitted[0].param("deleteConfirmed") == "true"
    assert genesys.interactions("ext-mette") == []
    assert len(genesys.interactions("ext-other")) == 2
    assert genesys.refusals == []


def test_a_job_genesys_ends_in_error_is_a_permanent_failure_and_a_retry_submits_anew(genesys):
    state = KeptState()
    genesys.jobs_fail = True

    with pytest.raises(SourcePermanentError, match=r"reports the interactions job .* as ERROR"):
        list(genesys_connector(genesys, state=state).records(METTE))
    assert state.data == {}

    genesys.jobs_fail = False
    assert len(list(genesys_connector(genesys, state=state).records(METTE))) == 5
    assert len(genesys.calls_to("POST", "/api/v2/gdpr/requests")) == 2


def test_a_revoked_token_is_replaced_once_and_the_call_goes_through(genesys):
    connector = genesys_connector(genesys)
    connector.subjects(METTE)
    genesys.tokens_revoke()

    assert len(connector.subjects(METTE)) == 1
    assert genesys.tokens_issued == 2


def test_wrong_client_credentials_are_a_permanent_error_naming_the_token_endpoint(genesys, monkeypatch):
    monkeypatch.setenv("TEST_GENESYS_SECRET", "wrong")

    with pytest.raises(SourcePermanentError, match=r"Genesys Cloud: POST auth.token_url answered HTTP 401"):
        genesys_connector(genesys).subjects(METTE)


@pytest.mark.parametrize(
    ("genesys", "error", "words"),
    [
        ("forbidden", SourcePermanentError, "HTTP 403"),
        ("rate_limited", SourceTransientError, "HTTP 429"),
        ("down", SourceTransientError, "HTTP 503"),
        ("malformed", SourcePermanentError, "not JSON"),
    ],
    indirect=["genesys"],
)
def test_failures_end_as_the_right_error(genesys, error, words):
    with pytest.raises(error, match=words):
        list(genesys_connector(genesys).records(METTE))

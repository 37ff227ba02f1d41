"""The OpenAPI schema is valid, and schemathesis finds no server error and no answer that breaks it.

The schema is loaded from the Django WSGI app in-process (no network, no
server) and every operation gets generated cases: with an API key holding
every scope, and anonymously. Half of the keyed cases on a request's path use
the reference of a real request, so that the actions reach their services
instead of stopping at a 404. The total number of cases is asserted so that
the run cannot silently shrink.
"""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Right

pytestmark = pytest.mark.django_db

# Examples per operation; 20 operations, so about 1,400 cases in all (some have no invalid cases).
KEYED_EXAMPLES = 40
ANONYMOUS_EXAMPLES = 15
NEGATIVE_EXAMPLES = 15
MINIMUM_CASES = 1000
# No server error, and every answer as documented. Not "schema-valid data is accepted": the services
# refuse data the schema cannot describe (an email's form, what each right needs) with a 400.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/requests/{reference}/actions/refuse/" in (tmp_path / "schema.yaml").read_text()


@pytest.fixture
def wsgi_app():
    """Return the project's WSGI app, called in this thread and inside the test's transaction."""
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def references() -> list[str]:
    """Real requests in a few states, for the keyed cases to act on."""
    made = []
    for right, details in (
        (Right.ACCESS, {}),
        (Right.ERASURE, {}),
        (Right.OBJECTION, {"scope": "profiling", "grounds": "I never agreed."}),
        (Right.RESTRICTION, {"ground": "accuracy_contested"}),
    ):
        request = workflow.request_submit(
            right=right, email="kunde@example.dk", details=details, pre_verified=True, actor=Actor.integration("t")
        ).request
        made.append(request.reference)
    unverified = workflow.request_submit(right=Right.ACCESS, email="other@example.dk", actor=Actor.subject())
    made.append(unverified.request.reference)
    return made


def _fuzz(schema, *, examples: int, headers: dict, references: list[str], negative: bool = False) -> int:
    """Run generated cases against every operation; return how many ran."""
    ran = 0
    mode = GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=operation.as_strategy(mode), pick=st.integers(min_value=-len(references), max_value=len(references))
        )
        def run(case, pick):
            nonlocal ran
            if references and "reference" in (case.path_parameters or {}) and pick >= 0 and pick < len(references):
                case.path_parameters["reference"] = references[pick]
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
            ran += 1

        try:
            run()
        except Unsatisfiable:
            # An operation with nothing to get wrong (no parameters, an empty body) has no invalid cases.
            if not negative:
                raise
    return ran


def test_generated_cases_find_no_server_error_and_no_answer_outside_the_schema(
    wsgi_app, integration_token, references, settings
):
    # The public intake's per-address limits would answer most anonymous cases with a (documented) 429.
    settings.DSR_INTAKE_RATE_PER_IP = "100000/hour"
    settings.DSR_INTAKE_RATE_PER_EMAIL = "100000/hour"
    settings.DSR_VERIFY_RATE_PER_IP = "100000/hour"
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    keyed = _fuzz(
        schema,
        examples=KEYED_EXAMPLES,
        headers={"Authorization": f"Bearer {integration_token}"},
        references=references,
    )
    anonymous = _fuzz(schema, examples=ANONYMOUS_EXAMPLES, headers={}, references=[])
    # Data the schema forbids (wrong types, missing fields, out-of-range values): never a 5xx. An empty
    # query parameter counts as absent, so "every invalid case is refused" is not asserted.
    invalid = _fuzz(
        schema,
        examples=NEGATIVE_EXAMPLES,
        headers={"Authorization": f"Bearer {integration_token}"},
        references=references,
        negative=True,
    )
    assert keyed + anonymous + invalid >= MINIMUM_CASES, (keyed, anonymous, invalid)


@pytest.fixture
def integration_token(make_key) -> str:
    return make_key()[1]

"""A filing's answer, built without the serializer, is exactly what RequestCreatedSerializer (the schema) says."""

import json

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from dsr.api.serializers import RequestCreatedSerializer, RequestCreateSerializer
from dsr.models import Request, Status
from dsr.workflow import request_status_token

pytestmark = pytest.mark.django_db


def _expected(request: Request, status_token: str) -> dict:
    """What the serializer makes of the stored request, through the same JSON renderer."""
    body = RequestCreatedSerializer(
        {
            "reference": request.reference,
            "status": request.status,
            "status_token": status_token,
            "verification_required": request.status == Status.PENDING_VERIFICATION,
            "due_date": request.due_date,
        }
    ).data
    return json.loads(json.dumps(body))


def test_a_public_filing_answers_in_the_schemas_shape():
    response = APIClient().post("/api/v1/requests/", {"right": "access", "email": "ida@example.dk"}, format="json")
    assert response.status_code == 201
    request = Request.objects.get()
    body = response.json()
    assert body == _expected(request, request_status_token(request))
    assert body["status"] == "pending_verification"
    assert body["verification_required"] is True
    assert body["due_date"] == request.due_date.isoformat()


def test_a_filing_by_an_integration_and_its_retry_answer_in_the_schemas_shape(integration):
    payload = {"right": "erasure", "email": "bo@example.dk"}
    first = integration.post("/api/v1/requests/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = integration.post("/api/v1/requests/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    request = Request.objects.get()
    assert first.json() == again.json() == _expected(request, request_status_token(request))
    assert first.json()["verification_required"] is False
    assert first.json()["status"] == "in_progress"


def test_the_filings_serializer_fields_are_each_its_own_and_speak_the_callers_language():
    first, second = RequestCreateSerializer(data={}), RequestCreateSerializer(data={})
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert (first.fields[name].parent, second.fields[name].parent) == (first, second)
    answers = {}
    for language in ("en", "da"):
        with translation.override(language):
            serializer = RequestCreateSerializer(data={"right": "nope", "email": "x" * 255, "details": {"a": 1}})
            assert not serializer.is_valid()
            answers[language] = {key: [str(error) for error in errors] for key, errors in serializer.errors.items()}
    assert answers["en"] == {
        "right": ['"nope" is not a valid choice.'],
        "email": ["Ensure this field has no more than 254 characters."],
    }
    assert answers["da"]["right"] == ['"nope" er ikke et gyldigt valg.']
    valid = RequestCreateSerializer(data={"right": "access", "email": "ida@example.dk"})
    assert valid.is_valid()
    other = RequestCreateSerializer(data={"right": "access", "email": "bo@example.dk"})
    assert other.is_valid()
    # A default made anew for each filing, not one dict shared by all.
    assert valid.validated_data["details"] == {}
    assert valid.validated_data["details"] is not other.validated_data["details"]

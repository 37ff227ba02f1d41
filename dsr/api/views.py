"""Requests through the API: file (publicly, or verified by an integration), confirm, follow, list."""

import re

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dsr.api.auth import AUTHENTICATION, ApiKeyAuthentication, ScopeRequired, scope_check
from dsr.api.serializers import (
    ConsentWithdrawSerializer,
    RequestCreatedSerializer,
    RequestCreateSerializer,
    RequestDetailSerializer,
    RequestListQuerySerializer,
    RequestPageSerializer,
    RequestStatusSerializer,
    VerifySerializer,
)
from dsr.api.throttling import IntakeThrottle, VerificationThrottle
from dsr.apikeys import apikey_actor
from dsr.audit import Actor
from dsr.emails import absolute_url
from dsr.models import ApiKey, ApiScope, Channel, Request, Right, Status
from dsr.verification import VerificationError, verification_confirm_code, verification_resend
from dsr.views.staff.queue import queue_page
from dsr.workflow import RequestInvalid, SubmitResult, request_by_status_token, request_submit

ERROR_RESPONSE = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description='Error object: {"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}',
)
_VERIFICATION_STATUS = {
    "invalid": 400,
    "expired": 410,
    "used": 409,
    "not_pending": 409,
    "locked": 403,
    "rate_limited": 429,
}


def _invalid(exc: RequestInvalid) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.message_dict)


def _verification_failed(exc: VerificationError) -> exceptions.APIException:
    error = exceptions.APIException(detail=str(exc), code=exc.code)
    error.status_code = _VERIFICATION_STATUS.get(exc.code, 400)
    return error


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) of 1 to 100 visible characters. A retried POST with the same key and the "
        "same body answers 200 with the request the first one filed; the same key with a different body is a 409."
    ),
)
_STATUS_EXAMPLE = {
    "reference": "DSR-7KQM-2XPA-9RTV-H4WB",
    "right": "access",
    "right_label": "Access (Art. 15)",
    "status": "in_progress",
    "status_label": "In progress",
    "channel": "api",
    "received_at": "2026-11-22T09:30:00+01:00",
    "verified_at": "2026-11-22T09:30:00+01:00",
    "due_date": "2026-12-22",
    "extended_due_date": None,
    "effective_due_date": "2026-12-22",
    "days_left": 30,
    "clock_stopped": False,
    "closed_at": None,
    "outcome_reasons": "",
    "status_page": "https://privacy.example.dk/status/DSR-7KQM-2XPA-9RTV-H4WB/",
    "refusal_ground": "",
    "assignee": None,
    "jobs": {"total": 3, "done": 1, "running": 2, "failed": 0},
}
STATUS_EXAMPLE = OpenApiExample("In progress", value=_STATUS_EXAMPLE, response_only=True, status_codes=["200"])
_IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,100}$")
_REFERENCE = re.compile(r"^DSR-[A-Z0-9-]{1,28}$")


def _idempotency_key(request, *, scope: str) -> str | None:
    """Return the stored form of the Idempotency-Key header, scoped to the caller, or None without one."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.match(raw):
        raise exceptions.ValidationError(
            {"Idempotency-Key": [_("Give 1 to 100 visible ASCII characters, e.g. a UUID.")]}
        )
    # Scoped per caller: two integrations choosing the same key never see each other's request.
    return f"{scope}:{raw}"


# CCPA regs § 7063: an authorised agent files on the portal, where the agent and the consumer confirm by email and
# the privacy team checks the proof of authority; the API takes no agent filings yet.
AGENT_FIELDS = (
    "agent",
    "agent_name",
    "agent_email",
    "authorised_agent",
    "authorized_agent",
    "power_of_attorney",
    "entity_number",
)


def _agent_fields_refuse(data) -> None:
    """Raise a 400 naming the portal's agent page when the body carries an authorised agent's fields."""
    given = sorted(key for key in AGENT_FIELDS if hasattr(data, "keys") and key in data)
    if given:
        message = _(
            "The API does not take requests from authorised agents. An agent files on the portal's page %(url)s, "
            "where the agent and the consumer confirm by email and our privacy team checks the proof of authority."
        ) % {"url": absolute_url(reverse("dsr:agent_form"))}
        raise exceptions.ValidationError({key: [message] for key in given})


def _submitted(exc: RequestInvalid) -> exceptions.APIException:
    if "idempotency_key" in exc.message_dict:
        error = exceptions.APIException(
            detail=_("This Idempotency-Key was already used with a different body."), code="idempotency_key_reused"
        )
        error.status_code = status.HTTP_409_CONFLICT
        return error
    return _invalid(exc)


def _created_response(result: SubmitResult) -> Response:
    # RequestCreatedSerializer's shape (the schema's), built directly: every filing answers with it.
    body = {
        "reference": result.request.reference,
        "status": str(result.request.status),
        "status_token": result.status_token,
        "verification_required": result.request.status == Status.PENDING_VERIFICATION,
        "due_date": result.request.due_date.isoformat(),
    }
    return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class RequestsView(APIView):
    """POST files a request (public, or verified with an API key); GET lists requests for staff and keys."""

    def initialize_request(self, request, *args, **kwargs):
        # The public intake ignores sessions (no CSRF for the anonymous form); everything else may use them.
        self.public_post = request.method == "POST"
        return super().initialize_request(request, *args, **kwargs)

    def get_authenticators(self):
        if getattr(self, "public_post", False):
            return [ApiKeyAuthentication()]
        return [auth() for auth in AUTHENTICATION]

    def get_permissions(self):
        return [AllowAny()]

    def get_throttles(self):
        # Integrations file for many customers from one address; the public limits are for people.
        if self.request.method == "POST" and not isinstance(self.request.auth, ApiKey):
            return [IntakeThrottle()]
        return []

    @extend_schema(
        operation_id="requests_create",
        summary="File a request to exercise a right",
        description=(
            "Without an API key: files a request for the person with this email. A six-digit code and a link "
            "are emailed to the address; the request is worked on once it is confirmed. The answer is the same "
            "whether or not we hold data about the address.\n\n"
            "With an API key holding `requests:create`: your system vouches that its logged-in customer owns "
            "this email. The request arrives verified (`status: in_progress`), its deadline runs from now, and "
            "the audit trail names your key. Staff sessions are ignored here: staff enter requests in the "
            "dashboard."
        ),
        parameters=[IDEMPOTENCY_KEY],
        auth=[{"apiKey": []}, {}],
        request=RequestCreateSerializer,
        responses={
            201: RequestCreatedSerializer,
            200: OpenApiResponse(RequestCreatedSerializer, description="A retry with the same Idempotency-Key."),
            400: ERROR_RESPONSE,
            401: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            413: ERROR_RESPONSE,
            429: ERROR_RESPONSE,
        },
        examples=[
            OpenApiExample(
                "Access", value={"right": "access", "email": "kunde@example.dk", "language": "da"}, request_only=True
            ),
            OpenApiExample(
                "Objection to direct marketing",
                value={
                    "right": "objection",
                    "email": "customer@example.com",
                    "language": "en",
                    "details": {"scope": "direct_marketing"},
                },
                request_only=True,
            ),
            OpenApiExample(
                "Filed with an API key",
                value={
                    "reference": "DSR-7KQM-2XPA-9RTV-H4WB",
                    "status": "in_progress",
                    "status_token": "q0V1x…",
                    "verification_required": False,
                    "due_date": "2026-12-22",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
        tags=["requests"],
    )
    def post(self, request):
        key = request.auth if isinstance(request.auth, ApiKey) else None
        if key is not None:
            scope_check(request, ApiScope.REQUESTS_CREATE)
        idempotency_key = _idempotency_key(request, scope=f"api:{key.prefix}" if key else "public")
        _agent_fields_refuse(request.data)
        serializer = RequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = request_submit(
                right=data["right"],
                email=data["email"],
                name=data["name"],
                phone=data["phone"],
                customer_number=data["customer_number"],
                language=data["language"],
                details=data["details"],
                jurisdiction=data["jurisdiction"],
                channel=Channel.API,
                # EDPB 01/2022 ¶68: the integration authenticated its own customer; the audit names the key.
                pre_verified=key is not None,
                idempotency_key=idempotency_key,
                actor=apikey_actor(key) if key else Actor.subject(),
            )
        except RequestInvalid as exc:
            raise _submitted(exc) from exc
        return _created_response(result)

    @extend_schema(
        operation_id="requests_list",
        summary="List requests, most urgent first",
        description=(
            "Needs `requests:read` (staff: any role). Open requests come by effective deadline; a closed status "
            "lists newest first. Pages of 50: pass `next_cursor` as `cursor` for the next page."
        ),
        parameters=[RequestListQuerySerializer],
        auth=[{"apiKey": []}, {"cookieAuth": []}],
        responses={200: RequestPageSerializer, 400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE},
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "results": [
                        {
                            "reference": "DSR-7KQM-2XPA-9RTV-H4WB",
                            "right": "erasure",
                            "status": "awaiting_approval",
                            "channel": "api",
                            "received_at": "2026-11-02T10:00:00+01:00",
                            "due_date": "2026-12-02",
                            "extended_due_date": None,
                            "days_left": 10,
                            "clock_stopped": False,
                            "assignee": 3,
                            "closed_at": None,
                        }
                    ],
                    "next_cursor": "2026-12-02_4711",
                    "total": 57,
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Missing key",
                value={
                    "error": {
                        "code": "not_authenticated",
                        "message": "Send an API key (Authorization: Bearer …) or sign in as staff.",
                        "fields": {},
                    }
                },
                response_only=True,
                status_codes=["401"],
            ),
        ],
        tags=["requests"],
    )
    def get(self, request):
        scope_check(request, ApiScope.REQUESTS_READ)
        query = RequestListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        reference = filters.pop("reference", "")
        filters["after"] = filters.pop("cursor", "")
        if reference:
            filters["q"] = reference
        page = queue_page(filters, user=None)
        body = RequestPageSerializer({"results": page.rows, "next_cursor": page.next_cursor, "total": page.total})
        return Response(body.data)


class RequestVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [VerificationThrottle]

    @extend_schema(
        operation_id="requests_verify",
        summary="Confirm a request with the emailed code",
        request=VerifySerializer,
        examples=[OpenApiExample("Code", value={"code": "123456"}, request_only=True), STATUS_EXAMPLE],
        responses={
            200: RequestStatusSerializer,
            400: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            410: ERROR_RESPONSE,
            429: ERROR_RESPONSE,
        },
        tags=["intake"],
    )
    def post(self, request, reference: str):
        serializer = VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            verified = verification_confirm_code(reference=reference, code=serializer.validated_data["code"])
        except VerificationError as exc:
            raise _verification_failed(exc) from exc
        return Response(RequestStatusSerializer(verified).data)


class RequestResendCodeView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [VerificationThrottle]

    @extend_schema(
        operation_id="requests_resend_code",
        summary="Email a new code and link",
        description="Needs the status token. At most once a minute, and a few times per request.",
        parameters=[OpenApiParameter("X-Status-Token", str, OpenApiParameter.HEADER, required=True)],
        request=None,
        responses={
            202: OpenApiResponse(description="A new code is on its way."),
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            429: ERROR_RESPONSE,
        },
        tags=["intake"],
    )
    def post(self, request, reference: str):
        found = _request_by_token(request, reference)
        try:
            verification_resend(request=found)
        except VerificationError as exc:
            raise _verification_failed(exc) from exc
        return Response(status=status.HTTP_202_ACCEPTED)


def _request_by_token(request, reference: str) -> Request:
    found = None
    if _REFERENCE.match(reference):
        found = request_by_status_token(reference=reference, token=request.headers.get("X-Status-Token", ""))
    if found is None:
        # Same answer for an unknown reference and a wrong token.
        raise Http404
    return found


def request_by_reference(reference: str) -> Request:
    """Return the request with this reference for an authenticated caller, or raise a 404."""
    found = Request.objects.filter(reference=reference).first() if _REFERENCE.match(reference) else None
    if found is None:
        raise Http404
    return found


class RequestStatusView(APIView):
    authentication_classes = AUTHENTICATION
    permission_classes = [AllowAny]

    def get_throttles(self):
        if self.request.user is None:
            return [VerificationThrottle()]
        return []

    @extend_schema(
        operation_id="requests_status",
        summary="Read a request's status and outcome",
        description=(
            "The requester (or whoever they gave it to) reads with the status token. Integrations with "
            "`requests:read` and staff sessions read without it, and see the assignee's id too."
        ),
        parameters=[
            OpenApiParameter(
                "X-Status-Token",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="The status_token returned when the request was filed; not needed with an API key.",
            )
        ],
        responses={
            200: RequestDetailSerializer,
            401: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            429: ERROR_RESPONSE,
        },
        examples=[STATUS_EXAMPLE],
        tags=["requests"],
    )
    def get(self, request, reference: str):
        if request.user is None:
            found = _request_by_token(request, reference)
            return Response(RequestDetailSerializer(found, context={"public": True}).data)
        scope_check(request, ApiScope.REQUESTS_READ)
        return Response(RequestDetailSerializer(request_by_reference(reference)).data)


class ConsentWithdrawView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [ScopeRequired]
    required_scope = ApiScope.REQUESTS_CREATE

    @extend_schema(
        operation_id="consents_withdraw",
        summary="Withdraw consents for a logged-in customer",
        description=(
            "GDPR Art. 7(3): withdrawing is as easy as giving. Files a consent-withdrawal request that arrives "
            "verified and is carried out in every source that holds the consents. Needs `requests:create`."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=ConsentWithdrawSerializer,
        responses={
            201: RequestCreatedSerializer,
            200: OpenApiResponse(RequestCreatedSerializer, description="A retry with the same Idempotency-Key."),
            400: ERROR_RESPONSE,
            401: ERROR_RESPONSE,
            403: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            413: ERROR_RESPONSE,
        },
        examples=[
            OpenApiExample(
                "Newsletter",
                value={"email": "kunde@example.dk", "consents": ["newsletter"], "language": "da"},
                request_only=True,
            )
        ],
        tags=["requests"],
    )
    def post(self, request):
        key = request.auth
        idempotency_key = _idempotency_key(request, scope=f"api:{key.prefix}")
        serializer = ConsentWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = request_submit(
                right=Right.CONSENT_WITHDRAWAL,
                email=data["email"],
                name=data["name"],
                phone=data["phone"],
                customer_number=data["customer_number"],
                language=data["language"],
                details={"consents": data["consents"]},
                channel=Channel.API,
                pre_verified=True,
                idempotency_key=idempotency_key,
                actor=apikey_actor(key),
            )
        except RequestInvalid as exc:
            raise _submitted(exc) from exc
        return _created_response(result)

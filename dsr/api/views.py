"""The intake API: file a request, confirm it with the emailed code, read its status."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dsr.api.serializers import (
    RequestCreatedSerializer,
    RequestCreateSerializer,
    RequestStatusSerializer,
    VerifySerializer,
)
from dsr.api.throttling import IntakeThrottle, VerificationThrottle
from dsr.audit import Actor
from dsr.models import Channel, Request, Status
from dsr.verification import VerificationError, verification_confirm_code, verification_resend
from dsr.workflow import RequestInvalid, request_by_status_token, request_submit

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


class RequestCreateView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [IntakeThrottle]

    @extend_schema(
        operation_id="requests_create",
        summary="File a request to exercise a right",
        description=(
            "Files a request for the person with this email. A six-digit code and a link are emailed to the "
            "address; the request is worked on once it is confirmed. The answer is the same whether or not "
            "we hold data about the address."
        ),
        request=RequestCreateSerializer,
        responses={201: RequestCreatedSerializer, 400: ERROR_RESPONSE, 429: ERROR_RESPONSE},
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
        ],
        tags=["intake"],
    )
    def post(self, request):
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
                channel=Channel.API,
                actor=Actor.subject(),
            )
        except RequestInvalid as exc:
            raise _invalid(exc) from exc
        body = RequestCreatedSerializer(
            {
                "reference": result.request.reference,
                "status": result.request.status,
                "status_token": result.status_token,
                "verification_required": result.request.status == Status.PENDING_VERIFICATION,
                "due_date": result.request.due_date,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)


class RequestVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [VerificationThrottle]

    @extend_schema(
        operation_id="requests_verify",
        summary="Confirm a request with the emailed code",
        request=VerifySerializer,
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
    found = request_by_status_token(reference=reference, token=request.headers.get("X-Status-Token", ""))
    if found is None:
        # Same answer for an unknown reference and a wrong token.
        raise Http404
    return found


class RequestStatusView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [VerificationThrottle]

    @extend_schema(
        operation_id="requests_status",
        summary="Read a request's status",
        parameters=[
            OpenApiParameter(
                "X-Status-Token",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="The status_token returned when the request was filed.",
            )
        ],
        responses={200: RequestStatusSerializer, 404: ERROR_RESPONSE},
        tags=["intake"],
    )
    def get(self, request, reference: str):
        return Response(RequestStatusSerializer(_request_by_token(request, reference)).data)

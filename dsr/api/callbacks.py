"""Processors' status callbacks: POST /api/v1/callbacks/<source_key>/ (OpenGDPR, signed by the shared secret).

Public, no session and so no CSRF; throttled per client address. The body is
size-checked and its signature verified before anything reads it as JSON
(dsr/engine/callbacks.py). A missing or wrong signature is 401: the caller has not
authenticated, which is what 401 means; 403 would say it had and was not
allowed. See docs/decisions/0010-webhooks-and-callbacks.md.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from dsr.api.views import ERROR_RESPONSE
from dsr.engine.callbacks import CallbackRejected, processor_callback_receive
from dsr.ratelimit import client_ip, rate_limit_hit
from dsr.sources.http import SIGNATURE_HEADER


class CallbackThrottle(BaseThrottle):
    """Limit callbacks per client address."""

    def allow_request(self, request, view) -> bool:
        # A caller without a client address (a proxy that drops it) shares one bucket rather than failing.
        key = client_ip(request._request)
        return not rate_limit_hit(scope="callback-ip", key=key, rate=settings.DSR_CALLBACK_RATE_PER_IP)


def _error(status_code: int, code: str, message: str) -> exceptions.APIException:
    error = exceptions.APIException(detail=message, code=code)
    error.status_code = status_code
    return error


def _body(request) -> bytes:
    """Return the raw body, refusing one larger than DSR_CALLBACK_MAX_BYTES before reading it where possible."""
    limit = settings.DSR_CALLBACK_MAX_BYTES
    too_big = _error(413, "too_large", f"The callback body is larger than {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _error(400, "invalid", "The Content-Length header is not a number.") from None
    if declared > limit:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > limit:
        raise too_big
    return body


class ProcessorCallbackView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [CallbackThrottle]

    @extend_schema(
        operation_id="callbacks_receive",
        summary="Receive a processor's OpenGDPR status callback",
        description=(
            f"Signed with the source's shared secret in the `{SIGNATURE_HEADER}` header "
            '(`t=<unix seconds>,id=<event id>,v1=<hex HMAC-SHA256 of "t.id.body">`), at most 5 minutes old; '
            "the same (timestamp, signature) or event id is accepted once. "
            "The job waiting on that processor is looked at at once."
        ),
        parameters=[OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True)],
        request=OpenApiTypes.OBJECT,
        responses={
            202: OpenApiResponse(description="Accepted: the matching job is queued."),
            400: ERROR_RESPONSE,
            401: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            413: ERROR_RESPONSE,
            429: ERROR_RESPONSE,
        },
        tags=["callbacks"],
    )
    def post(self, request, source_key: str):
        body = _body(request)
        try:
            processor_callback_receive(
                source_key=source_key, body=body, signature=request.headers.get(SIGNATURE_HEADER)
            )
        except CallbackRejected as exc:
            raise _error(exc.status, exc.code, str(exc)) from None
        return Response(status=status.HTTP_202_ACCEPTED)

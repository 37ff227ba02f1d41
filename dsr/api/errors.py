"""One error format for every API response: {"error": {"code", "message", "fields"}}."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from dsr.api.parsers import BodyTooLarge
from dsr.workflow import TransitionError


def exception_handler(exc, context):
    """Return the API's error object for DRF errors and forbidden transitions."""
    if isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge(
            _("The body is larger than %(limit)d bytes.") % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )
    if isinstance(exc, TransitionError):
        exc = exceptions.APIException(detail=str(exc), code="conflict")
        exc.status_code = 409
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = {}
    if isinstance(detail, dict) and "detail" not in detail:
        fields = {
            key: [str(item) for item in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
        message = "The request has invalid fields."
        code = "invalid"
    else:
        raw = detail.get("detail") if isinstance(detail, dict) else detail
        message = str(raw)
        code = getattr(raw, "code", None) or getattr(exc, "default_code", "error")
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response

"""JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE; anything larger or unreadable is a 4xx, never a 500."""

import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class LimitedJSONParser(JSONParser):
    """Parse JSON of at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, whatever stream DRF hands over.

    Django refuses a larger declared body first (dsr.api.errors turns that into the 413);
    this parser keeps the limit for streams that bypass it, and makes NaN, Infinity and
    nesting that would exhaust the recursion limit a 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        too_large = BodyTooLarge(_("The body is larger than %(limit)d bytes.") % {"limit": limit})
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if limit is not None and declared > limit:
            raise too_large
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise too_large
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            return json.loads(text, parse_constant=_constant_refuse)
        except (UnicodeDecodeError, ValueError) as exc:
            raise exceptions.ParseError(_("The body is not valid JSON.")) from exc
        except RecursionError as exc:
            raise exceptions.ParseError(_("The JSON body is nested too deeply.")) from exc


def _constant_refuse(name: str):
    raise ValueError(f"{name} is not valid JSON")

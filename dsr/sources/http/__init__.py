"""The `http` connector kind: a processor's OpenGDPR API (README.md says how to configure it)."""

from dsr.sources.base import SignatureInvalid
from dsr.sources.http.connector import HttpConnector
from dsr.sources.http.signing import (
    SIGNATURE_HEADER,
    SIGNATURE_TOLERANCE_SECONDS,
    STATUSES,
    callback_parse,
    signature_make,
    signature_verify,
)

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE_SECONDS",
    "STATUSES",
    "HttpConnector",
    "SignatureInvalid",
    "callback_parse",
    "signature_make",
    "signature_verify",
]

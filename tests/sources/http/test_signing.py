"""Signatures on calls to processors and on their callbacks."""

import json

import pytest

from dsr.sources.http import SignatureInvalid, callback_parse, signature_make
from tests.sources.http.processor import SECRET


def test_a_callback_with_a_good_signature_is_parsed():
    body = json.dumps({"subject_request_id": "abc", "request_status": "completed"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000, event_id="evt-1")
    assert (
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_010)["request_status"] == "completed"
    )


def test_a_callback_with_a_bad_signature_is_rejected_before_parsing():
    body = b"not even json"
    header = signature_make("someone-else", body, timestamp=1_700_000_000, event_id="evt-1")
    with pytest.raises(SignatureInvalid):
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_000)
    with pytest.raises(SignatureInvalid):
        callback_parse(secret=SECRET, body=body, signature=None, now=1_700_000_000)


def test_a_replayed_callback_is_rejected():
    body = json.dumps({"subject_request_id": "abc", "request_status": "completed"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000, event_id="evt-1")
    with pytest.raises(SignatureInvalid, match="stale"):
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_000 + 3600)


def test_a_signed_callback_with_an_unknown_status_is_refused():
    body = json.dumps({"subject_request_id": "abc", "request_status": "done"}).encode()
    header = signature_make(SECRET, body, timestamp=1_700_000_000, event_id="evt-1")
    with pytest.raises(ValueError, match="request_status"):
        callback_parse(secret=SECRET, body=body, signature=header, now=1_700_000_000)


def test_a_signature_header_with_non_ascii_characters_is_invalid_not_an_error():
    body = b"{}"
    with pytest.raises(SignatureInvalid, match="wrong"):
        callback_parse(secret=SECRET, body=body, signature="t=1700000000,id=evt-1,v1=ææ", now=1_700_000_000)

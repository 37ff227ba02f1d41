"""Emailed codes and links: random, hashed, expiring, attempt-limited, resend rate-limited."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import translation

from dsr import workflow
from dsr.audit import Actor
from dsr.challenges import code_hash, code_hash_by_id
from dsr.models import IdentityLevel, Request, Right, Status, VerificationChallenge, VerificationMethod
from dsr.verification import (
    VerificationError,
    verification_confirm_code,
    verification_confirm_link,
    verification_link_request,
    verification_resend,
)

CPH = ZoneInfo("Europe/Copenhagen")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def filed(django_capture_on_commit_callbacks):
    """File a request and return it with the code and link token from the email actually sent."""

    def file(right=Right.ACCESS, language="en"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            request = workflow.request_submit(
                right=right, email="kunde@example.dk", language=language, actor=Actor.subject()
            ).request
        return (request, *_secrets_from(mail.outbox[-1]))

    return file


def _secrets_from(message) -> tuple[str, str]:
    code = re.search(r"\b(\d{6})\b", message.body).group(1)
    token = re.search(r"/verify/link/([A-Za-z0-9_\-]+)/", message.body).group(1)
    return code, token


def test_the_stored_code_is_keyed_and_bound_to_the_reference_not_the_row(filed):
    request, code, _ = filed()
    stored = VerificationChallenge.objects.get(request=request).code_hash
    assert stored == code_hash(request.reference, code)
    assert stored not in (
        code_hash(request.reference, f"{(int(code) + 1) % 1_000_000:06d}"),
        code_hash_by_id(request.pk, code),
    )


def test_a_code_stored_before_the_reference_bound_it_still_verifies_until_it_expires(filed):
    # Challenges sent before 2026-12-05 hold the code keyed with the request's id.
    request, _, _ = filed()
    VerificationChallenge.objects.filter(request=request).update(code_hash=code_hash_by_id(request.pk, "135790"))
    with pytest.raises(VerificationError):
        verification_confirm_code(reference=request.reference, code="135791")
    assert verification_confirm_code(reference=request.reference, code="135790").status == Status.IN_PROGRESS


def test_the_right_code_verifies_and_sends_the_receipt(filed, django_capture_on_commit_callbacks):
    request, code, _ = filed()
    with django_capture_on_commit_callbacks(execute=True):
        verified = verification_confirm_code(reference=request.reference, code=code)
    assert verified.status == Status.IN_PROGRESS
    assert verified.identity_level == IdentityLevel.EMAIL
    assert verified.verification_method == VerificationMethod.EMAIL_CODE
    assert mail.outbox[-1].subject
    assert request.reference in mail.outbox[-1].body


def test_codes_and_links_are_stored_only_as_hashes(filed):
    request, code, token = filed()
    challenge = VerificationChallenge.objects.get(request=request)
    stored = " ".join(str(v) for v in challenge.__dict__.values())
    assert code not in stored
    assert token not in stored
    assert request.messages.get(kind="verification").sealed_context == ""  # cleared once sent


def test_a_wrong_code_counts_an_attempt_and_locks_after_the_limit(filed, settings):
    settings.DSR_VERIFICATION_MAX_ATTEMPTS = 3
    request, code, _ = filed()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(VerificationError, match="2 attempts left") as first:
        verification_confirm_code(reference=request.reference, code=wrong)
    assert first.value.code == "invalid"
    with pytest.raises(VerificationError):
        verification_confirm_code(reference=request.reference, code=wrong)
    with pytest.raises(VerificationError) as third:
        verification_confirm_code(reference=request.reference, code=wrong)
    assert third.value.code == "locked"
    with pytest.raises(VerificationError) as after:
        verification_confirm_code(reference=request.reference, code=code)  # even the right code now
    assert after.value.code == "locked"
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION
    assert VerificationChallenge.objects.get(request=request).attempts == 3


def test_malformed_codes_are_refused_without_costing_an_attempt(filed):
    request, _, _ = filed()
    for bad in ("", "12345", "abcdef", "1234567", "12 34 5x"):
        with pytest.raises(VerificationError, match="six digits"):
            verification_confirm_code(reference=request.reference, code=bad)
    assert VerificationChallenge.objects.get(request=request).attempts == 0


def test_an_unknown_reference_gets_the_same_answer_as_a_wrong_code(filed):
    with pytest.raises(VerificationError) as caught:
        verification_confirm_code(reference="DSR-AAAA-BBBB-CCCC-DDDD", code="123456")
    assert caught.value.code == "invalid"


def test_codes_expire(filed, settings):
    settings.DSR_VERIFICATION_TTL_MINUTES = 30
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH)):
        request, code, token = filed()
    with time_machine.travel(datetime(2024, 3, 5, 10, 31, tzinfo=CPH)):
        with pytest.raises(VerificationError) as caught:
            verification_confirm_code(reference=request.reference, code=code)
        assert caught.value.code == "expired"
        with pytest.raises(VerificationError):
            verification_confirm_link(token=token)
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION


def test_the_link_page_does_not_verify_only_the_post_does(filed):
    request, _, token = filed()
    assert verification_link_request(token=token) == request
    request.refresh_from_db()
    assert request.status == Status.PENDING_VERIFICATION  # a mail scanner following the link changes nothing
    verified = verification_confirm_link(token=token)
    assert verified.status == Status.IN_PROGRESS
    assert verified.verification_method == VerificationMethod.EMAIL_LINK
    with pytest.raises(VerificationError) as again:
        verification_confirm_link(token=token)
    assert again.value.code == "used"


def test_tampered_or_unknown_links_are_refused(filed):
    _, _, token = filed()
    for bad in ("", token[:-2] + "xx", "x" * 500):
        with pytest.raises(VerificationError) as caught:
            verification_link_request(token=bad)
        assert caught.value.code == "invalid"


def test_a_resend_revokes_the_old_code_and_is_rate_limited(filed, settings, django_capture_on_commit_callbacks):
    settings.DSR_VERIFICATION_RESEND_INTERVAL_SECONDS = 60
    settings.DSR_VERIFICATION_MAX_SENDS = 2
    with time_machine.travel(datetime(2024, 3, 5, 10, 0, tzinfo=CPH), tick=False):
        request, _old_code, old_token = filed()
        with pytest.raises(VerificationError) as storm:
            verification_resend(request=request)
        assert storm.value.code == "rate_limited"
    with time_machine.travel(datetime(2024, 3, 5, 10, 2, tzinfo=CPH), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            verification_resend(request=request)
        new_code, _new_token = _secrets_from(mail.outbox[-1])
        with pytest.raises(VerificationError) as old:
            verification_link_request(token=old_token)
        assert old.value.code == "expired"
    with time_machine.travel(datetime(2024, 3, 5, 10, 5, tzinfo=CPH), tick=False):
        with pytest.raises(VerificationError, match="as many codes"):
            verification_resend(request=request)
        assert verification_confirm_code(reference=request.reference, code=new_code).status == Status.IN_PROGRESS


def test_a_verified_request_cannot_be_verified_again(filed):
    request, code, _ = filed()
    verification_confirm_code(reference=request.reference, code=code)
    with pytest.raises(VerificationError) as caught:
        verification_confirm_code(reference=request.reference, code=code)
    assert caught.value.code == "not_pending"
    with pytest.raises(VerificationError):
        verification_resend(request=Request.objects.get(pk=request.pk))


def test_codes_are_random_across_requests(filed):
    codes = {filed()[1] for _ in range(12)}
    assert len(codes) >= 11
    assert all(len(c) == 6 and c.isdigit() for c in codes)


def test_the_verification_link_expires_after_the_request_expires(filed, settings):
    request, _, token = filed()
    workflow.request_expire(request=request, actor=Actor.system())
    with pytest.raises(VerificationError):
        verification_confirm_link(token=token)
    assert Request.objects.get(pk=request.pk).status == Status.EXPIRED


def test_danish_requester_gets_the_code_in_danish(filed):
    with translation.override("da"):
        filed(language="da")
    assert mail.outbox[-1].subject != ""
    assert "kode" in mail.outbox[-1].body.lower()


def test_resend_window_measured_from_the_last_send(filed, settings, django_capture_on_commit_callbacks):
    settings.DSR_VERIFICATION_RESEND_INTERVAL_SECONDS = 60
    start = datetime(2024, 3, 5, 10, 0, tzinfo=CPH)
    with time_machine.travel(start, tick=False):
        request, _, _ = filed()
    with (
        time_machine.travel(start + timedelta(seconds=61), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        verification_resend(request=request)
    assert VerificationChallenge.objects.filter(request=request).count() == 2

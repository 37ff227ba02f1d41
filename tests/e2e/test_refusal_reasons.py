"""A refusal gives its own reasons (GDPR Art. 12(4)), with a real worker: the template's opening words alone are
refused at the dashboard and nothing is sent; with reasons, the letter the worker sends carries them."""

import pytest

from dsr import workflow
from dsr.audit import Actor
from dsr.models import Channel, Message, MessageStatus, Request, Right, Status, VerificationMethod
from dsr.requests import REFUSAL_TEMPLATES
from tests.pdf import pdf_words
from tests.views.conftest import agent, agent_client, roles  # noqa: F401

pytestmark = pytest.mark.e2e
REASONS = {
    "da": "Det er den fjerde ens anmodning i denne måned; vores svar for to dage siden gælder uændret.",
    "en": "This is the fourth identical request this month; our answer of two days ago still stands.",
}


def _refuse(client, request: Request, reasons: str):
    request.refresh_from_db()
    return client.post(
        f"/dashboard/requests/{request.pk}/refuse/",
        {
            "refuse-seen": request.updated_at.isoformat(timespec="microseconds"),
            "refuse-ground": "excessive",
            "refuse-reasons": reasons,
        },
        follow=True,
    )


@pytest.mark.parametrize("language", ["da", "en"])
def test_a_refusal_goes_out_only_with_reasons_of_its_own(
    celery_worker_process, wait_until, agent, agent_client, language
):
    staff = Actor.staff(agent)
    request = workflow.request_submit(
        right=Right.ACCESS, email=f"kunde-{language}@example.dk", language=language, channel=Channel.EMAIL, actor=staff
    ).request
    request = workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)

    opening_only = _refuse(agent_client, request, REFUSAL_TEMPLATES["excessive"][language])

    request.refresh_from_db()
    assert opening_only.status_code == 400
    assert request.status != Status.REFUSED
    assert not Message.objects.filter(request=request, kind="refused").exists()

    _refuse(agent_client, request, REFUSAL_TEMPLATES["excessive"][language] + REASONS[language])

    wait_until(
        lambda: Message.objects.filter(request=request, kind="refused", status=MessageStatus.SENT).exists(),
        timeout=60,
        what="the refusal letter sent",
    )
    # Found by the subject the worker recorded: the receipt may have landed in the outbox in the same second.
    subject = Message.objects.get(request=request, kind="refused").subject
    wait_until(lambda: any(m["Subject"].strip() == subject for m in celery_worker_process.outbox()), timeout=30)
    letter = next(
        m for m in celery_worker_process.outbox() if m["Subject"].strip() == subject and m["To"] == request.email
    )
    body = " ".join(letter.get_body(preferencelist=("plain",)).get_content().split())
    [pdf] = [part.get_content() for part in letter.iter_attachments() if part.get_content_type() == "application/pdf"]
    pdf_text = pdf_words(pdf)
    assert REASONS[language] in body
    assert REASONS[language] in pdf_text
    assert "Datatilsynet" in pdf_text

"""With a real worker: staff ask, the person answers with a file, the clock restarts, work goes on."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from dsr import workflow
from dsr.audit import Actor
from dsr.models import (
    Channel,
    Job,
    JobStatus,
    Message,
    MessageStatus,
    Operation,
    Plan,
    Request,
    Right,
    Status,
    SubjectAnswer,
    SuspensionReason,
    VerificationMethod,
)
from tests.e2e.test_worker_jobs import company, engine_env, worker  # noqa: F401
from tests.rights.conftest import PERSON
from tests.sources.conftest import chinook_sqlite  # noqa: F401
from tests.sources.http.processor import processor  # noqa: F401
from tests.status_session import status_session_open

pytestmark = pytest.mark.e2e
QUESTION = {
    "da": "Hvilken konto mener du: webshoppen eller nyhedsbrevet?",
    "en": "Which account do you mean: the web shop or the newsletter?",
}


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_persons_answer_restarts_the_clock_and_the_worker_goes_on(
    company,
    worker,
    wait_until,
    django_user_model,
    language,
):
    staff = Actor.staff(django_user_model.objects.create_user("agent", "agent@example.org", is_staff=True))
    request = workflow.request_submit(
        right=Right.ERASURE, email=PERSON, language=language, channel=Channel.EMAIL, actor=staff
    ).request
    # Checked and asked at once: the work waits for the answer before it starts.
    with transaction.atomic():
        workflow.request_identity_check(request=request, method=VerificationMethod.STAFF_CHECK, actor=staff)
        workflow.request_suspend(
            request=request, reason=SuspensionReason.CLARIFICATION, note=QUESTION[language], actor=staff
        )
    wait_until(
        lambda: Message.objects.filter(request=request, kind="suspended", status=MessageStatus.SENT).exists(),
        timeout=60,
        what="the question emailed",
    )
    wait_until(
        lambda: any(
            QUESTION[language] in m.get_body(preferencelist=("plain",)).get_content()
            for m in worker.outbox()
            if m["To"] == PERSON
        ),
        timeout=30,
        what="the question in the person's email",
    )
    assert not Plan.objects.filter(request=request).exists()

    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    status_session_open(browser, request)
    assert QUESTION[language] in browser.get(f"/status/{request.reference}/").content.decode()
    response = browser.post(
        f"/status/{request.reference}/answer/",
        {
            "text": "Webshoppen." if language == "da" else "The web shop.",
            "files": [SimpleUploadedFile("note.txt", b"Customer 4411\n")],
        },
    )
    assert response.status_code == 302
    request = Request.objects.get(pk=request.pk)
    assert request.suspensions.filter(ended_at__isnull=True).count() == 0
    assert SubjectAnswer.objects.get(request=request).files.count() == 1

    # The worker starts the work the answer released: the person is found in the sources.
    wait_until(
        lambda: Job.objects.filter(request=request, operation=Operation.RESOLVE, status=JobStatus.DONE).exists(),
        timeout=90,
        what="the resolve job done by the worker",
    )
    wait_until(
        lambda: Job.objects.filter(request=request).exclude(operation=Operation.RESOLVE).exists(),
        timeout=90,
        what="the erasure planned in the sources",
    )
    assert Request.objects.get(pk=request.pk).status in (Status.IN_PROGRESS, Status.AWAITING_APPROVAL)
    page = browser.get(f"/status/{request.reference}/").content.decode()
    assert ("Vi modtog dit svar den" if language == "da" else "We received your answer on") in page

"""Steps and reads the rights' tests share: the owners' manual tasks, the reconciler, and what people receive."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from dsr.engine.manual import manual_task_complete
from dsr.engine.reconcile import jobs_reconcile
from dsr.models import ManualFinding, ManualTask, ManualTaskStatus, Plan, RecipientNotification, Request
from tests.pdf import pdf_words


def tasks_finish(request: Request, actor, run, *, finding: str = ManualFinding.DONE) -> int:
    """Attest every open manual task of ``request`` with ``finding``, then run the reconciler as if time had passed."""
    tasks = list(ManualTask.objects.filter(request=request, status=ManualTaskStatus.OPEN))
    for task in tasks:
        manual_task_complete(task=task, finding=finding, attestation="Done as instructed", actor=actor)
    run(jobs_reconcile, now=timezone.now() + timedelta(hours=1))
    request.refresh_from_db()
    return len(tasks)


def task_finish(request: Request, source_key: str, actor, run, *, finding: str, attestation: str = "Checked") -> None:
    """Attest the open manual task of one source of ``request``; its job goes on at once."""
    task = ManualTask.objects.get(request=request, source_key=source_key, status=ManualTaskStatus.OPEN)
    run(manual_task_complete, task=task, finding=finding, attestation=attestation, actor=actor)
    request.refresh_from_db()


def outcome_of(request: Request) -> dict:
    """Return the outcome recorded on the request's plan, as stored."""
    return Plan.objects.get(request=request).outcome


def source_states(request: Request) -> dict[str, str]:
    """Return what the recorded outcome says of each source: done, nothing_found, asked, pending, failed."""
    return dict(outcome_of(request)["summary"]["sources"])


def emails_to(address: str) -> list:
    """Return the emails sent to ``address``, oldest first."""
    return [message for message in mail.outbox if message.to == [address]]


def closing_email(request: Request):
    """Return the last email the person was sent: the answer that closed the request."""
    sent = emails_to(request.email)
    assert sent, "the person was sent nothing"
    return sent[-1]


def names_listed(text: str, before: str, after: str = ".") -> set[str]:
    """Return the names a sentence lists between ``before`` and ``after``, separated by commas (in any order)."""
    assert before in text, before
    return set(text.split(before, 1)[1].split(after, 1)[0].split(", "))


def pdf_text(pdf: bytes) -> str:
    """Return the text of a PDF in reading order, a table cell's text kept together, whitespace collapsed."""
    return pdf_words(pdf)


def letter_text(message) -> str:
    """Return the text of the PDF letter attached to ``message``, as a reader sees it (whitespace collapsed)."""
    [(filename, pdf, mimetype)] = message.attachments
    assert mimetype == "application/pdf"
    assert filename.endswith(".pdf")
    return pdf_text(pdf)


def notices(request: Request, operation: str | None = None) -> dict[str, RecipientNotification]:
    """Return the request's Art. 19 notices by recipient key."""
    found = RecipientNotification.objects.filter(request=request)
    if operation is not None:
        found = found.filter(operation=operation)
    return {notification.recipient_key: notification for notification in found}

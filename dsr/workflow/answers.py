"""The requester's answer from the status page: what we asked, their text and files, and the clock restarting.

While a request waits for the requester (an identity question or a clarification,
never a fee: staff settle a fee), the status page shows the question and takes
one answer. A clarification's answer restarts the clock at once (GDPR Art. 12(3),
the days it stood still are added). An identity answer restarts it when staff
have checked it (request_identity_check): dsr never starts work for a person
whose identity is in doubt (GDPR Art. 12(6)). Files are checked by their
content, stored sealed (dsr.storage.SealedStorage) and forgotten by the purge.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dsr.audit import Actor, audit_record
from dsr.models import (
    AnswerFileKind,
    AuditAction,
    Request,
    Status,
    SubjectAnswer,
    SubjectAnswerFile,
    Suspension,
    SuspensionReason,
)
from dsr.requests import RequestInvalid
from dsr.workflow.base import (
    _deadline_recompute,
    _lock,
    _now,
    _suspension_close,
    _transition_apply,
    _work_start,
)

ANSWER_TEXT_LIMIT = 5000
ANSWER_FILES_LIMIT = 3
ANSWER_FILE_BYTES_LIMIT = 10 * 1024 * 1024
# What the person may be asked from the status page; a fee is paid or waived through staff (dsr/workflow/fees.py).
ANSWERABLE = (SuspensionReason.IDENTITY, SuspensionReason.CLARIFICATION)
_EXTENSIONS = {
    AnswerFileKind.PDF: (".pdf",),
    AnswerFileKind.JPEG: (".jpg", ".jpeg"),
    AnswerFileKind.PNG: (".png",),
    AnswerFileKind.TEXT: (".txt",),
}


class AnswerRefused(Exception):
    """The request does not wait for an answer from the requester; str() says why, nothing was stored."""

    def __init__(self, message: str, *, answered: SubjectAnswer | None = None):
        super().__init__(message)
        # The answer already received, when the form was sent twice or the clock already runs.
        self.answered = answered


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    kind: str


def question_open(request: Request) -> Suspension | None:
    """Return the open identity or clarification question the requester may answer from the status page."""
    if request.status != Status.AWAITING_SUBJECT:
        return None
    return request.suspensions.filter(ended_at__isnull=True, reason__in=ANSWERABLE).first()


def answer_file_kind(head: bytes) -> str | None:
    """Return the kind of file the first bytes show (PDF, JPEG, PNG or plain UTF-8 text), or None."""
    if head.startswith(b"%PDF-"):
        return AnswerFileKind.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return AnswerFileKind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return AnswerFileKind.PNG
    if not head or b"\x00" in head:
        return None
    # The sample may end inside a multi-byte character: allow up to three bytes cut off.
    for cut in range(4):
        try:
            text = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        if all(ch.isprintable() or ch in "\t\n\r\f" for ch in text):
            return AnswerFileKind.TEXT
        return None
    return None


def answer_files_check(files: Sequence[UploadedFile]) -> list[CheckedFile]:
    """Return the files with the kind their content shows; raise RequestInvalid naming each file refused."""
    files = [f for f in files if f is not None and f.name]
    if len(files) > ANSWER_FILES_LIMIT:
        raise RequestInvalid(
            {
                "files": [
                    ngettext("Send at most %(limit)d file.", "Send at most %(limit)d files.", ANSWER_FILES_LIMIT)
                    % {"limit": ANSWER_FILES_LIMIT}
                ]
            }
        )
    checked, errors = [], []
    for upload in files:
        name = upload.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if upload.size > ANSWER_FILE_BYTES_LIMIT:
            errors.append(
                _("%(name)s is larger than %(limit)d MB.")
                % {"name": name, "limit": ANSWER_FILE_BYTES_LIMIT // (1024 * 1024)}
            )
            continue
        if upload.size == 0:
            errors.append(_("%(name)s is empty.") % {"name": name})
            continue
        upload.seek(0)
        head = upload.read(4096)
        upload.seek(0)
        kind = answer_file_kind(head)
        if kind is None or not name.lower().endswith(_EXTENSIONS[kind]):
            errors.append(
                _("%(name)s is not a PDF, JPG, PNG or text file (we look at the content, not only the name).")
                % {"name": name}
            )
            continue
        checked.append(CheckedFile(upload=upload, kind=kind))
    if errors:
        raise RequestInvalid({"files": errors})
    return checked


def request_answer(*, request: Request, text: str, files: Sequence[UploadedFile] = (), actor: Actor) -> SubjectAnswer:
    """Store the requester's answer to the open question and restart the clock if the question was a clarification.

    Raises RequestInvalid for an empty or too long text or a refused file, and AnswerRefused when the request
    does not wait for an answer (a fee, work under way, already answered); nothing is stored then.
    """
    text = (text or "").strip()
    checked = answer_files_check(files)
    if len(text) > ANSWER_TEXT_LIMIT:
        raise RequestInvalid(
            {
                "text": [
                    _("Please shorten this text to at most %(limit_value)s characters; it has %(show_value)s.")
                    % {"limit_value": ANSWER_TEXT_LIMIT, "show_value": len(text)}
                ]
            }
        )
    if not text and not checked:
        raise RequestInvalid({"text": [_("Write your answer or add a file.")]})
    try:
        with transaction.atomic():
            return _answer_store(request=request, text=text, checked=checked, actor=actor)
    except IntegrityError:
        # The same form sent twice at once: the other submission stored the answer.
        answered = SubjectAnswer.objects.filter(request=request).order_by("-received_at").first()
        raise AnswerRefused(_("We have already received your answer."), answered=answered) from None


def _answer_store(*, request: Request, text: str, checked: list[CheckedFile], actor: Actor) -> SubjectAnswer:
    request = _lock(request)
    suspension = question_open(request)
    if suspension is None:
        raise _refusal(request)
    if SubjectAnswer.objects.filter(suspension=suspension).exists():
        raise AnswerRefused(
            _("We have already received your answer. We will write to you if we need more."),
            answered=suspension.answer,
        )
    now = _now()
    answer = SubjectAnswer.objects.create(request=request, suspension=suspension, text=text, received_at=now)
    for item in checked:
        stored = SubjectAnswerFile(
            answer=answer, name=item.upload.name.rsplit("/", 1)[-1][:255], kind=item.kind, size=item.upload.size
        )
        stored.file.save("upload", item.upload, save=False)
        stored.save()
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_ANSWERED,
        request=request,
        data={
            "answer_id": answer.pk,
            "suspension_id": suspension.pk,
            "files": len(checked),
            "reason": suspension.reason,
        },
    )
    # An identity answer is checked by staff first: their check (request_identity_check) restarts the clock.
    if suspension.reason == SuspensionReason.CLARIFICATION and request.identity_level >= request.identity_required:
        _clock_restart(request, suspension=suspension, now=now, actor=actor)
    return answer


def _clock_restart(request: Request, *, suspension: Suspension, now, actor: Actor) -> None:
    """Restart the clock from the day the answer came (GDPR Art. 12(3)) and go on with the work."""
    fields = _transition_apply(request, "resume")
    _suspension_close(request, now=now)
    fields += _deadline_recompute(request)
    request.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_RESUMED,
        request=request,
        data={"suspension_id": suspension.pk, "suspended_days": request.suspended_days},
    )
    _work_start(request)


def _refusal(request: Request) -> AnswerRefused:
    answered = SubjectAnswer.objects.filter(request=request).order_by("-received_at").first()
    if (
        request.status == Status.AWAITING_SUBJECT
        and request.suspensions.filter(ended_at__isnull=True, reason=SuspensionReason.FEE).exists()
    ):
        return AnswerRefused(_("Your request waits for payment of the fee, not for an answer."), answered=answered)
    if answered is not None:
        return AnswerRefused(
            _("We have already received your answer, and your request is no longer waiting for one."),
            answered=answered,
        )
    return AnswerRefused(_("Your request is not waiting for an answer from you."))


def answer_file_open(*, answer_file: SubjectAnswerFile, actor: Actor):
    """Open a file the requester sent, for a member of staff; record that it was opened."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.ANSWER_FILE_DOWNLOADED,
            request=answer_file.answer.request,
            data={"answer_id": answer_file.answer_id, "file_id": answer_file.pk},
        )
    return answer_file.file.open("rb")


def answers_of(request: Request) -> list[SubjectAnswer]:
    """Return the request's answers, oldest first, with their questions and files."""
    return list(request.answers.select_related("suspension").prefetch_related("files"))

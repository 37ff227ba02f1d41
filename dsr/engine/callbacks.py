"""Sources' status callbacks (an OpenGDPR processor's): verify, match to the waiting job, and look now.

Only a source whose connector accepts callbacks is asked; its connector
checks the signature before the body is parsed. A callback is accepted once
and only for work that source was sent: what its signature covered is kept
(the source with the timestamp and signature, hashed; the source with the
event id), so the same signed event is refused however its header is spelled. The
callback says "look now", it is not believed: the job asks the source for the
status itself, as it would at its next poll. See
docs/decisions/0010-webhooks-and-callbacks.md.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from dsr.audit import Actor, audit_record
from dsr.engine.connectors import connector_get, datamap_current
from dsr.engine.dispatch import jobs_dispatch_on_commit
from dsr.models import AuditAction, Job, JobStatus, Operation, ProcessorCallback
from dsr.sources.base import Connector, SignatureInvalid, SourceError

# Operations whose work a source does on its own time and reports by callback.
_ASYNC_OPERATIONS = (Operation.ACCESS, Operation.ERASURE, Operation.AUDIENCE_REMOVAL)
_OPEN = (JobStatus.QUEUED, JobStatus.WAITING, JobStatus.RUNNING)
MAX_REQUEST_ID_LENGTH = 100


class CallbackRejected(Exception):
    """A callback refused with an HTTP status, a stable code and a message; nothing was changed."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class CallbackAccepted:
    job_id: int
    requeued: bool


def _connector(source_key: str) -> Connector:
    datamap = datamap_current()
    if datamap is None or source_key not in datamap.sources:
        raise CallbackRejected(404, "unknown_source", "No source that reports back has this key.")
    try:
        connector = connector_get(source_key, datamap)
    except SourceError:
        connector = None
    if connector is None or not connector.accepts_callbacks:
        raise CallbackRejected(404, "unknown_source", "No source that reports back has this key.")
    return connector


def _job_find(connector: Connector, reference: str) -> Job | None:
    """Return the job of this source that sent the work ``reference`` names, or None."""
    jobs = Job.objects.filter(source_key=connector.key, operation__in=_ASYNC_OPERATIONS).select_related(
        "request", "request__plan"
    )
    # Work sent records the id it sent: in the job's plan before the run, in its result after.
    found = jobs.filter(result__reference=reference).first()
    found = found or jobs.filter(plan__extra__subject_request_id=reference).first()
    if found is not None:
        return found
    # Work whose id is derived from the request and the identifiers: only unfinished jobs can match.
    for job in jobs.filter(status__in=_OPEN):
        plan = getattr(job.request, "plan", None)
        identifiers = {kind: set(values) for kind, values in (plan.identifiers if plan else {}).items()}
        try:
            sent = connector.work_reference(job.operation, identifiers, job.request.reference)
        except SourceError:
            continue
        if sent == reference:
            return job
    return None


def processor_callback_receive(
    *, source_key: str, body: bytes, signature: str | None, now: float | None = None
) -> CallbackAccepted:
    """Verify a source's callback and queue the job it concerns at once; raise CallbackRejected otherwise."""
    connector = _connector(source_key)
    try:
        data = connector.callback_verify(body, signature, now=now)
    except SignatureInvalid as exc:
        raise CallbackRejected(401, "invalid_signature", f"The callback's signature does not hold: {exc}.") from None
    except (ValueError, RecursionError) as exc:
        message = str(exc) if "callback" in str(exc) else "the body is not a JSON object"
        raise CallbackRejected(400, "invalid", f"The callback is signed but malformed: {message}.") from None
    subject_request_id = data["reference"]
    # Printable only: a NUL or control character is no id we sent, and PostgreSQL refuses NUL in text.
    if not subject_request_id.isprintable() or not 0 < len(subject_request_id) <= MAX_REQUEST_ID_LENGTH:
        raise CallbackRejected(400, "invalid", "The callback's subject_request_id is empty, too long or unprintable.")
    job = _job_find(connector, subject_request_id)
    if job is None:
        raise CallbackRejected(404, "unknown_request", "This source was sent no request with this id.")
    if job.finished:
        raise CallbackRejected(409, "job_finished", "The work for this request at this source is already finished.")
    # Keyed on what was signed, not on the header's spelling: order, spacing and extra parts change nothing.
    digest = hashlib.sha256(f"{source_key}\n{data['timestamp']}\n{data['signature']}".encode()).hexdigest()
    if ProcessorCallback.objects.filter(source_key=source_key, event_id=data["event_id"]).exists():
        raise CallbackRejected(409, "replayed", "This callback was already received.")
    now_dt = timezone.now()
    try:
        with transaction.atomic():
            ProcessorCallback.objects.create(
                source_key=source_key,
                signature_digest=digest,
                event_id=data["event_id"],
                subject_request_id=subject_request_id,
                request_status=data["status"],
                job=job,
            )
            # Waiting for the processor (or backing off after "not finished yet"): look now instead.
            requeued = bool(
                Job.objects.filter(pk=job.pk, status__in=(JobStatus.WAITING, JobStatus.QUEUED)).update(
                    status=JobStatus.QUEUED, not_before=None, updated_at=now_dt
                )
            )
            audit_record(
                actor=Actor.integration(source_key),
                action=AuditAction.JOB_CALLBACK_RECEIVED,
                request=job.request,
                data={"job": job.pk, "source": source_key, "status": data["status"], "requeued": requeued},
            )
            if requeued:
                jobs_dispatch_on_commit([job.pk])
    except IntegrityError:
        raise CallbackRejected(409, "replayed", "This callback was already received.") from None
    return CallbackAccepted(job_id=job.pk, requeued=requeued)


def callbacks_prune(*, now=None) -> int:
    """Delete callback records older than a day: their signatures are long outside the replay window."""
    now = now or timezone.now()
    deleted, _ = ProcessorCallback.objects.filter(received_at__lt=now - timedelta(days=1)).delete()
    return deleted

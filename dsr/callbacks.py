"""Processors' status callbacks (OpenGDPR): verify, match to the waiting job, and have it looked at now.

The signature is checked with the source's shared secret before the body is
parsed (dsr/sources/http.py); a callback is accepted once (its signature is
kept, hashed) and only for a request that source was sent. The callback says
"look now", it is not believed: the job asks the processor for the status
itself, as it would at its next poll. See docs/decisions/0010-webhooks-and-callbacks.md.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap
from dsr.models import DataMapVersion, Job, Operation, JobStatus, ProcessorCallback
from dsr.orchestration import jobs_dispatch_on_commit
from dsr.sources.http import HttpConnector, SignatureInvalid
from dsr.sources.registry import connector_for

# Operations whose work a processor does on its own time and reports by callback.
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


def _http_connector(source_key: str) -> HttpConnector:
    row = DataMapVersion.objects.filter(active=True).values_list("snapshot", flat=True).first()
    datamap = DataMap(row) if row is not None else None
    if datamap is None or source_key not in datamap.sources or datamap.sources[source_key].get("kind") != "http":
        raise CallbackRejected(404, "unknown_source", "No http source has this key.")
    connector = connector_for(source_key, datamap)
    if not isinstance(connector, HttpConnector):
        raise CallbackRejected(404, "unknown_source", "No http source has this key.")
    return connector


def _job_find(connector: HttpConnector, subject_request_id: str) -> Job | None:
    """Return the job of this source that sent ``subject_request_id``, or None."""
    jobs = Job.objects.filter(source_key=connector.key, operation__in=_ASYNC_OPERATIONS).select_related(
        "request", "request__plan"
    )
    # An erasure or audience removal records the id it sent: in its plan before the run, in its result after.
    found = jobs.filter(result__reference=subject_request_id).first()
    found = found or jobs.filter(plan__extra__subject_request_id=subject_request_id).first()
    if found is not None:
        return found
    # An access request's id is derived from the request and the identifiers; only unfinished ones can match.
    for job in jobs.filter(operation=Operation.ACCESS, status__in=_OPEN):
        plan = getattr(job.request, "plan", None)
        identifiers = {kind: set(values) for kind, values in (plan.identifiers if plan else {}).items()}
        if connector.subject_request_id("access", identifiers, job.request.reference) == subject_request_id:
            return job
    return None


def processor_callback_receive(
    *, source_key: str, body: bytes, signature: str | None, now: float | None = None
) -> CallbackAccepted:
    """Verify a processor's callback and queue the job it concerns at once; raise CallbackRejected otherwise."""
    connector = _http_connector(source_key)
    try:
        data = connector.callback_verify(body, signature, now=now)
    except SignatureInvalid as exc:
        raise CallbackRejected(401, "invalid_signature", f"The callback's signature does not hold: {exc}.") from None
    except (ValueError, RecursionError) as exc:
        message = str(exc) if "callback" in str(exc) else "the body is not a JSON object"
        raise CallbackRejected(400, "invalid", f"The callback is signed but malformed: {message}.") from None
    subject_request_id = data["subject_request_id"]
    # Printable only: a NUL or control character is no id we sent, and PostgreSQL refuses NUL in text.
    if not subject_request_id.isprintable() or not 0 < len(subject_request_id) <= MAX_REQUEST_ID_LENGTH:
        raise CallbackRejected(400, "invalid", "The callback's subject_request_id is empty, too long or unprintable.")
    job = _job_find(connector, subject_request_id)
    if job is None:
        raise CallbackRejected(404, "unknown_request", "This source was sent no request with this id.")
    if job.finished:
        raise CallbackRejected(409, "job_finished", "The work for this request at this source is already finished.")
    digest = hashlib.sha256(f"{source_key}\n{signature}".encode()).hexdigest()
    now_dt = timezone.now()
    try:
        with transaction.atomic():
            ProcessorCallback.objects.create(
                source_key=source_key,
                signature_digest=digest,
                subject_request_id=subject_request_id,
                request_status=data["request_status"],
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
                action="job.callback_received",
                request=job.request,
                data={"job": job.pk, "source": source_key, "status": data["request_status"], "requeued": requeued},
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

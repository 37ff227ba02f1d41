"""The simplified confirmation of an access request (LGPD Art. 19 I): whether data was found, at once.

Brazil's law gives the person two answers to a request for confirmation of processing or access: "em
formato simplificado, imediatamente" (Art. 19 I), and the full, clear and complete declaration within 15
days (Art. 19 II), which dsr's access answer is. As soon as every source has answered its first search,
dsr emails the first one, made only from what the sources reported: the systems that found data about the
person and its categories; "none found" only when every source answered and found nothing; otherwise that
the search is not complete. It goes once, and only to an address the person confirmed.
"""

from django.db import transaction

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap, localised
from dsr.engine.connectors import datamap_current
from dsr.jurisdictions import profile_get
from dsr.models import (
    OPEN_STATUSES,
    AuditAction,
    AuditEvent,
    Job,
    JobStatus,
    Message,
    Operation,
    Request,
    Right,
    VerificationMethod,
)
from dsr.rights.outcome import DONE, NOTHING_FOUND, sources_outcome

KIND = "access_confirmation"
# How a person shows they control the address: a code or link they received, or the integration whose
# logged-in customer they are. A staff check of the person's identity does not confirm the address staff typed.
_ADDRESS_CONFIRMED = (VerificationMethod.EMAIL_CODE, VerificationMethod.EMAIL_LINK, VerificationMethod.INTEGRATION)


def job_answered(job: Job) -> bool:
    """Return whether the job's first run has come to an answer (a result, a wait, a failure, a retry)."""
    return job.attempts > 1 or (job.attempts == 1 and job.status != JobStatus.RUNNING)


def address_confirmed(request: Request) -> bool:
    """Return whether the person showed they control the request's email address."""
    if request.verification_method in _ADDRESS_CONFIRMED:
        return True
    # A staff identity check replaces the method recorded when the person had confirmed the address.
    return AuditEvent.objects.filter(request=request, action=AuditAction.REQUEST_VERIFIED).exists()


def access_search_view(request: Request, datamap: DataMap) -> dict:
    """Return what the sources have reported of the person's access request so far, for the email.

    Names of systems and categories in both languages ({da, en}), never a value from the person's rows.
    """
    found = []
    unfinished = []
    searched = 0
    for source in sources_outcome(request, datamap, [Operation.ACCESS]):
        if source.state == DONE:
            keys = sorted({c for line in source.lines for c in line.categories})
            names = [datamap.categories[key]["name"] for key in keys if key in datamap.categories]
            found.append({"source": source.name, "categories": names})
            searched += 1
        elif source.state == NOTHING_FOUND:
            searched += 1
        else:
            # Failed, waiting for a person or a processor, or retried after an error: it says nothing yet.
            unfinished.append(source.name)
    return {
        "found": found,
        "unfinished": unfinished,
        "complete": not unfinished,
        "nothing_found": not unfinished and not found and searched > 0,
        "searched": searched,
    }


def access_search_localise(search: dict, language: str) -> dict:
    """Return ``search`` (access_search_view) with its names in ``language``, as the email's templates read it."""
    return {
        **search,
        "found": [
            {
                "source": localised(system["source"], language),
                "categories": [localised(name, language) for name in system["categories"]],
            }
            for system in search["found"]
        ],
        "unfinished": [localised(name, language) for name in search["unfinished"]],
    }


def access_confirmation_send(*, request_id: int) -> Message | None:
    """Email the simplified confirmation once every source answered its first search (LGPD Art. 19 I).

    Sent once per request, only for an access request under a law that asks for it, while the request is
    open and only to a confirmed address. Returns the message recorded, or None.
    """
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request_id)
        if request.right != Right.ACCESS or not profile_get(request.jurisdiction).simplified_confirmation:
            return None
        if request.status not in OPEN_STATUSES or not address_confirmed(request):
            return None
        if Message.objects.filter(request=request, kind=KIND).exists():
            return None
        jobs = list(request.jobs.filter(operation=Operation.ACCESS).exclude(source_key=""))
        datamap = datamap_current()
        if not jobs or datamap is None or not all(job_answered(job) for job in jobs):
            return None
        search = access_search_view(request, datamap)
        message = emails.email_access_confirmation(request, search=search)
        audit_record(
            actor=Actor.system(),
            action=AuditAction.ACCESS_CONFIRMATION_SENT,
            request=request,
            data={
                "message_id": message.pk,
                "sources": len(jobs),
                "holding": len(search["found"]),
                "unfinished": len(search["unfinished"]),
            },
        )
    return message

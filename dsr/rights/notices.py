"""GDPR Art. 19: tell a recipient of a rectification, erasure or restriction only when it had the changed data.

A recipient is told when (a) a source reported actually changing something
for the person and (b) the map's lineage says the recipient received data of
the changed kind from that table (dsr.datamap.lineage). The notice names the
person only by identifiers the recipient already holds, and lists only the
changed kinds of data it received. A source whose own request already reached
its recipients (an OpenGDPR processor sent the erasure) tells them itself.
Nothing changed: nobody is told.
"""

from dsr.datamap.lineage import consents_recorded, group_lineage, recipients_received
from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get
from dsr.models import JobStatus, Request
from dsr.recipients import recipient_notification_record, recipients_recorded
from dsr.rights.outcome import job_facts
from dsr.sources.base import REQUEST, SourceError

# The identifiers a person gives us, by kind; a notice names a kind only if the recipient received it.
IDENTIFIER_KINDS = ("email", "phone", "customer_number")


def _person(
    datamap: DataMap,
    recipient_key: str,
    held: list[tuple[str, str]],
    consents: list[str],
    held_identifiers: dict[str, dict[str, list[str]]],
) -> dict[str, list[str]]:
    """Return the person's identifiers the recipient received, by kind: only values from tables it receives from."""
    person: dict[str, set[str]] = {}
    for source_key, group in held:
        described = datamap.sources[source_key].get("groups", {}).get(group, {})
        given = _consents(datamap, consents, source_key, group)
        for kind, category in (described.get("identifiers") or {}).items():
            received = recipients_received(datamap, source_key, group, [category], consents_given=given)
            values = held_identifiers.get(source_key, {}).get(kind, [])
            if kind in IDENTIFIER_KINDS and recipient_key in received and values:
                person.setdefault(kind, set()).update(values)
    return {kind: sorted(values) for kind, values in person.items()}


def _consents(datamap: DataMap, plan_consents: list[str], source_key: str, group: str) -> set[str] | None:
    """Return the consents under which the group's data may have gone to recipients; None where dsr cannot tell.

    A consent given and withdrawn since still counts: the data went out while it was given. A group that
    serves one consent-based purpose alone (a newsletter subscription) holds data only under that consent.
    """
    if not consents_recorded(datamap):
        return None
    given = set(plan_consents)
    lineage = group_lineage(datamap, source_key, group)
    if lineage["purposes_declared"] and len(lineage["purposes"]) == 1 and not lineage["records_consents"]:
        consent_key = datamap.purposes[lineage["purposes"][0]]["consent_key"]
        if consent_key:
            given.add(consent_key)
    return given


def notices_send(
    *,
    request: Request,
    datamap: DataMap,
    operation: str,
    held_identifiers: dict[str, dict[str, list[str]]],
    consents: list[str],
) -> list[dict]:
    """Record (and send) the Art. 19 notices the request's ``operation`` jobs call for; return who is told.

    ``held_identifiers`` and ``consents`` are what identity resolution found: the identifiers each source
    holds (Plan.held_identifiers) and the consent keys the sources show the person gave at some time.
    """
    changed: dict[str, set[str]] = {}
    # A rectification's corrections whose change reached data the recipient received, per recipient.
    reached: dict[str, set[str]] = {}
    held: list[tuple[str, str]] = []
    told_by_request: dict[str, str] = {}
    jobs = request.jobs.filter(operation=operation, status=JobStatus.DONE, source_key__in=list(datamap.sources))
    for job in jobs.order_by("pk"):
        # A job of no source (the privacy team's task for what no source maps) has no lineage to follow.
        try:
            informs = connector_get(job.source_key, datamap).informs_recipients
        except SourceError:
            informs = False
        for fact in job_facts(job):
            if fact.found or fact.changed:
                held.append((job.source_key, fact.table))
            if fact.action == REQUEST and informs and fact.reference:
                for recipient in datamap.sources[job.source_key]["recipients"]:
                    told_by_request.setdefault(recipient, fact.reference)
                continue
            if not fact.changed or not fact.categories:
                continue
            given = _consents(datamap, consents, job.source_key, fact.table)
            received = recipients_received(datamap, job.source_key, fact.table, fact.categories, consents_given=given)
            for recipient, categories in received.items():
                changed.setdefault(recipient, set()).update(categories)
                if fact.item:
                    reached.setdefault(recipient, set()).add(fact.item)
    told = []
    # Read once for all of them (a plan's last step, under its request's lock): who was recorded already.
    recorded = recipients_recorded(request, operation)
    for key, recipient in datamap.recipients.items():
        if key in told_by_request:
            notification = recipient_notification_record(
                request=request,
                recipient=recipient,
                operation=operation,
                categories=sorted(changed.get(key, ())),
                person={},
                told_by_request=told_by_request[key],
                recorded=recorded,
            )
        elif key in changed:
            notification = recipient_notification_record(
                request=request,
                recipient=recipient,
                operation=operation,
                categories=sorted(changed[key]),
                person=_person(datamap, key, held, consents, held_identifiers),
                corrections=sorted(reached.get(key, ())),
                recorded=recorded,
            )
        else:
            continue
        if notification is not None:
            told.append({"recipient": key, "name": recipient["name"], "channel": notification.channel})
    return told

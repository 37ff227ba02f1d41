"""The person's earlier requests to us, for the access answer (GDPR Art. 15(1): the requests are their data too).

Only requests the same person verified are theirs: matched exactly on the
normalised email both requests confirmed, or on the customer number where both
requests established the person's identity beyond the email (a second
attribute matched, or staff checked it). A request someone filed with the
address but never confirmed is not the person's, and is never listed. Purged
requests have no identifiers left, so they are not found; what is listed is
what dsr still holds.
"""

from django.db.models import Q
from django.utils import timezone

from dsr.models import IdentityLevel, Request, Right, Status
from dsr.sources.resolution import identifier_normalise


def _normal(kind: str, value: str) -> str | None:
    return identifier_normalise(kind, value) if value else None


def requests_of_person(request: Request) -> list[Request]:
    """Return the verified, unpurged requests of the person behind ``request`` (itself included), oldest first."""
    email = _normal("email", request.email)
    number = _normal("customer_number", request.customer_number)
    enhanced = request.identity_level >= IdentityLevel.ENHANCED
    if email is None or request.identity_level < IdentityLevel.EMAIL:
        return [request]
    candidates = Q(email__iexact=request.email.strip())
    if enhanced and number:
        candidates |= Q(
            customer_number__iexact=request.customer_number.strip(), identity_level__gte=IdentityLevel.ENHANCED
        )
    found = {request.pk: request}
    rows = Request.objects.filter(candidates, purged_at__isnull=True, verified_at__isnull=False).exclude(pk=request.pk)
    for other in rows.filter(identity_level__gte=IdentityLevel.EMAIL):
        # The database's case-insensitive match only finds candidates; the identifiers must match exactly.
        same_email = _normal("email", other.email) == email
        same_number = (
            enhanced
            and number is not None
            and other.identity_level >= IdentityLevel.ENHANCED
            and _normal("customer_number", other.customer_number) == number
        )
        if same_email or same_number:
            found[other.pk] = other
    return sorted(found.values(), key=lambda r: (r.received_at, r.pk))


def request_history(request: Request) -> list[dict]:
    """Return each of the person's requests as the answer lists it: right, dates and outcome, in plain values.

    Labels are translated in the active language; the caller renders under the person's.
    """
    history = []
    for entry in requests_of_person(request):
        current = entry.pk == request.pk
        history.append(
            {
                "reference": entry.reference,
                "right": str(Right(entry.right).label),
                "received": timezone.localdate(entry.received_at),
                "closed": timezone.localdate(entry.closed_at) if entry.closed_at and not current else None,
                # The request being answered is not closed yet: it is this answer.
                "status": "" if current else str(Status(entry.status).label),
                "current": current,
            }
        )
    return history


def history_document(history: list[dict]) -> list[dict]:
    """Return the history as the bundle's requests.json holds it (dates as ISO strings)."""
    return [
        {
            "reference": entry["reference"],
            "right": entry["right"],
            "received": entry["received"].isoformat(),
            "closed": entry["closed"].isoformat() if entry["closed"] else None,
            "outcome": entry["status"] or None,
            "this_request": entry["current"],
        }
        for entry in history
    ]

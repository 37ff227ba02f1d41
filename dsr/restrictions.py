"""The restriction register (GDPR Art. 18): what other systems ask before they process a person.

A restriction request, an objection pending its balancing (Art. 18(1)(d)) and
an objection to direct marketing (Art. 21(3)) each leave entries here: one
per identifier, as a keyed HMAC (the register must not become a second copy
of the person's data), for every purpose or for one. Lifting a restriction in
the sources is the restriction right's work (dsr.rights.restriction).
"""

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.models import AuditAction, Request, Restriction, RestrictionGround
from dsr.suppression import identifier_digest, identifier_kind_guess, identifiers_digests

# Grounds of entries that are not Art. 18 restrictions but stop processing for good.
OBJECTION_DIRECT_MARKETING = "objection_direct_marketing"
OBJECTION_UPHELD = "objection_upheld"
LIFTABLE_GROUNDS = tuple(RestrictionGround.values)


class RestrictionError(Exception):
    """A register change is not allowed as asked; str() says why."""


def restrictions_record(
    *, request: Request, identifiers: dict[str, Iterable[str]], ground: str, purposes: Iterable[str] = ("",)
) -> int:
    """Enter the person in the register for ``purposes`` ("" is every purpose); return the rows added."""
    added = 0
    for purpose in purposes:
        for kind, digest in identifiers_digests(identifiers):
            _, created = Restriction.objects.get_or_create(
                request=request,
                digest=digest,
                purpose=purpose,
                ground=ground,
                lifted_at=None,
                defaults={"kind": kind},
            )
            added += int(created)
    return added


def restriction_check(identifier: str, purpose: str, *, kind: str | None = None) -> bool:
    """Return whether processing the person with ``identifier`` for ``purpose`` is restricted.

    GDPR Art. 18(2): restricted data is only stored, unless the person consents
    or for legal claims; the caller asks before each use.
    """
    digest = identifier_digest(kind or identifier_kind_guess(identifier), identifier)
    if digest is None:
        return False
    active = Restriction.objects.filter(digest=digest, lifted_at__isnull=True)
    return active.filter(purpose__in=("", purpose)).exists()


def restrictions_active(request: Request) -> list[Restriction]:
    """Return the request's register entries that are in force."""
    return list(request.restrictions.filter(lifted_at__isnull=True))


def restriction_subject_tell(
    *, request: Request, actor: Actor, reasons: str = "", lift_date: date | None = None
) -> Request:
    """Tell the person that the restriction will be lifted, and record that they were told (Art. 18(3))."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        entries = request.restrictions.filter(lifted_at__isnull=True, ground__in=LIFTABLE_GROUNDS)
        if not entries.exists():
            raise RestrictionError(
                _("Request %(reference)s has no restriction in force.") % {"reference": request.reference}
            )
        entries.update(subject_told_at=timezone.now(), lift_reasons=(reasons or "").strip()[:5000])
        audit_record(
            actor=actor, action=AuditAction.RESTRICTION_SUBJECT_TOLD, request=request, data={"entries": entries.count()}
        )
        emails.email_restriction_lift(request, reasons=(reasons or "").strip(), lift_date=lift_date)
    return request

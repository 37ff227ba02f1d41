"""The restriction register (GDPR Art. 18): what other systems ask before they process a person.

A restriction request, an objection pending its balancing (Art. 18(1)(d)), an
objection to direct marketing (Art. 21(3)) and a Californian's request to limit
the use of sensitive personal information (Cal. Civ. Code § 1798.121) each leave
entries here: one
per identifier, as a keyed HMAC (the register must not become a second copy
of the person's data), for every purpose or for one. Lifting is in two steps so
it cannot take effect before the person is told (GDPR Art. 18(3)): staff announce
it (``restriction_lift_schedule`` queues the notice), and only once the outbox has
sent that notice, and the announced date has come, are the entries lifted, in the
register and in the sources (dsr.rights.restriction).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.keys import RESTRICTION
from dsr.models import AuditAction, Message, MessageStatus, Request, Restriction, RestrictionGround
from dsr.suppression import identifier_digests, identifier_kind_guess, identifiers_digests

# Grounds of entries that are not Art. 18 restrictions but stop processing for good.
OBJECTION_DIRECT_MARKETING = "objection_direct_marketing"
OBJECTION_UPHELD = "objection_upheld"
# Cal. Civ. Code § 1798.121: a Californian limited the use of their sensitive personal information for good.
LIMIT_SENSITIVE = "limit_sensitive"
LIFTABLE_GROUNDS = tuple(RestrictionGround.values)


class RestrictionError(Exception):
    """A register change is not allowed as asked; str() says why."""


def restrictions_record(
    *, request: Request, identifiers: dict[str, Iterable[str]], ground: str, purposes: Iterable[str] = ("",)
) -> int:
    """Enter the person in the register for ``purposes`` ("" is every purpose); return the rows added."""
    added = 0
    for purpose in purposes:
        for kind, digests in identifiers_digests(identifiers, keys=RESTRICTION):
            # An entry in force under an older key is the same entry.
            held = Restriction.objects.filter(
                request=request, digest__in=digests, purpose=purpose, ground=ground, lifted_at=None
            )
            if held.exists():
                continue
            Restriction.objects.create(request=request, digest=digests[0], purpose=purpose, ground=ground, kind=kind)
            added += 1
    return added


def restriction_check(identifier: str, purpose: str, *, kind: str | None = None) -> bool:
    """Return whether processing the person with ``identifier`` for ``purpose`` is restricted.

    GDPR Art. 18(2): restricted data is only stored, unless the person consents
    or for legal claims; the caller asks before each use.
    """
    digests = identifier_digests(kind or identifier_kind_guess(identifier), identifier, keys=RESTRICTION)
    if not digests:
        return False
    active = Restriction.objects.filter(digest__in=digests, lifted_at__isnull=True)
    return active.filter(purpose__in=("", purpose)).exists()


def restrictions_active(request: Request) -> list[Restriction]:
    """Return the request's register entries that are in force."""
    return list(request.restrictions.filter(lifted_at__isnull=True))


def restriction_lift_schedule(
    *, request: Request, actor: Actor, reasons: str, lift_date: date | None = None, today: date | None = None
) -> Request:
    """Announce to the person that the restriction will be lifted; the lift waits for that notice to go out.

    GDPR Art. 18(3): the person is informed before the restriction is lifted. Nothing is lifted here:
    the entries remember the notice, and ``restrictions_lift_due`` (dsr.rights.restriction) lifts them
    once the outbox has sent it and ``lift_date`` (if any) has come.
    """
    reasons = (reasons or "").strip()
    today = today or timezone.localdate()
    if not reasons:
        raise RestrictionError(_("Give the reasons for lifting the restriction; the requester receives them."))
    if lift_date is not None and lift_date < today:
        raise RestrictionError(_("The lift date cannot be in the past."))
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        entries = request.restrictions.filter(lifted_at__isnull=True, ground__in=LIFTABLE_GROUNDS)
        if not entries.exists():
            raise RestrictionError(
                _("Request %(reference)s has no restriction in force.") % {"reference": request.reference}
            )
        if request.purged_at is not None or not request.email:
            raise RestrictionError(_("The requester cannot be told (their details were purged), so it stays."))
        if entries.filter(lift_notice__isnull=False).exclude(lift_notice__status=MessageStatus.FAILED).exists():
            raise RestrictionError(_("A lift has already been announced to the requester."))
        message = emails.email_restriction_lift(request, reasons=reasons, lift_date=lift_date)
        count = entries.update(
            lift_notice=message, lift_on=lift_date, lift_reasons=reasons[:5000], subject_told_at=None
        )
        audit_record(
            actor=actor,
            action=AuditAction.RESTRICTION_LIFT_SCHEDULED,
            request=request,
            data={"entries": count, "notice": message.pk, "lift_on": lift_date.isoformat() if lift_date else ""},
        )
    return request


def restriction_lift_after_letter(*, request: Request, message: Message, grounds: Iterable[str]) -> int:
    """Keep the request's entries of ``grounds`` in force until ``message`` (the letter that tells the person) is sent.

    An objection not upheld keeps its interim restriction (GDPR Art. 18(1)(d)) until the decision letter
    has gone out; Art. 18(3) is met by that letter. Return the entries waiting.
    """
    entries = request.restrictions.filter(lifted_at__isnull=True, ground__in=list(grounds))
    return entries.update(lift_notice=message, lift_on=None, subject_told_at=None)


def restrictions_told_record(*, now: datetime | None = None) -> list[int]:
    """Record the person told where the notice of a lift went out; return the requests whose lift is now due.

    A lift is due when its notice was sent (the person was told, GDPR Art. 18(3)) and its date, if any, has
    come. A notice that failed keeps the restriction in force: staff see it and may announce the lift again.
    """
    now = now or timezone.now()
    waiting = Restriction.objects.filter(
        lifted_at__isnull=True, subject_told_at__isnull=True, lift_notice__status=MessageStatus.SENT
    )
    notices = waiting.values_list("request_id", "lift_notice_id", "lift_notice__sent_at").distinct()
    for request_id, message_id, sent_at in list(notices)[:1000]:
        with transaction.atomic():
            told = Restriction.objects.filter(
                request_id=request_id, lift_notice_id=message_id, lifted_at__isnull=True, subject_told_at__isnull=True
            ).update(subject_told_at=sent_at or now)
            if told:
                audit_record(
                    actor=Actor.system(),
                    action=AuditAction.RESTRICTION_SUBJECT_TOLD,
                    request=Request.objects.get(pk=request_id),
                    data={"entries": told, "notice": message_id},
                )
    due = Restriction.objects.filter(lifted_at__isnull=True, subject_told_at__isnull=False).filter(
        Q(lift_on__isnull=True) | Q(lift_on__lte=timezone.localdate(now))
    )
    return sorted(set(due.values_list("request_id", flat=True)[:1000]))


@dataclass(frozen=True)
class LiftState:
    """Where a request's restriction stands, for the staff page and the API."""

    in_force: list[Restriction]
    notice: Message | None
    lift_on: date | None
    told_at: datetime | None
    lifted_at: datetime | None

    @property
    def liftable(self) -> bool:
        """Whether staff may announce a lift: something in force and no notice on its way or sent."""
        return bool(self.in_force) and (self.notice is None or self.notice.status == MessageStatus.FAILED)

    @property
    def waiting(self) -> bool:
        return bool(self.in_force) and self.notice is not None and self.notice.status != MessageStatus.FAILED


def restriction_lift_state(request: Request) -> LiftState:
    """Return what of the request's restriction is in force and where its lift stands."""
    entries = list(request.restrictions.select_related("lift_notice").order_by("created_at", "id"))
    in_force = [e for e in entries if e.lifted_at is None and e.ground in LIFTABLE_GROUNDS]
    lifted = [e.lifted_at for e in entries if e.lifted_at is not None and e.ground in LIFTABLE_GROUNDS]
    first = in_force[0] if in_force else None
    return LiftState(
        in_force=in_force,
        notice=first.lift_notice if first else None,
        lift_on=first.lift_on if first else None,
        told_at=first.subject_told_at if first else None,
        lifted_at=max(lifted) if lifted and not in_force else None,
    )

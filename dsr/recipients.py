"""GDPR Art. 19: recipients told of a rectification, erasure or restriction, and each telling tracked.

Who is told is decided from what the sources reported and the map's lineage
(dsr.rights.notices); this module records each notice and sends it: through
the source's own request where that already told the recipient (an OpenGDPR
processor is sent the erasure), else by email to its contact address, else by
a member of staff who records how it was done.
"""

from collections.abc import Collection

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.models import (
    AuditAction,
    Message,
    MessageStatus,
    NotificationChannel,
    NotificationStatus,
    RecipientNotification,
    Request,
)


class NotificationError(Exception):
    """A notification cannot be recorded as asked; str() says why."""


def recipients_recorded(request: Request, operation: str, *, keys: list[str] | None = None) -> set[str]:
    """Return the keys of the recipients already recorded to be told of the request's ``operation`` (of ``keys``)."""
    notifications = RecipientNotification.objects.filter(request=request, operation=operation)
    if keys is not None:
        notifications = notifications.filter(recipient_key__in=keys)
    return set(notifications.values_list("recipient_key", flat=True))


def recipient_notification_record(
    *,
    request: Request,
    recipient: dict,
    operation: str,
    categories: list[str],
    person: dict[str, list[str]],
    told_by_request: str | None = None,
    corrections: list[str] = (),
    recorded: Collection[str] | None = None,
) -> RecipientNotification | None:
    """Record that ``recipient`` is to be told of ``operation`` (GDPR Art. 19), once; email it where we can.

    ``categories`` are the changed kinds of data the recipient received; ``person`` the person's
    identifiers, by kind, that it already holds (the notice names only those). ``told_by_request`` is
    the reference of the request the source itself was sent, which told the recipient already.
    ``corrections`` are a rectification's correction keys whose change reached data the recipient received.
    ``recorded``: the recipients already recorded for the operation (``recipients_recorded``), where the caller
    read them once for several; otherwise they are asked here.
    Return the new notification, or None if this recipient was already recorded for the operation.
    """
    if recorded is None:
        recorded = recipients_recorded(request, operation, keys=[recipient["key"]])
    if recipient["key"] in recorded:
        return None
    notification = RecipientNotification(
        request=request,
        recipient_key=recipient["key"],
        recipient_name=recipient["name"][:200],
        operation=operation,
        contact_email=recipient.get("contact_email", ""),
        categories=sorted(categories),
        corrections=sorted(corrections),
        identifier_kinds=sorted(kind for kind, values in person.items() if values),
    )
    if told_by_request is not None:
        notification.channel = NotificationChannel.HTTP
        notification.status = NotificationStatus.SENT
        notification.reference = told_by_request[:100]
        notification.notified_at = timezone.now()
    elif notification.contact_email and notification.identifier_kinds:
        notification.channel = NotificationChannel.EMAIL
    else:
        # No address, or no identifier the recipient already holds to name the person by: staff tell it.
        notification.channel = NotificationChannel.MANUAL
    # No savepoint of its own inside a caller's transaction (a plan's last step records several): nothing here is
    # caught and carried on from, so an error rolls back the caller's transaction as a savepoint would have.
    with transaction.atomic(savepoint=False):
        notification.save()
        if notification.channel == NotificationChannel.EMAIL:
            message = emails.email_recipient_notification(request, notification=notification, person=person)
            notification.reference = str(message.pk)
            notification.save(update_fields=["reference"])
        audit_record(
            actor=Actor.system(),
            action=AuditAction.RECIPIENT_NOTIFICATION_RECORDED,
            request=request,
            data={
                "notification": notification.pk,
                "recipient": notification.recipient_key,
                "channel": notification.channel,
                "operation": operation,
                "categories": notification.categories,
            },
        )
    return notification


def recipient_notification_confirm(
    *, notification: RecipientNotification, note: str = "", actor: Actor, confirmed_by=None
) -> RecipientNotification:
    """Record that staff told the recipient by hand (GDPR Art. 19): who, when and, if they say, how.

    Only a notification dsr could not send itself is confirmed this way; once it is, the person's
    letter and status page say the recipient was told, and not before.
    """
    note = (note or "").strip()
    with transaction.atomic():
        notification = RecipientNotification.objects.select_for_update().get(pk=notification.pk)
        if notification.channel != NotificationChannel.MANUAL:
            raise NotificationError(_("Only a recipient the privacy team tells by hand is recorded as told here."))
        if notification.status == NotificationStatus.SENT:
            raise NotificationError(_("This recipient has already been told."))
        notification.status = NotificationStatus.SENT
        notification.note = note[:5000]
        notification.notified_at = timezone.now()
        notification.confirmed_by = confirmed_by
        notification.save(update_fields=["status", "note", "notified_at", "confirmed_by"])
        audit_record(
            actor=actor,
            action=AuditAction.RECIPIENT_NOTIFIED_BY_HAND,
            request=notification.request,
            data={"notification": notification.pk, "recipient": notification.recipient_key, "note": bool(note)},
        )
    return notification


def request_recipient_notifications(request: Request) -> QuerySet[RecipientNotification]:
    """Return the request's Art. 19 notifications, oldest first (for the staff page and the subject)."""
    return request.recipient_notifications.order_by("created_at", "id")


def notification_language() -> str:
    """Return the language recipients are written to in: the controller's."""
    return settings.LANGUAGE_CODE[:2]


def recipient_notifications_sync() -> int:
    """Mark emailed notifications told or failed as their messages went out or failed; return how many changed."""
    changed = 0
    pending = RecipientNotification.objects.filter(
        channel=NotificationChannel.EMAIL, status=NotificationStatus.PENDING
    ).exclude(reference="")
    for notification in pending[:1000]:
        message = Message.objects.filter(pk=int(notification.reference)).only("status", "sent_at").first()
        if message is None or message.status == MessageStatus.QUEUED:
            continue
        if message.status == MessageStatus.SENT:
            notification.status, notification.notified_at = NotificationStatus.SENT, message.sent_at
        else:
            notification.status = NotificationStatus.FAILED
        notification.save(update_fields=["status", "notified_at"])
        changed += 1
    return changed

"""GDPR Art. 19: every recipient is told of a rectification, erasure or restriction, and each telling is tracked.

A recipient is told through its own http source when dsr already sent it the
request there (the OpenGDPR erasure is the notification), else by email to
its contact address, else by a member of staff who records how it was done.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.datamap.schema import DataMap
from dsr.models import (
    Job,
    JobStatus,
    NotificationChannel,
    NotificationStatus,
    RecipientNotification,
    Request,
)


class NotificationError(Exception):
    """A notification cannot be recorded as asked; str() says why."""


def recipients_of_sources(datamap: DataMap, source_keys: list[str]) -> list[dict]:
    """Return the recipients the map lists for ``source_keys``, each once, in map order."""
    wanted = {
        key for source in source_keys if source in datamap.sources for key in datamap.sources[source]["recipients"]
    }
    return [recipient for key, recipient in datamap.recipients.items() if key in wanted]


def _told_through_http(datamap: DataMap, request: Request, recipient_key: str) -> Job | None:
    """Return the finished http job that already carried the request to this recipient, if any."""
    http_sources = [
        key
        for key, source in datamap.sources.items()
        if source["kind"] == "http" and recipient_key in source["recipients"]
    ]
    return (
        request.jobs.filter(source_key__in=http_sources, status__in=(JobStatus.DONE, JobStatus.WAITING))
        .exclude(result={})
        .filter(operation__in=("erasure", "audience_remove"))
        .first()
    )


def recipients_notify(*, request: Request, datamap: DataMap, source_keys: list[str], operation: str) -> int:
    """Tell every recipient of ``source_keys`` about ``operation``; record each; return how many were new."""
    created = 0
    for recipient in recipients_of_sources(datamap, source_keys):
        if RecipientNotification.objects.filter(
            request=request, recipient_key=recipient["key"], operation=operation
        ).exists():
            continue
        notification = RecipientNotification(
            request=request,
            recipient_key=recipient["key"],
            recipient_name=recipient["name"][:200],
            operation=operation,
            contact_email=recipient.get("contact_email", ""),
        )
        job = _told_through_http(datamap, request, recipient["key"])
        if job is not None:
            notification.channel = NotificationChannel.HTTP
            notification.status = NotificationStatus.SENT
            notification.reference = str(job.result.get("reference", ""))[:100]
            notification.notified_at = timezone.now()
        elif notification.contact_email:
            notification.channel = NotificationChannel.EMAIL
        else:
            notification.channel = NotificationChannel.MANUAL
        with transaction.atomic():
            notification.save()
            if notification.channel == NotificationChannel.EMAIL:
                message = emails.email_recipient_notification(request, notification=notification)
                notification.reference = str(message.pk)
                notification.save(update_fields=["reference"])
            audit_record(
                actor=Actor.system(),
                action="recipient.notification_recorded",
                request=request,
                data={
                    "notification": notification.pk,
                    "recipient": notification.recipient_key,
                    "channel": notification.channel,
                    "operation": operation,
                },
            )
        created += 1
    return created


def recipient_notification_confirm(
    *, notification: RecipientNotification, note: str, actor: Actor
) -> RecipientNotification:
    """Record that staff told the recipient by hand, and how."""
    note = (note or "").strip()
    if not note:
        raise NotificationError(_("Say how the recipient was told."))
    with transaction.atomic():
        notification = RecipientNotification.objects.select_for_update().get(pk=notification.pk)
        if notification.status == NotificationStatus.SENT:
            raise NotificationError(_("This recipient has already been told."))
        notification.status = NotificationStatus.SENT
        notification.note = note[:5000]
        notification.notified_at = timezone.now()
        notification.save(update_fields=["status", "note", "notified_at"])
        audit_record(
            actor=actor,
            action="recipient.notified_by_hand",
            request=notification.request,
            data={"notification": notification.pk, "recipient": notification.recipient_key},
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
    from dsr.models import Message, MessageStatus

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

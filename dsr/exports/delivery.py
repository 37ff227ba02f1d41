"""Deliver a bundle: staff review, release, emailed links, audited downloads, new links and the purge.

A link's token is 256 random bits, stored as its SHA-256 only; the emailed URL
is the one place it exists. A link expires (DSR_DOWNLOAD_LINK_DAYS) and allows
DSR_DOWNLOAD_LIMIT downloads; a new link replaces the old. The bundle itself
is kept until DSR_BUNDLE_RETENTION_DAYS after release and then purged.
"""

import hashlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails, workflow
from dsr.audit import Actor, audit_record
from dsr.exports.integrity import bundle_damaged_recorded, bundle_plaintext
from dsr.exports.transmission import transmission_start
from dsr.models import AuditAction, Bundle, BundleStatus, DownloadLink, Plan, PlanStage, Request
from dsr.storage import bundle_storage, storage_delete
from dsr.storage.sealing import sealed_open
from dsr.workflow import TransitionError

logger = logging.getLogger(__name__)


class DownloadRefused(Exception):
    """The link cannot give the file now; ``code`` says why (the page explains it to the person)."""

    def __init__(self, code: str, link: DownloadLink | None = None):
        self.code = code
        self.link = link
        super().__init__(code)


# Why a link does not work; "unknown" covers wrong and tampered tokens alike.
UNKNOWN, EXPIRED, USED_UP, REPLACED, PURGED, DAMAGED = "unknown", "expired", "used_up", "replaced", "purged", "damaged"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _link_create(bundle: Bundle, *, now: datetime) -> tuple[DownloadLink, str]:
    """Create the bundle's new link, replacing the old ones; return it with its token (shown once)."""
    bundle.links.filter(revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=settings.DSR_DOWNLOAD_LINK_DAYS)
    if bundle.expires_at and bundle.expires_at < expires:
        expires = bundle.expires_at
    link = DownloadLink.objects.create(
        bundle=bundle, token_hash=token_hash(token), expires_at=expires, max_downloads=settings.DSR_DOWNLOAD_LIMIT
    )
    return link, token


# --- Review and release --------------------------------------------------------------


def bundle_review_await(*, bundle: Bundle) -> None:
    """Hold a built bundle for staff to preview and release (DSR_BUNDLE_REVIEW)."""
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=bundle.request_id)
        Bundle.objects.filter(pk=bundle.pk).update(status=BundleStatus.REVIEW)
        Plan.objects.filter(request=request).update(stage=PlanStage.REVIEW, updated_at=timezone.now())
        workflow.request_bundle_review(request=request, bundle_id=bundle.pk, actor=Actor.system())


def bundle_release(*, bundle: Bundle, actor: Actor, now: datetime | None = None) -> Request:
    """Send the bundle to the person: a new link in the completion email, and the request completed."""
    now = now or timezone.now()
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=bundle.request_id)
        bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
        if bundle.status not in (BundleStatus.BUILDING, BundleStatus.REVIEW) or not bundle.storage_name:
            raise TransitionError(
                _("Bundle %(id)s cannot be released: it is %(status)s.")
                % {"id": bundle.pk, "status": bundle.get_status_display().lower()}
            )
        request = workflow.request_bundle_released(request=request, actor=actor)
        bundle.status = BundleStatus.RELEASED
        bundle.released_at = now
        bundle.released_by = f"{actor.type}:{actor.id}"[:160]
        bundle.expires_at = now + timedelta(days=settings.DSR_BUNDLE_RETENTION_DAYS)
        bundle.save(update_fields=["status", "released_at", "released_by", "expires_at"])
        link, token = _link_create(bundle, now=now)
        audit_record(
            actor=actor,
            action=AuditAction.BUNDLE_RELEASED,
            request=request,
            data={"bundle": bundle.pk, "link": link.pk, "files": bundle.files, "bytes": bundle.plain_size},
        )
        # GDPR Art. 20(2): the controller the person named gets a link of its own, in the same transaction.
        transmission_start(request=request, bundle=bundle, now=now)
        # The person's identifiers were needed to collect; the request is answered now.
        Plan.objects.filter(request=request).update(stage=PlanStage.DONE, **Plan.FORGOTTEN, updated_at=now)
        workflow.request_complete(request=request, actor=actor, download_token=token)
    request.refresh_from_db()
    return request


def bundle_discard(*, bundle: Bundle, actor: Actor) -> None:
    """Delete a bundle that will not be sent (rebuilt, or its request closed); audited."""
    with transaction.atomic():
        bundle = Bundle.objects.select_for_update().get(pk=bundle.pk)
        if bundle.status in (BundleStatus.DISCARDED, BundleStatus.PURGED):
            return
        name = bundle.storage_name
        Bundle.objects.filter(pk=bundle.pk).update(status=BundleStatus.DISCARDED, purged_at=timezone.now())
        bundle.links.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(
            actor=actor, action=AuditAction.BUNDLE_DISCARDED, request=bundle.request, data={"bundle": bundle.pk}
        )
        transaction.on_commit(lambda: storage_delete(name))


# --- Links and downloads -------------------------------------------------------------


def link_by_token(token: str) -> DownloadLink | None:
    """Return the link with this token, or None; the lookup is by hash, so nothing leaks through timing."""
    if not token or len(token) > 100:
        return None
    return DownloadLink.objects.select_related("bundle", "bundle__request").filter(token_hash=token_hash(token)).first()


def link_problem(link: DownloadLink, *, now: datetime | None = None) -> str | None:
    """Return why the link cannot download now, or None when it can."""
    now = now or timezone.now()
    bundle = link.bundle
    if bundle.status == BundleStatus.PURGED or bundle.purged_at:
        return PURGED
    if bundle.status != BundleStatus.RELEASED:
        return UNKNOWN
    if link.revoked_at:
        return REPLACED
    if link.expires_at <= now:
        return EXPIRED
    if link.downloads >= link.max_downloads:
        return USED_UP
    return None


def link_current(request: Request) -> DownloadLink | None:
    """Return the newest link of the request's released bundle (working or not), or None."""
    return (
        DownloadLink.objects.select_related("bundle")
        .filter(bundle__request=request, bundle__status__in=(BundleStatus.RELEASED, BundleStatus.PURGED))
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass
class Download:
    """An authorised download: the plaintext ZIP's chunks, its size and its file name."""

    chunks: Iterator[bytes]
    size: int
    filename: str


def bundle_download(*, link: DownloadLink, actor: Actor, now: datetime | None = None) -> Download:
    """Count and audit one download through ``link``; raise DownloadRefused if it cannot happen.

    The stored file's SHA-256 is checked before anything is sent, so a changed
    or cut file never reaches the person; every chunk is authenticated again as
    it is decrypted.
    """
    now = now or timezone.now()
    with transaction.atomic():
        link = DownloadLink.objects.select_for_update().select_related("bundle", "bundle__request").get(pk=link.pk)
        problem = link_problem(link, now=now)
        if problem:
            raise DownloadRefused(problem, link)
        bundle = link.bundle
        damaged = bundle_damaged_recorded(bundle)
        if not damaged:
            DownloadLink.objects.filter(pk=link.pk).update(downloads=link.downloads + 1, last_download_at=now)
            audit_record(
                actor=actor,
                action=AuditAction.BUNDLE_DOWNLOADED,
                request=bundle.request,
                data={"bundle": bundle.pk, "link": link.pk, "download": link.downloads + 1},
            )
    if damaged:
        logger.error("bundle %s does not match its recorded checksum; download refused", bundle.pk)
        raise DownloadRefused(DAMAGED, link)
    return Download(chunks=bundle_plaintext(bundle), size=bundle.plain_size, filename=f"{bundle.request.reference}.zip")


def bundle_open(bundle: Bundle):
    """Return a seekable reader of the bundle's ZIP (for staff preview and verification); close it after use."""
    storage = bundle_storage()
    stored = storage.open(bundle.storage_name, "rb")
    return sealed_open(stored, size=bundle.size)


def download_link_reissue(*, request: Request, actor: Actor, now: datetime | None = None) -> DownloadLink:
    """Email a new download link to the request's own address; the old links stop working.

    Raises TransitionError when there is nothing to send: no released bundle, or it was purged.
    """
    now = now or timezone.now()
    with transaction.atomic():
        request = Request.objects.select_for_update().get(pk=request.pk)
        bundle = request.bundles.filter(status=BundleStatus.RELEASED).order_by("-released_at", "-id").first()
        if bundle is None or request.purged_at:
            raise TransitionError(
                _("There is no copy of your data to send a link to. It may have been deleted after it expired.")
            )
        if bundle.expires_at and bundle.expires_at <= now:
            raise TransitionError(_("Your copy was deleted when it expired, for your security."))
        link, token = _link_create(bundle, now=now)
        audit_record(
            actor=actor,
            action=AuditAction.BUNDLE_LINK_REISSUED,
            request=request,
            data={"bundle": bundle.pk, "link": link.pk},
        )
        emails.email_download_link(request, token=token)
    return link


# --- Purge -------------------------------------------------------------------------------


def bundles_purge_expired(*, now: datetime | None = None, limit: int = 500) -> int:
    """Delete the stored bundles past their expiry, and those of purged requests; audit each; return how many."""
    now = now or timezone.now()
    due = Bundle.objects.filter(purged_at__isnull=True).filter(
        Q(expires_at__lte=now) | Q(request__purged_at__isnull=False)
    )
    purged = 0
    for bundle_id in list(due.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            bundle = Bundle.objects.select_for_update().select_related("request").get(pk=bundle_id)
            if bundle.purged_at:
                continue
            deleted = storage_delete(bundle.storage_name)
            Bundle.objects.filter(pk=bundle.pk).update(status=BundleStatus.PURGED, purged_at=now)
            bundle.links.filter(revoked_at__isnull=True).update(revoked_at=now)
            audit_record(
                actor=Actor.system(),
                action=AuditAction.BUNDLE_PURGED,
                request=bundle.request,
                data={"bundle": bundle.pk, "file_was_there": deleted},
            )
        purged += 1
    return purged

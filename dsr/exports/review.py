"""Staff's view of a request's bundles: the panel's reads, and the audited preview of the ZIP before release."""

import logging
from collections.abc import Iterator
from typing import BinaryIO

from django.db import transaction
from django.db.models import Prefetch

from dsr.audit import Actor, audit_record
from dsr.exports.delivery import DAMAGED, PURGED, Download, DownloadRefused, bundle_open
from dsr.models import AuditAction, Bundle, BundleStatus, DownloadLink, Request
from dsr.storage import storage_sha256

logger = logging.getLogger(__name__)

_PREVIEWABLE = (BundleStatus.REVIEW, BundleStatus.RELEASED)
_READ_SIZE = 256 * 1024


def request_bundles(request: Request) -> list[Bundle]:
    """Return the request's bundles staff should see (not the discarded ones), newest first, with their links."""
    return list(
        request.bundles.exclude(status=BundleStatus.DISCARDED)
        .prefetch_related(Prefetch("links", queryset=DownloadLink.objects.order_by("-created_at", "-id")))
        .order_by("-created_at", "-id")
    )


def bundle_preview(*, bundle: Bundle, actor: Actor) -> Download:
    """Open the bundle's ZIP for a staff member to check; audited; raise DownloadRefused if it cannot be had.

    The same checksum as the person's download is checked first, so staff never
    approve a file other than the one that was built.
    """
    with transaction.atomic():
        bundle = Bundle.objects.select_for_update().select_related("request").get(pk=bundle.pk)
        if bundle.status not in _PREVIEWABLE or not bundle.storage_name:
            raise DownloadRefused(PURGED)
        try:
            digest, size = storage_sha256(bundle.storage_name)
        except FileNotFoundError:
            digest, size = "", 0
        intact = digest == bundle.sha256 and size == bundle.size
        # Recorded either way: a damaged file is evidence too, and the refusal below must not roll it back.
        action = AuditAction.BUNDLE_PREVIEWED if intact else AuditAction.BUNDLE_DAMAGED
        audit_record(
            actor=actor if intact else Actor.system(), action=action, request=bundle.request, data={"bundle": bundle.pk}
        )
    if not intact:
        logger.error("bundle %s does not match its recorded checksum; preview refused", bundle.pk)
        raise DownloadRefused(DAMAGED)
    return Download(
        chunks=_read_all(bundle_open(bundle)), size=bundle.plain_size, filename=f"{bundle.request.reference}.zip"
    )


def _read_all(reader: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := reader.read(_READ_SIZE):
            yield chunk
    finally:
        reader.close()

"""Whether a stored bundle is still the file that was sealed, checked before anyone downloads it, and its reading."""

import logging
from collections.abc import Iterator

from dsr.audit import Actor, audit_record
from dsr.models import AuditAction, Bundle
from dsr.storage import bundle_storage, storage_sha256
from dsr.storage.sealing import SealedReader, SealError

logger = logging.getLogger(__name__)


def bundle_damaged_recorded(bundle: Bundle) -> bool:
    """Return whether the stored file no longer matches the bundle's checksum and size; if so, audit it.

    Called inside the caller's transaction, which refuses the download after it commits: raising inside the
    block would roll the evidence back.
    """
    try:
        digest, size = storage_sha256(bundle.storage_name)
    except FileNotFoundError:
        digest, size = "", 0
    damaged = digest != bundle.sha256 or size != bundle.size
    if damaged:
        audit_record(
            actor=Actor.system(), action=AuditAction.BUNDLE_DAMAGED, request=bundle.request, data={"bundle": bundle.pk}
        )
    return damaged


def bundle_plaintext(bundle: Bundle) -> Iterator[bytes]:
    """Yield the bundle's ZIP as a downloader receives it: decrypted, each chunk authenticated."""
    with SealedReader(bundle_storage().open(bundle.storage_name, "rb"), size=bundle.size) as reader:
        try:
            yield from reader.chunks()
        except SealError:
            # Changed between the check and the read: stop; the downloader gets a cut file, never a wrong one.
            logger.error("bundle %s failed authentication while being sent", bundle.pk)
            raise

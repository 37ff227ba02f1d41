"""Whether a stored bundle is still the file that was sealed for its request, checked before any download."""

import json
import logging
import zipfile
from collections.abc import Iterator

from dsr.audit import Actor, audit_record
from dsr.models import AuditAction, Bundle
from dsr.storage import bundle_storage, storage_sha256
from dsr.storage.sealing import SealedReader, SealError, sealed_open

logger = logging.getLogger(__name__)


def bundle_manifest_reference(bundle: Bundle) -> str | None:
    """Return the request reference the ZIP's own manifest names (its root folder too), or None if unreadable.

    The checksum recorded on the row proves the file is the one the row points at, not that it was built
    for this request: someone who swaps another bundle's file and row fools the checksum, not the manifest.
    """
    try:
        with (
            sealed_open(bundle_storage().open(bundle.storage_name, "rb"), size=bundle.size) as plain,
            zipfile.ZipFile(plain) as archive,
        ):
            names = archive.namelist()
            root = names[0].split("/", 1)[0] if names else ""
            manifest = json.loads(archive.read(f"{root}/manifest.json"))
    except (OSError, SealError, zipfile.BadZipFile, KeyError, ValueError):
        return None
    reference = manifest.get("reference") if isinstance(manifest, dict) else None
    return reference if isinstance(reference, str) and reference == root else None


def bundle_damaged_recorded(bundle: Bundle) -> bool:
    """Return whether the stored file no longer matches the bundle's checksum and size or names another
    request in its manifest; if so, audit it.

    Called inside the caller's transaction, which refuses the download after it commits: raising inside the
    block would roll the evidence back.
    """
    try:
        digest, size = storage_sha256(bundle.storage_name)
    except FileNotFoundError:
        digest, size = "", 0
    problem = ""
    if digest != bundle.sha256 or size != bundle.size:
        problem = "checksum"
    elif bundle_manifest_reference(bundle) != bundle.request.reference:
        # Another request's bundle (or none readable): one person must never receive another's ZIP.
        problem = "other_request"
        logger.error("bundle %s does not name its request %s in its manifest", bundle.pk, bundle.request_id)
    if problem:
        audit_record(
            actor=Actor.system(),
            action=AuditAction.BUNDLE_DAMAGED,
            request=bundle.request,
            data={"bundle": bundle.pk, "problem": problem},
        )
    return bool(problem)


def bundle_plaintext(bundle: Bundle) -> Iterator[bytes]:
    """Yield the bundle's ZIP as a downloader receives it: decrypted, each chunk authenticated."""
    with SealedReader(bundle_storage().open(bundle.storage_name, "rb"), size=bundle.size) as reader:
        try:
            yield from reader.chunks()
        except SealError:
            # Changed between the check and the read: stop; the downloader gets a cut file, never a wrong one.
            logger.error("bundle %s failed authentication while being sent", bundle.pk)
            raise

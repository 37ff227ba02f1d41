"""Whether a stored bundle is still the file that was sealed, checked before anyone downloads it."""

from dsr.audit import Actor, audit_record
from dsr.models import AuditAction, Bundle
from dsr.storage import storage_sha256


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

"""Check stored bundles end to end: the sealed file's checksum, every chunk, the ZIP, its manifest and its request."""

import hashlib
import json
import zipfile
from dataclasses import dataclass, field

from dsr.exports.delivery import bundle_open
from dsr.models import Bundle, BundleStatus
from dsr.storage import storage_sha256
from dsr.storage.sealing import SealError


@dataclass
class BundleCheck:
    bundle: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def bundle_verify(bundle: Bundle) -> BundleCheck:
    """Return what is wrong with a stored bundle (nothing, for an intact one); never the person's data."""
    check = BundleCheck(bundle=bundle.pk)
    try:
        digest, size = storage_sha256(bundle.storage_name)
    except FileNotFoundError:
        check.problems.append("the stored file is missing")
        return check
    if (digest, size) != (bundle.sha256, bundle.size):
        check.problems.append("the stored file does not match the checksum recorded when it was built")
        return check
    try:
        with bundle_open(bundle) as plain, zipfile.ZipFile(plain) as archive:
            names = archive.namelist()
            root = names[0].split("/", 1)[0] if names else ""
            manifest = json.loads(archive.read(f"{root}/manifest.json"))
            reference = bundle.request.reference
            if manifest.get("reference") != reference or root != reference:
                # A swapped file and row pass the checksum; only the manifest says whose bundle it is.
                check.problems.append(f"the ZIP was built for another request, not {reference}")
            listed = {entry["path"]: entry for entry in manifest["files"]}
            present = {name.split("/", 1)[1] for name in names} - {"manifest.json"}
            for path in sorted(present ^ set(listed)):
                where = (
                    "in the ZIP but not in the manifest" if path in present else "in the manifest but not in the ZIP"
                )
                check.problems.append(f"{path} is {where}")
            for path in sorted(present & set(listed)):
                digest = hashlib.sha256()
                with archive.open(f"{root}/{path}") as member:
                    while chunk := member.read(1024 * 1024):
                        digest.update(chunk)
                if digest.hexdigest() != listed[path]["sha256"]:
                    check.problems.append(f"{path} does not match its SHA-256 in the manifest")
            if manifest["files"] != bundle.manifest:
                check.problems.append("the manifest in the ZIP differs from the one recorded when it was built")
    except SealError as exc:
        check.problems.append(f"the sealed file does not open: {exc}")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        check.problems.append(f"the ZIP is not readable: {type(exc).__name__}")
    return check


def bundles_verify() -> list[BundleCheck]:
    """Check every bundle that is stored now (in review or released, not yet purged)."""
    stored = Bundle.objects.filter(status__in=(BundleStatus.REVIEW, BundleStatus.RELEASED), purged_at__isnull=True)
    return [bundle_verify(bundle) for bundle in stored.order_by("pk")]

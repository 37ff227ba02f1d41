"""Where bundles, their staged parts and uploads live: Django's storage API, local by default, S3 by setting.

Files are sealed at rest (dsr.storage.sealing: chunked AES-256-GCM).
"""

import hashlib
import tempfile
import uuid
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import Storage, storages

from dsr.storage.sealing import SealedWriter, sealed_open

STAGING_PREFIX = "staging"
BUNDLE_PREFIX = "bundles"


def bundle_storage() -> Storage:
    """Return the storage of STORAGES["bundles"] (DSR_BUNDLE_STORAGE: local or s3)."""
    return storages["bundles"]


def storage_name_new(prefix: str, *parts: str | int) -> str:
    """Return a new, unguessable name under ``prefix``; never derived from the person's data."""
    return "/".join([prefix, *(str(part) for part in parts), uuid.uuid4().hex])


# A part of a stored file, named "<file>#<offset>:<size>" (a source's staged tables share one file).
SEGMENT = "#"


def segment_file(name: str) -> str:
    """Return the stored file a name is in: itself, or for a segment's name the file the segment is part of."""
    return name.partition(SEGMENT)[0]


def storage_save(name: str, content: BinaryIO) -> str:
    """Store ``content`` (a seekable file at any position) under exactly ``name``; return the name."""
    content.seek(0)
    stored = bundle_storage().save(name, File(content, name=name.rsplit("/", 1)[-1]))
    if stored != name:
        # New names are random, so a clash means something else wrote there: keep nothing ambiguous.
        bundle_storage().delete(stored)
        raise FileExistsError(f"bundle storage already holds {name}")
    return stored


def storage_delete(name: str) -> bool:
    """Delete ``name`` if it exists; return whether something was deleted."""
    storage = bundle_storage()
    if name and storage.exists(name):
        storage.delete(name)
        return True
    return False


def storage_sha256(name: str) -> tuple[str, int]:
    """Return the SHA-256 and the size of the stored file ``name``, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with bundle_storage().open(name, "rb") as stored:
        while chunk := stored.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class SealedStorage(Storage):
    """Files kept sealed in the bundle storage: sealed on save, opened through authenticated decryption.

    Manual tasks' uploads (e.g. chats exported from another system) use it, so no
    copy of the person's data lies unencrypted in storage.
    """

    def _save(self, name: str, content) -> str:
        with tempfile.TemporaryFile() as sealed:
            writer = SealedWriter(sealed)
            content.seek(0)
            while chunk := content.read(256 * 1024):
                writer.write(chunk)
            writer.close()
            sealed.seek(0)
            return bundle_storage().save(name, File(sealed, name=name.rsplit("/", 1)[-1]))

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode:
            raise ValueError("sealed files are written with save(), not opened for writing")
        storage = bundle_storage()
        return File(sealed_open(storage.open(name, "rb"), size=storage.size(name)), name=name)

    def delete(self, name: str) -> None:
        bundle_storage().delete(name)

    def exists(self, name: str) -> bool:
        return bundle_storage().exists(name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return bundle_storage().get_available_name(name, max_length=max_length)

    def size(self, name: str) -> int:
        storage = bundle_storage()
        with sealed_open(storage.open(name, "rb"), size=storage.size(name)) as plain:
            return plain.raw.plain_size

    def url(self, name: str) -> str:
        raise NotImplementedError("sealed files have no public URL; they are read through dsr")


def sealed_storage() -> SealedStorage:
    """Return the storage of manual tasks' uploads (a callable, so migrations do not freeze a settings value)."""
    return SealedStorage()

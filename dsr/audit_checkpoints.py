"""Signed checkpoints of the audit chain's head, kept where the database's operator cannot rewrite them.

The hash chain (dsr.audit) proves order, not integrity against whoever runs
the database: they can edit an event and recompute every later hash and the
head. A checkpoint is the head (sequence number and hash) at a moment, signed
with an Ed25519 key that is not in the database (DSR_AUDIT_SIGNING_KEY) and
written once, read-only, as a file of its own in DSR_AUDIT_CHECKPOINT_DIR
(in production a directory the database's operator cannot write: another
host's mount, or a bucket with object lock synced from it). A rewritten chain
no longer has the hash a checkpoint signed: ``audit_checkpoints_verify``
names the first event after the last checkpoint that still holds. Events after
the newest checkpoint are protected by the chain alone until the next one.
See docs/security.md.
"""

import base64
import binascii
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from dsr.audit import ChainProblem
from dsr.models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)

FORMAT = "dsr-audit-checkpoint/1"
_DEMO_KEY_NAME = "audit-signing-key.pem"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key: str
    path: Path


def _key_load(value: str, *, name: str) -> Ed25519PrivateKey:
    text = value if value.lstrip().startswith("-----BEGIN") else None
    if text is None:
        path = Path(value)
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImproperlyConfigured(f"{name}: cannot read the key file {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(f"{name} is not an unencrypted PEM private key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{name} must be an Ed25519 key (openssl genpkey -algorithm ed25519).")
    return key


def _demo_key() -> Ed25519PrivateKey:
    """Return the local development key under VAR_DIR, made on first use (never in production: DEBUG only)."""
    path = Path(settings.VAR_DIR) / _DEMO_KEY_NAME
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(descriptor, "wb") as out:
                out.write(pem)
    return _key_load(str(path), name=str(path))


def signing_key() -> Ed25519PrivateKey | None:
    """Return the checkpoint signing key: DSR_AUDIT_SIGNING_KEY, a development key when DEBUG, else None."""
    if settings.DSR_AUDIT_SIGNING_KEY:
        return _key_load(settings.DSR_AUDIT_SIGNING_KEY, name="DSR_AUDIT_SIGNING_KEY")
    return _demo_key() if settings.DEBUG else None


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """Return a short id of a public key (the first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(_public_raw(key)).hexdigest()[:16]


def verify_keys() -> dict[str, Ed25519PublicKey]:
    """Return the public keys checkpoints may be signed with, by key id: the signing key's and older ones."""
    keys = {}
    for value in settings.DSR_AUDIT_VERIFY_KEYS:
        try:
            raw = base64.b64decode(value.strip(), validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                "DSR_AUDIT_VERIFY_KEYS holds Ed25519 public keys, each 32 bytes in base64 "
                "(python manage.py dsr_audit_checkpoint --public-key prints the current one)."
            ) from None
        keys[key_id(public)] = public
    private = signing_key()
    if private is not None:
        keys[key_id(private.public_key())] = private.public_key()
    return keys


def public_key_text(key: Ed25519PrivateKey) -> str:
    """Return the public half of ``key`` as DSR_AUDIT_VERIFY_KEYS takes it (base64 of 32 bytes)."""
    return base64.b64encode(_public_raw(key.public_key())).decode()


def checkpoint_dir() -> Path:
    return Path(settings.DSR_AUDIT_CHECKPOINT_DIR or Path(settings.VAR_DIR) / "audit-checkpoints")


def _signed_bytes(*, seq: int, hash: str, at: str, key: str) -> bytes:
    return f"{FORMAT}\n{seq}\n{hash}\n{at}\n{key}".encode("ascii")


def _checkpoint_path(seq: int) -> Path:
    return checkpoint_dir() / f"checkpoint-{seq:012d}.json"


def audit_checkpoint_write(*, now: datetime | None = None) -> Checkpoint | None:
    """Sign the chain head and write it as a new read-only file; return it, or None if the head has not moved.

    Raise ImproperlyConfigured when there is no signing key.
    """
    key = signing_key()
    if key is None:
        raise ImproperlyConfigured("No DSR_AUDIT_SIGNING_KEY: audit checkpoints cannot be signed.")
    head = AuditChainHead.objects.filter(id=1).first()
    if head is None or head.last_seq == 0:
        return None
    path = _checkpoint_path(head.last_seq)
    if path.exists():
        return None
    at = (now or timezone.now()).isoformat()
    kid = key_id(key.public_key())
    signature = key.sign(_signed_bytes(seq=head.last_seq, hash=head.last_hash, at=at, key=kid))
    document = {
        "format": FORMAT,
        "seq": head.last_seq,
        "hash": head.last_hash,
        "at": at,
        "key": kid,
        "signature": base64.b64encode(signature).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Written once: an existing checkpoint is never replaced, even by this code.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except FileExistsError:
        return None
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        json.dump(document, out, sort_keys=True)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    logger.info("audit checkpoint written at event %s", head.last_seq)
    return Checkpoint(seq=head.last_seq, hash=head.last_hash, at=at, key=kid, path=path)


def _checkpoint_read(path: Path, keys: dict[str, Ed25519PublicKey]) -> Checkpoint:
    """Return the checkpoint in ``path`` if its signature holds; raise ValueError saying why not."""
    try:
        document = json.loads(path.read_text(encoding="ascii"))
        seq, hash_, at, kid = document["seq"], document["hash"], document["at"], document["key"]
        signature = base64.b64decode(document["signature"], validate=True)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
        raise ValueError("is not a readable checkpoint") from None
    if document.get("format") != FORMAT or not isinstance(seq, int) or not all(isinstance(v, str) for v in (hash_, at)):
        raise ValueError("is not a readable checkpoint")
    public = keys.get(kid) if isinstance(kid, str) else None
    if public is None:
        raise ValueError("is signed with a key that is not the audit key nor in DSR_AUDIT_VERIFY_KEYS")
    try:
        public.verify(signature, _signed_bytes(seq=seq, hash=hash_, at=at, key=kid))
    except InvalidSignature:
        raise ValueError("does not carry a valid signature by the audit key") from None
    return Checkpoint(seq=seq, hash=hash_, at=at, key=kid, path=path)


def audit_checkpoints_verify() -> tuple[list[Checkpoint], ChainProblem | None]:
    """Check the chain against every checkpoint; return those checked and the first problem, or None.

    The problem names the first event after the last checkpoint that still holds: from there on the
    chain was rewritten (or cut).
    """
    keys = verify_keys()
    paths = sorted(checkpoint_dir().glob("checkpoint-*.json"))
    good: list[Checkpoint] = []
    for path in paths:
        last_good = good[-1].seq if good else 0
        try:
            checkpoint = _checkpoint_read(path, keys)
        except ValueError as exc:
            return good, ChainProblem(last_good + 1, f"the checkpoint {path.name} {exc}")
        event = AuditEvent.objects.filter(seq=checkpoint.seq).only("hash").first()
        if event is None:
            return good, ChainProblem(
                last_good + 1,
                f"event #{checkpoint.seq}, signed in the checkpoint of {checkpoint.at}, is missing: "
                f"the chain was cut after event #{last_good}",
            )
        if event.hash != checkpoint.hash:
            return good, ChainProblem(
                last_good + 1,
                f"the chain was rewritten: event #{checkpoint.seq} no longer has the hash signed in the checkpoint "
                f"of {checkpoint.at}; event #{last_good + 1} is the first after the last checkpoint that holds",
            )
        good.append(checkpoint)
    return good, None

"""The suppression list: keyed HMACs of identifiers that marketing imports must skip.

After an erasure (GDPR Art. 17) or an objection to direct marketing (Art. 21(3))
the person must not come back through the next list import. Keeping the plain
address would keep the data the person asked us to erase, so only a keyed HMAC
of the normalised identifier is stored: an import hashes each address it is
about to add and asks `suppression_check`.
"""

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction

from dsr.models import Request, Suppression
from dsr.sources.resolution import identifier_normalise

# Only identifiers that name the person outside this controller's systems are suppressed.
SUPPRESSED_KINDS = ("email", "phone")


class SuppressionReason:
    ERASURE = "erasure"
    OBJECTION = "objection_direct_marketing"


def _key() -> bytes:
    secret = settings.DSR_SUPPRESSION_KEY or settings.SECRET_KEY
    return hmac.new(secret.encode(), b"dsr.suppression", hashlib.sha256).digest()


def identifier_digest(kind: str, value: str) -> str | None:
    """Return the keyed HMAC of a normalised identifier, or None if ``value`` is not usable as ``kind``."""
    normal = identifier_normalise(kind, value)
    if normal is None:
        return None
    return hmac.new(_key(), f"{kind}\x1f{normal}".encode(), hashlib.sha256).hexdigest()


def identifier_kind_guess(value: str) -> str:
    """Return "email" for anything with an @, else "phone"."""
    return "email" if "@" in value else "phone"


def identifiers_digests(identifiers: dict[str, Iterable[str]]) -> list[tuple[str, str]]:
    """Return (kind, digest) for every suppressible identifier in ``identifiers``."""
    found = []
    for kind in SUPPRESSED_KINDS:
        for value in sorted(identifiers.get(kind, ())):
            digest = identifier_digest(kind, value)
            if digest is not None:
                found.append((kind, digest))
    return found


def suppression_add(*, request: Request, identifiers: dict[str, Iterable[str]], reason: str) -> int:
    """Record the person's identifiers as suppressed; return how many were new. Running it twice adds nothing."""
    added = 0
    for kind, digest in identifiers_digests(identifiers):
        if Suppression.objects.filter(digest=digest).exists():
            continue
        try:
            with transaction.atomic():
                Suppression.objects.create(digest=digest, kind=kind, reason=reason, request=request)
        except IntegrityError:
            continue  # another worker added the same identifier meanwhile
        added += 1
    return added


def suppression_check(identifier: str, *, kind: str | None = None) -> bool:
    """Return whether ``identifier`` (an email or phone number, in any spelling) is suppressed."""
    digest = identifier_digest(kind or identifier_kind_guess(identifier), identifier)
    return digest is not None and Suppression.objects.filter(digest=digest).exists()

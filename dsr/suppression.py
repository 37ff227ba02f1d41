"""The suppression list: keyed HMACs of identifiers that marketing imports must skip.

After an erasure (GDPR Art. 17) or an objection to direct marketing (Art. 21(3))
the person must not come back through the next list import. Keeping the plain
address would keep the data the person asked us to erase, so only a keyed HMAC
of the normalised identifier is stored: an import hashes each address it is
about to add and asks `suppression_check`.
"""

import functools
import hashlib
import hmac
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from dsr.keys import SUPPRESSION, keys_for
from dsr.models import Request, Suppression
from dsr.sources.resolution import identifier_normalise

# Only identifiers that name the person outside this controller's systems are suppressed.
SUPPRESSED_KINDS = ("email", "phone")


class SuppressionReason:
    ERASURE = "erasure"
    OBJECTION = "objection_direct_marketing"


@functools.lru_cache(maxsize=16)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"dsr.suppression", hashlib.sha256).digest()


def identifier_digests(kind: str, value: str, *, keys: str = SUPPRESSION) -> list[str]:
    """Return the identifier's keyed HMAC under each key of the list ``keys``, newest first ([] if unusable)."""
    normal = identifier_normalise(kind, value)
    if normal is None:
        return []
    message = f"{kind}\x1f{normal}".encode()
    return [hmac.new(_key(secret), message, hashlib.sha256).hexdigest() for secret in keys_for(keys)]


def identifier_digest(kind: str, value: str, *, keys: str = SUPPRESSION) -> str | None:
    """Return the keyed HMAC of a normalised identifier under the newest key, or None if it is not usable."""
    digests = identifier_digests(kind, value, keys=keys)
    return digests[0] if digests else None


def identifier_kind_guess(value: str) -> str:
    """Return "email" for anything with an @, else "phone"."""
    return "email" if "@" in value else "phone"


def identifiers_digests(
    identifiers: dict[str, Iterable[str]], *, keys: str = SUPPRESSION
) -> list[tuple[str, list[str]]]:
    """Return (kind, digests under every key, newest first) for every suppressible identifier in ``identifiers``."""
    found = []
    for kind in SUPPRESSED_KINDS:
        for value in sorted(identifiers.get(kind, ())):
            digests = identifier_digests(kind, value, keys=keys)
            if digests:
                found.append((kind, digests))
    return found


def suppression_add(*, request: Request, identifiers: dict[str, Iterable[str]], reason: str) -> int:
    """Record the person's identifiers as suppressed; return how many were new. Running it twice adds nothing."""
    added = 0
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    for kind, digests in identifiers_digests(identifiers):
        # One statement each, with no savepoint around it (an erasure's last step adds them in its transaction).
        # Recorded under an older key is recorded: the entry stays as it is. Added by another worker meanwhile:
        # the conflict adds nothing.
        with connection.cursor() as cursor:
            cursor.execute(_add_statement(len(digests)), [digests[0], kind, reason, request.pk, now, *digests])
            added += cursor.rowcount
    return added


@functools.lru_cache(maxsize=8)
def _add_statement(digests: int) -> str:
    table = connection.ops.quote_name(Suppression._meta.db_table)
    return (
        f"INSERT INTO {table} (digest, kind, reason, request_id, created_at) "  # noqa: S608 (a table name)
        f"SELECT %s, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE digest IN "
        f"({', '.join(['%s'] * digests)})) ON CONFLICT DO NOTHING"
    )


def suppression_check(identifier: str, *, kind: str | None = None) -> bool:
    """Return whether ``identifier`` (an email or phone number, in any spelling) is suppressed."""
    digests = identifier_digests(kind or identifier_kind_guess(identifier), identifier)
    return bool(digests) and Suppression.objects.filter(digest__in=digests).exists()

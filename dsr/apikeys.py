"""API keys for integrations: created with their secret shown once, stored hashed, checked in constant time.

A token reads `dsr_<prefix>_<secret>`: the prefix (8 hex digits) finds the row
and names the integration in lists and in the audit trail; the secret (256
random bits) is stored only as its SHA-256. A plain hash is enough because the
secret is high-entropy: there is nothing to guess that a slow hash would
protect. See docs/decisions/0009-api-keys.md.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr.audit import Actor, audit_record
from dsr.models import ApiKey, ApiScope, AuditAction
from dsr.requests import RequestInvalid

TOKEN_PREFIX = "dsr"  # noqa: S105  (the fixed start of every token, not a secret)
# last_used_at is written at most this often per key, so busy integrations do not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    token: str  # the only time the full token exists outside the caller's hands


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_actor(key: ApiKey) -> Actor:
    """Return the audit actor for an integration using `key`: its prefix, never a person."""
    return Actor.integration(f"apikey:{key.prefix}")


def scopes_clean(scopes) -> list[str]:
    """Return the scopes de-duplicated in a stable order, or raise RequestInvalid naming the unknown ones."""
    if not isinstance(scopes, list | tuple) or not scopes:
        raise RequestInvalid({"scopes": [_("Give at least one scope.")]})
    unknown = sorted({str(scope) for scope in scopes} - set(ApiScope.values))
    if unknown:
        raise RequestInvalid(
            {
                "scopes": [
                    _("Unknown scopes: %(unknown)s. Choose from %(known)s.")
                    % {"unknown": ", ".join(unknown), "known": ", ".join(ApiScope.values)}
                ]
            }
        )
    return [scope for scope in ApiScope.values if scope in scopes]


def apikey_create(*, name: str, scopes, actor: Actor, created_by=None) -> CreatedKey:
    """Create a key and return it with its token; only the hash of the secret is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise RequestInvalid({"name": [_("Name the integration in 1 to 100 characters.")]})
    scopes = scopes_clean(scopes)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        for _attempt in range(5):
            prefix = secrets.token_hex(4)
            if not ApiKey.objects.filter(prefix=prefix).exists():
                break
        key = ApiKey.objects.create(
            name=name, prefix=prefix, secret_hash=_secret_hash(secret), scopes=scopes, created_by=created_by
        )
        audit_record(actor=actor, action=AuditAction.APIKEY_CREATED, data={"apikey": key.prefix, "scopes": scopes})
    return CreatedKey(key=key, token=f"{TOKEN_PREFIX}_{prefix}_{secret}")


def apikey_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Revoke a key for good; the next call made with it is refused."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            return key
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action=AuditAction.APIKEY_REVOKED, data={"apikey": key.prefix})
    return key


def apikey_authenticate(token: str, *, now: datetime | None = None) -> ApiKey | None:
    """Return the active key the token belongs to, or None; the secret is compared in constant time."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    key = ApiKey.objects.filter(prefix=parts[1]).first()
    # Hash even when no key matched, so the answer takes as long for an unknown prefix.
    presented = _secret_hash(parts[2])
    if key is None or not hmac.compare_digest(key.secret_hash.encode(), presented.encode()):
        return None
    if key.revoked_at is not None:
        return None
    now = now or timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key

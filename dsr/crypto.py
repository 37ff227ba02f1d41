"""Small authenticated encryption for secrets that must wait in the database (Fernet, keys DSR_MESSAGE_KEYS).

Sealed with the newest key; every key in the list still opens (dsr.keys).
"""

import base64
import functools
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from dsr.keys import MESSAGE, keys_for

__all__ = ["InvalidToken", "seal", "unseal"]


def _fernet(purpose: str) -> MultiFernet:
    return _fernet_of(purpose, tuple(keys_for(MESSAGE)))


@functools.lru_cache(maxsize=32)
def _fernet_of(purpose: str, secrets: tuple[str, ...]) -> MultiFernet:
    """Return the Fernets of ``secrets`` for ``purpose``, made once per key list (a new list makes new ones)."""
    fernets = []
    for secret in secrets:
        digest = hashlib.sha256(f"dsr:{purpose}:{secret}".encode()).digest()
        fernets.append(Fernet(base64.urlsafe_b64encode(digest)))
    return MultiFernet(fernets)


def seal(value: dict, *, purpose: str) -> str:
    """Return `value` as JSON encrypted and authenticated for `purpose`."""
    return _fernet(purpose).encrypt(json.dumps(value).encode()).decode()


def unseal(token: str, *, purpose: str) -> dict:
    """Return the dict sealed for `purpose`; raise InvalidToken if it was altered or sealed for another purpose."""
    return json.loads(_fernet(purpose).decrypt(token.encode()))

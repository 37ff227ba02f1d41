"""Small authenticated encryption for secrets that must wait in the database (Fernet, key from SECRET_KEY)."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["InvalidToken", "seal", "unseal"]


def _fernet(purpose: str) -> Fernet:
    digest = hashlib.sha256(f"dsr:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(value: dict, *, purpose: str) -> str:
    """Return `value` as JSON encrypted and authenticated for `purpose`."""
    return _fernet(purpose).encrypt(json.dumps(value).encode()).decode()


def unseal(token: str, *, purpose: str) -> dict:
    """Return the dict sealed for `purpose`; raise InvalidToken if it was altered or sealed for another purpose."""
    return json.loads(_fernet(purpose).decrypt(token.encode()))

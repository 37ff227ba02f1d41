"""The keys of what dsr keeps keyed or sealed, each its own list: the newest writes, every one still verifies.

The suppression list and the restriction register keep HMACs of identifiers;
queued emails, webhook signing secrets and receivers' link tokens wait sealed
(dsr.crypto). Keyed from SECRET_KEY, rotating it would silently empty both
registers and make every sealed value unreadable. Each has a key list of its
own (newest first), so a key is rotated by putting the new one in front; while
a list is empty the value falls back to SECRET_KEY and a system check warns
(dsr.W401). An entry is a secret string used exactly as SECRET_KEY was, so
moving off the fallback loses nothing: set the list to the current SECRET_KEY,
then change SECRET_KEY.
"""

from django.conf import settings

SUPPRESSION, RESTRICTION, MESSAGE = "DSR_SUPPRESSION_KEYS", "DSR_RESTRICTION_KEYS", "DSR_MESSAGE_KEYS"


def _listed(name: str) -> list[str]:
    return [value for value in getattr(settings, name, []) if value]


def _suppression_own() -> list[str]:
    # DSR_SUPPRESSION_KEY (one key, before the lists) keeps working as the only entry.
    return _listed(SUPPRESSION) or ([settings.DSR_SUPPRESSION_KEY] if settings.DSR_SUPPRESSION_KEY else [])


def _restriction_own() -> list[str]:
    # The register was keyed with the suppression key before it had its own: that key still finds its entries.
    return _listed(RESTRICTION) or _suppression_own()


_OWN = {SUPPRESSION: _suppression_own, RESTRICTION: _restriction_own, MESSAGE: lambda: _listed(MESSAGE)}


def keys_for(name: str) -> list[str]:
    """Return the key list named ``name`` (newest first), or [SECRET_KEY] while it has none of its own."""
    return _OWN[name]() or [settings.SECRET_KEY]


def keys_on_secret_key() -> list[str]:
    """Return the names of the key lists that fall back to SECRET_KEY."""
    return [name for name, own in _OWN.items() if not own()]

"""Jurisdiction profiles: the deadline, authority, rights and wording of the law a request is answered under.

One module per law (gdpr.py for the five GDPR countries, uk.py, ccpa.py, lgpd.py), each citing its
text; registry.py names them. See docs/jurisdictions.md.
"""

from dsr.jurisdictions.base import Authority, ExtensionNotAllowed, Profile, Wording
from dsr.jurisdictions.registry import (
    PROFILES,
    UnknownJurisdiction,
    authority_for,
    jurisdiction_context,
    profile_choices,
    profile_code_for_country,
    profile_default,
    profile_default_code,
    profile_get,
)

__all__ = [
    "PROFILES",
    "Authority",
    "ExtensionNotAllowed",
    "Profile",
    "UnknownJurisdiction",
    "Wording",
    "authority_for",
    "jurisdiction_context",
    "profile_choices",
    "profile_code_for_country",
    "profile_default",
    "profile_default_code",
    "profile_get",
]

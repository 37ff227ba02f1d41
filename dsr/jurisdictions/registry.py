"""The jurisdiction profiles dsr ships, by code, and the deployment's own."""

from django.conf import settings

from dsr.jurisdictions.base import Profile
from dsr.jurisdictions.ccpa import CALIFORNIA
from dsr.jurisdictions.gdpr import DENMARK, FINLAND, GERMANY, NORWAY, SWEDEN
from dsr.jurisdictions.lgpd import BRAZIL
from dsr.jurisdictions.uk import UNITED_KINGDOM

PROFILES: dict[str, Profile] = {
    p.code: p for p in (DENMARK, SWEDEN, NORWAY, FINLAND, GERMANY, UNITED_KINGDOM, CALIFORNIA, BRAZIL)
}

# DSR_COUNTRY (ISO 3166-1 alpha-2) -> the profile of a deployment in that country.
_BY_COUNTRY = {"DK": "dk", "SE": "se", "NO": "no", "FI": "fi", "DE": "de", "GB": "uk", "UK": "uk", "BR": "br"}


class UnknownJurisdiction(LookupError):
    """No profile has this code."""


def profile_get(code: str) -> Profile:
    """Return the profile ``code``; raise UnknownJurisdiction if there is none."""
    try:
        return PROFILES[code]
    except KeyError:
        raise UnknownJurisdiction(code) from None


def profile_code_for_country(country: str) -> str | None:
    """Return the code of the profile for a deployment in ``country`` (DSR_COUNTRY), or None."""
    return _BY_COUNTRY.get(country.upper())


def profile_default_code() -> str:
    """Return the code of the deployment's own profile: DSR_COUNTRY's, else Denmark's."""
    return profile_code_for_country(settings.DSR_COUNTRY) or "dk"


def profile_default() -> Profile:
    """Return the deployment's own profile (DSR_COUNTRY's)."""
    return PROFILES[profile_default_code()]


def authority_for(code: str, *, configured: dict | None) -> dict:
    """Return the supervisory authority a letter under profile ``code`` names.

    The deployment's own profile names the authority the data map configures (``configured``), if any;
    every other profile names its own (the authority of the person's country, GDPR Art. 77(1)).
    """
    if code == profile_default_code() and configured:
        return dict(configured)
    return profile_get(code).authority.as_dict()


def jurisdiction_context(code: str, language: str) -> dict:
    """Return what templates read about the law of a request: ``jurisdiction`` (the profile) and ``law`` (wording)."""
    profile = profile_get(code)
    return {"jurisdiction": profile, "law": profile.wording_in(language)}


def profile_choices() -> list[tuple[str, str]]:
    """Return (code, name) of every profile, for model and form choices."""
    return [(p.code, p.name) for p in PROFILES.values()]

"""System checks with stable ids; they fail loudly at start-up."""

import holidays
from django.conf import settings
from django.core.checks import Error, Tags, register

from dsr.ratelimit import rate_parse, trusted_proxies_parse


@register()
def check_country(app_configs, **kwargs) -> list[Error]:
    """dsr.E002: DSR_COUNTRY must be a country the holidays package knows."""
    if settings.DSR_COUNTRY.upper() not in holidays.list_supported_countries():
        return [
            Error(
                f"DSR_COUNTRY={settings.DSR_COUNTRY!r} is not a country with a public-holiday calendar.",
                hint="Use an ISO 3166-1 alpha-2 code such as DK, SE, DE or GB.",
                id="dsr.E002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs) -> list[Error]:
    """dsr.E001: production must not run on the built-in development key."""
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the built-in development key.",
                hint="Set SECRET_KEY in the environment to a long random value.",
                id="dsr.E001",
            )
        ]
    return []


@register()
def check_public_edge(app_configs, **kwargs) -> list[Error]:
    """dsr.E020: the trusted proxies and the public rate limits must be readable."""
    errors = []
    try:
        trusted_proxies_parse(settings.DSR_TRUSTED_PROXIES)
    except ValueError as exc:
        errors.append(Error(str(exc), id="dsr.E020"))
    for name in (
        "DSR_INTAKE_RATE_PER_IP",
        "DSR_INTAKE_RATE_PER_EMAIL",
        "DSR_INTAKE_RATE_GLOBAL",
        "DSR_VERIFY_RATE_PER_IP",
        "DSR_VERIFY_RATE_PER_REFERENCE",
        "DSR_CODE_FAILURES_PER_EMAIL",
    ):
        try:
            rate_parse(getattr(settings, name))
        except ValueError as exc:
            errors.append(Error(f"{name}: {exc}", id="dsr.E020"))
    return errors

"""System checks with stable ids; they fail loudly at start-up."""

import holidays
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from dsr.jurisdictions import profile_code_for_country


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


@register()
def check_jurisdiction(app_configs, **kwargs) -> list[Warning]:
    """dsr.W002: DSR_COUNTRY without a jurisdiction profile of its own makes Denmark's the default."""
    if profile_code_for_country(settings.DSR_COUNTRY) is None:
        return [
            Warning(
                f"DSR_COUNTRY={settings.DSR_COUNTRY!r} has no jurisdiction profile; requests filed without one "
                "are answered under Denmark's (dk).",
                hint="Send the person's jurisdiction with every request, or see docs/jurisdictions.md.",
                id="dsr.W002",
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

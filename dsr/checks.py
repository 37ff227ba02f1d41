"""System checks with stable ids; they fail loudly at start-up."""

import holidays
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from dsr.audit_checkpoints import verify_keys
from dsr.jurisdictions import profile_code_for_country
from dsr.keys import keys_on_secret_key
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


@register(Tags.security)
def check_keys_own(app_configs, **kwargs) -> list[Warning]:
    """dsr.W401: the registers' and sealed values' keys should not be SECRET_KEY (rotating it would lose them)."""
    names = keys_on_secret_key()
    if not names:
        return []
    return [
        Warning(
            f"{', '.join(names)} not set: keyed from SECRET_KEY, so rotating SECRET_KEY would empty the suppression "
            "list and restriction register and make queued emails and webhook secrets unreadable.",
            hint="Set each to the current SECRET_KEY first (nothing changes), then rotate SECRET_KEY; see "
            "docs/security.md.",
            id="dsr.W401",
        )
    ]


@register(Tags.security)
def check_audit_signing_key(app_configs, **kwargs) -> list[Error | Warning]:
    """dsr.E402: the audit keys must load. dsr.W402: without a signing key no checkpoint anchors the chain."""
    try:
        verify_keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="See docs/security.md.", id="dsr.E402")]
    if settings.DEBUG or settings.DSR_AUDIT_SIGNING_KEY:
        return []
    return [
        Warning(
            "DSR_AUDIT_SIGNING_KEY is not set: no signed checkpoints, so whoever runs the database could rewrite "
            "the audit chain unnoticed.",
            hint="Set it to an Ed25519 private key (openssl genpkey -algorithm ed25519 -out audit.pem) kept off the "
            "database host; see docs/security.md.",
            id="dsr.W402",
        )
    ]


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

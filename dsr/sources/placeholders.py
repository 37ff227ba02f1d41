"""Placeholders in a source's configuration: ${VAR_DIR}, ${BASE_DIR}, ${BASE_URL} and ${env:NAME[:-default]}.

Secrets stay in the environment, not in the version-controlled map; the map names them.
"""

import os
import re

from django.conf import settings

from dsr.sources.base import SourcePermanentError

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_ENV_PLACEHOLDER = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$")


def config_placeholder_errors(value: str) -> list[str]:
    """Return the placeholders in ``value`` that config_expand does not know."""
    errors = []
    for name in _PLACEHOLDER.findall(value):
        if name not in ("VAR_DIR", "BASE_DIR", "BASE_URL") and not _ENV_PLACEHOLDER.match(name):
            known = "${VAR_DIR}, ${BASE_DIR}, ${BASE_URL} or ${env:NAME}"
            errors.append(f"unknown placeholder ${{{name}}}; use {known}")
    return errors


def config_expand(value: str, *, source: str) -> str:
    """Return ``value`` with ${VAR_DIR}, ${BASE_DIR}, ${BASE_URL} and ${env:NAME[:-default]} filled in.

    Secrets stay in the environment, not in the version-controlled map.
    """

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name == "VAR_DIR":
            return str(settings.VAR_DIR)
        if name == "BASE_DIR":
            return str(settings.BASE_DIR)
        if name == "BASE_URL":
            return settings.DSR_BASE_URL
        env = _ENV_PLACEHOLDER.match(name)
        if env is None:
            raise SourcePermanentError(source, f"unknown placeholder ${{{name}}} in the configuration")
        variable, default = env.groups()
        if variable in os.environ:
            return os.environ[variable]
        if default is not None:
            return default
        raise SourcePermanentError(source, f"environment variable {variable} is not set")

    return _PLACEHOLDER.sub(replace, value)

"""What the ad-platform connectors share: their configuration, hashing and the task when no credentials are set.

An ad platform (Meta, Google Ads) holds the person in an audience it built from
hashed identifiers the controller uploaded. It is an independent controller,
not a processor: dsr asks it to drop the same hashes (GDPR Art. 7(3), 17,
21(3)) and reports exactly what it answered, which is counts of identifiers
received, never whether the person was in the audience.
"""

import hashlib
import time
from collections.abc import Callable
from typing import Any

import requests

from dsr.datamap.schema import DataMap, DataMapError, localised
from dsr.models import Operation
from dsr.sources.base import (
    AUDIENCE,
    AUDIENCE_REMOVAL,
    ChangeResult,
    Connector,
    Fact,
    Identifiers,
    SourceError,
)
from dsr.sources.placeholders import config_expand, config_placeholder_errors
from dsr.sources.resolution import identifier_normalise

IDENTIFIER_KINDS = ("email", "phone")
COMMON_KEYS = {"audiences", "identifiers", "owner", "url", "timeout_seconds", "retries", "backoff_seconds"}
AUDIENCE_KEYS = {"id", "name"}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def audience_config_errors(
    config: dict, *, path: str, keys: set[str], secrets: tuple[str, ...], datamap: DataMap
) -> list[DataMapError]:
    """Return the problems of the keys every ad-platform kind shares, and of its ``secrets``, each with its path."""
    allowed = COMMON_KEYS | keys
    errors = [
        DataMapError(f"{path}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
        for key in config
        if key not in allowed
    ]
    for key in secrets:
        value = config.get(key)
        if not isinstance(value, str):
            errors.append(DataMapError(f"{path}.{key}", "is required (a ${env:NAME:-} placeholder keeps it secret)"))
        else:
            errors += [DataMapError(f"{path}.{key}", problem) for problem in config_placeholder_errors(value)]
    audiences = config.get("audiences")
    if not isinstance(audiences, dict) or not audiences:
        errors.append(DataMapError(f"{path}.audiences", "must map audience keys to {id, name}"))
        audiences = {}
    for key, audience in audiences.items():
        where = f"{path}.audiences.{key}"
        if not isinstance(audience, dict):
            errors.append(DataMapError(where, "must be a mapping {id, name}"))
            continue
        errors += [
            DataMapError(f"{where}.{name}", "unknown key; expected id or name")
            for name in audience
            if name not in AUDIENCE_KEYS
        ]
        if not isinstance(audience.get("id"), str) or not audience["id"]:
            errors.append(DataMapError(f"{where}.id", "is required: the platform's audience id, as text"))
        else:
            errors += [DataMapError(f"{where}.id", problem) for problem in config_placeholder_errors(audience["id"])]
        name = audience.get("name")
        if name is not None and not isinstance(name, str | dict):
            errors.append(DataMapError(f"{where}.name", "must be text or {da, en}"))
    kinds = config.get("identifiers", ["email"])
    if not isinstance(kinds, list) or not kinds or any(kind not in IDENTIFIER_KINDS for kind in kinds):
        errors.append(DataMapError(f"{path}.identifiers", f"must list some of {', '.join(IDENTIFIER_KINDS)}"))
    owner = config.get("owner")
    if not isinstance(owner, str) or not owner.strip():
        errors.append(DataMapError(f"{path}.owner", "is required: who removes the person by hand without credentials"))
    url = config.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://", "${"))):
        errors.append(DataMapError(f"{path}.url", "must be an http:// or https:// address"))
    elif isinstance(url, str):
        errors += [DataMapError(f"{path}.url", problem) for problem in config_placeholder_errors(url)]
    for key in ("timeout_seconds", "retries", "backoff_seconds"):
        if key in config and not _number(config[key]):
            errors.append(DataMapError(f"{path}.{key}", "must be a number of 0 or more"))
    return errors


class AudienceConnector(Connector):
    """An ad platform's audiences: the person's hashed identifiers are removed from each, or a person does it."""

    # The removal request itself is what the platform is told (GDPR Art. 19): no separate notice for it.
    informs_recipients = True
    platform = ""  # the platform's name in tasks
    secrets: tuple[str, ...] = ()
    default_url = ""

    def capabilities(self) -> frozenset[str]:
        return frozenset({AUDIENCE_REMOVAL})

    # --- configuration -------------------------------------------------------------

    def _expand(self, value: str) -> str:
        return config_expand(value, source=self.key).strip()

    def credentials_set(self) -> bool:
        """Return whether every credential expands to something (an unset ``${env:X:-}`` means work by hand)."""
        try:
            return all(self._expand(self.config[key]) for key in self.secrets)
        except SourceError:
            return False

    def _url(self) -> str:
        return self._expand(self.config.get("url") or self.default_url).rstrip("/")

    def audiences(self) -> list[dict]:
        """Return the configured audiences: {key, id, name}."""
        return [
            {"key": key, "id": self._expand(audience["id"]), "name": audience.get("name") or key}
            for key, audience in self.config["audiences"].items()
        ]

    # --- identifiers -------------------------------------------------------------------

    def hashed(self, identifiers: Identifiers) -> dict[str, list[str]]:
        """Return the person's identifiers this platform takes, normalised as it documents and SHA-256 hashed."""
        found: dict[str, list[str]] = {}
        for kind in self.config.get("identifiers", ["email"]):
            values = {self.normalise(kind, value) for value in identifiers.get(kind, set())}
            found[kind] = sorted(sha256_hex(value) for value in values if value)
        return found

    def normalise(self, kind: str, value: str) -> str | None:
        """Return ``value`` as the platform wants it before hashing, or None if it cannot take it."""
        return identifier_normalise(kind, value)

    # --- the work --------------------------------------------------------------------------

    def audience_task(self, identifiers: Identifiers) -> dict | None:
        if self.credentials_set():
            return None
        hashed = self.hashed(identifiers)
        lines_da, lines_en = [], []
        for audience in self.audiences():
            name_da, name_en = localised(audience["name"], "da"), localised(audience["name"], "en")
            lines_da.append(f'- målgruppe "{name_da}" (id {audience["id"]})')
            lines_en.append(f'- audience "{name_en}" (id {audience["id"]})')
        values = [f"  {kind} SHA-256: {value}" for kind, hashes in hashed.items() for value in hashes]
        if not values:
            values = ["  -"]
        return {
            "source": self.key,
            "operation": str(Operation.AUDIENCE_REMOVAL),
            "owner": self.config["owner"],
            "instructions": {
                "da": (
                    f"Fjern personen fra disse målgrupper hos {self.platform} (databeskyttelsesforordningens "
                    "artikel 7, stk. 3, artikel 17 og artikel 21, stk. 3):\n"
                    + "\n".join(lines_da)
                    + "\nSlet disse hashede identifikatorer (normaliseret som platformen kræver):\n"
                    + "\n".join(values)
                    + f"\nBekræft, hvad {self.platform} svarede."
                ),
                "en": (
                    f"Remove the person from these {self.platform} audiences (GDPR Art. 7(3), 17, 21(3)):\n"
                    + "\n".join(lines_en)
                    + "\nRemove these hashed identifiers (normalised as the platform requires):\n"
                    + "\n".join(values)
                    + f"\nConfirm what {self.platform} answered."
                ),
            },
        }

    def audience_remove(self, identifiers: Identifiers, *, reference: str = "") -> ChangeResult:
        # GDPR Art. 7(3), 17, 21(3): the platform is asked to drop the hashes; it says what it received.
        hashed = self.hashed(identifiers)
        result = ChangeResult(source=self.key, operation=AUDIENCE_REMOVAL)
        for audience in self.audiences():
            name = localised(audience["name"], "en") or audience["key"]
            if not any(hashed.values()):
                # Nothing identifies the person to this platform: nothing is sent.
                result.facts.append(Fact(table=name, action=AUDIENCE, found=0))
                continue
            accepted, reference_id = self.remove(audience, hashed, reference=reference)
            result.facts.append(
                Fact(
                    table=name,
                    action=AUDIENCE,
                    found=None,
                    changed=accepted,
                    item=audience["key"],
                    categories=["marketing"] if "marketing" in self.datamap.categories else [],
                    confirmed=True,
                    reference=reference_id,
                )
            )
        return result

    def remove(self, audience: dict, hashed: dict[str, list[str]], *, reference: str) -> tuple[int, str]:
        """Ask the platform to remove ``hashed`` from ``audience``; return how many it accepted and its reference."""
        raise NotImplementedError

    # --- transport -------------------------------------------------------------------------

    def send(self, call: Callable[[float], requests.Response], answer: Callable[[requests.Response], Any]) -> Any:
        """Make ``call(timeout)``, retrying what ``answer`` raises as transient with backoff; return its answer."""
        retries = int(self.config.get("retries", 3))
        backoff = float(self.config.get("backoff_seconds", 1))
        timeout = float(self.config.get("timeout_seconds", 30))
        problem: SourceError | None = None
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                response = call(timeout)
            except requests.Timeout:
                problem = self.error(f"{self.platform} did not answer within {timeout:g} seconds", permanent=False)
                continue
            except requests.ConnectionError:
                problem = self.error(f"{self.platform} could not be reached", permanent=False)
                continue
            try:
                return answer(response)
            except SourceError as exc:
                if exc.permanent:
                    raise
                problem = exc
        assert problem is not None
        raise problem

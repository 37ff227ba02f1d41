"""Identity resolution: from the identifiers a person gave, find the others sources hold.

Run before any collection or erasure fan-out, so that every source is asked
with everything known about the person (email -> customer number -> phone).
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dsr.sources.base import Connector, Identifiers, SourceError

logger = logging.getLogger(__name__)

# Danish subscriber numbers have eight digits; numbers without a country code are Danish.
DEFAULT_COUNTRY_CODE = "45"


def identifier_normalise(kind: str, value: str) -> str | None:
    """Return ``value`` in the one form sources are matched on, or None if it is not a usable identifier."""
    value = str(value).strip()
    if not value:
        return None
    if kind == "email":
        return value.lower() if "@" in value else None
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        if value.startswith("00"):
            digits = digits[2:]
        elif not value.startswith("+") and len(digits) == 8:
            digits = DEFAULT_COUNTRY_CODE + digits
        return f"+{digits}" if len(digits) >= 8 else None
    return value


def identifiers_normalise(identifiers: dict[str, Iterable[str]]) -> Identifiers:
    """Return the identifiers normalised, dropping empty and unusable values."""
    clean: Identifiers = {}
    for kind, values in identifiers.items():
        for value in values:
            normal = identifier_normalise(kind, value)
            if normal is not None:
                clean.setdefault(kind, set()).add(normal)
    return clean


def phone_variants(phone: str) -> set[str]:
    """Return the ways a normalised phone number is commonly written, for matching stored text."""
    digits = phone.lstrip("+")
    variants = {phone, digits, f"00{digits}"}
    if digits.startswith(DEFAULT_COUNTRY_CODE) and len(digits) == 10:
        local = digits[2:]
        spaced = " ".join(local[i : i + 2] for i in range(0, 8, 2))
        variants |= {local, spaced, f"+45 {local}", f"+45 {spaced}", f"+45-{local}", f"0045{local}"}
    return variants


@dataclass
class Resolution:
    """Everything found about the person, and the sources that could not be asked."""

    identifiers: Identifiers
    rounds: int
    errors: dict[str, str] = field(default_factory=dict)
    complete: bool = True
    # What each source itself holds: an Art. 19 notice names the person only by values its recipient received.
    by_source: dict[str, Identifiers] = field(default_factory=dict)


def identifiers_merge(known: Identifiers, found: Identifiers) -> bool:
    """Add ``found`` to ``known`` in place; return whether anything was new."""
    grew = False
    for kind, values in identifiers_normalise(found).items():
        before = len(known.setdefault(kind, set()))
        known[kind] |= values
        grew = grew or len(known[kind]) > before
    return grew


def identities_resolve_detailed(connectors: list[Connector], given: Identifiers, *, max_rounds: int = 5) -> Resolution:
    """Ask every source for more identifiers until nothing new is found or ``max_rounds`` is reached."""
    known = identifiers_normalise(given)
    by_source: dict[str, Identifiers] = {}
    errors: dict[str, str] = {}
    rounds = 0
    grew = True
    while grew and rounds < max_rounds:
        rounds += 1
        grew = False
        snapshot = {kind: set(values) for kind, values in known.items()}
        for connector in connectors:
            try:
                found = connector.discover_identifiers(snapshot)
            except SourceError as exc:
                # One source down must not lose what the others found; the error is reported.
                errors[connector.key] = exc.problem
                logger.warning("identity resolution: source %s failed: %s", connector.key, exc.problem)
                continue
            errors.pop(connector.key, None)
            identifiers_merge(by_source.setdefault(connector.key, {}), found)
            grew = identifiers_merge(known, found) or grew
    return Resolution(
        identifiers=known, rounds=rounds, errors=errors, complete=not grew and not errors, by_source=by_source
    )


def identities_resolve(connectors: list[Connector], given: Identifiers, *, max_rounds: int = 5) -> Identifiers:
    """Return the union of ``given`` and every identifier the sources hold for the same person."""
    return identities_resolve_detailed(connectors, given, max_rounds=max_rounds).identifiers

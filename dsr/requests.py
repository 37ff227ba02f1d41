"""Validation of what a requester gives us, per right, before anything is stored."""

import functools
import ipaddress
import re
import socket
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr.datamap.schema import sensitive_purposes
from dsr.datamap.selectors import datamap_active, jurisdictions_served
from dsr.jurisdictions import PROFILES, Profile, profile_default_code
from dsr.models import Channel, Language, ObjectionScope, RestrictionGround, Right

MAX_TEXT = 5000
MAX_SHORT = 200
MAX_ITEMS = 20
_PHONE = re.compile(r"^\+?[0-9 ()\-]{6,20}$")
_KEY = re.compile(r"^[a-z0-9_.\-]{1,64}$")
_REFERENCE_SYMBOLS = re.compile(r"[^0-9A-Z]")


def reference_normalise(text: str) -> str:
    """Return a reference as stored (DSR-XXXX-XXXX-XXXX-XXXX) from how a person may type it.

    Any case, with or without the DSR- prefix, with spaces or without the dashes. Text that cannot be a
    reference comes back upper-cased and trimmed, so an exact lookup simply finds nothing.
    """
    symbols = _REFERENCE_SYMBOLS.sub("", text.upper())
    if len(symbols) == 19 and symbols.startswith("DSR"):
        symbols = symbols[3:]
    if len(symbols) != 16:
        return text.strip().upper()
    return "DSR-" + "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


class RequestInvalid(ValidationError):
    """Raised with a field -> [messages] map when input cannot be accepted; nothing is stored."""


def _text(value, *, field: str, errors: dict, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append(_("Must be text."))
        return ""
    value = value.strip()
    if "\x00" in value:
        errors.setdefault(field, []).append(_("Contains characters that are not allowed."))
        return ""
    if required and not value:
        errors.setdefault(field, []).append(_("This field is required."))
    elif len(value) > limit:
        errors.setdefault(field, []).append(_("Must be at most %(limit)d characters.") % {"limit": limit})
    return value


@functools.cache
def _values(choices) -> frozenset:
    """Return the values of a choices class, gathered once (the class builds a new list at each ``.values``)."""
    return frozenset(choices.values)


def _choice(value, *, field: str, choices, errors: dict) -> str:
    if value in (None, ""):
        errors.setdefault(field, []).append(_("This field is required."))
        return ""
    if value not in _values(choices):
        errors.setdefault(field, []).append(
            _("Unknown value %(value)r; choose one of: %(choices)s.")
            % {"value": str(value)[:40], "choices": ", ".join(choices.values)}
        )
        return ""
    return value


def _keys(value, *, field: str, errors: dict) -> list[str]:
    if not isinstance(value, list) or not value:
        errors.setdefault(field, []).append(_("Give at least one item."))
        return []
    if len(value) > MAX_ITEMS:
        errors.setdefault(field, []).append(_("Give at most %(limit)d items.") % {"limit": MAX_ITEMS})
        return []
    cleaned = []
    for item in value:
        if not isinstance(item, str) or not _KEY.match(item):
            errors.setdefault(field, []).append(_("%(item)r is not a valid key.") % {"item": str(item)[:40]})
            continue
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def _purposes(value, *, errors: dict) -> list[str]:
    """Return the purpose keys objected to; each must be a purpose of the active data map, if one is loaded."""
    if value in (None, []):
        return []
    keys = _keys(value, field="purposes", errors=errors)
    datamap = datamap_active()
    unknown = [key for key in keys if datamap is not None and key not in datamap.purposes]
    if unknown:
        errors.setdefault("purposes", []).append(_("Not a purpose of ours: %(keys)s.") % {"keys": ", ".join(unknown)})
    return keys


def _corrections(value, *, errors: dict) -> list[dict]:
    if not isinstance(value, list) or not value:
        errors.setdefault("corrections", []).append(_("Say which data is wrong and what it should be."))
        return []
    if len(value) > MAX_ITEMS:
        errors.setdefault("corrections", []).append(_("Give at most %(limit)d corrections.") % {"limit": MAX_ITEMS})
        return []
    cleaned = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            errors.setdefault(f"corrections.{index}", []).append(_("Must be an object with field and correct."))
            continue
        unknown = set(item) - {"field", "current", "correct"}
        if unknown:
            errors.setdefault(f"corrections.{index}", []).append(
                _("Unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
            )
        cleaned.append(
            {
                "field": _text(
                    item.get("field"), field=f"corrections.{index}.field", errors=errors, required=True, limit=MAX_SHORT
                ),
                "current": _text(
                    item.get("current"), field=f"corrections.{index}.current", errors=errors, limit=MAX_SHORT * 5
                ),
                "correct": _text(
                    item.get("correct"),
                    field=f"corrections.{index}.correct",
                    errors=errors,
                    required=True,
                    limit=MAX_SHORT * 5,
                ),
            }
        )
    return cleaned


def details_clean(right: str, details: dict | None) -> dict:
    """Return the right-specific details in canonical form, or raise RequestInvalid naming each problem."""
    details = details or {}
    errors: dict[str, list[str]] = {}
    if not isinstance(details, dict):
        raise RequestInvalid({"details": [_("Must be an object.")]})
    allowed = {
        Right.ACCESS: {"description"},
        Right.PORTABILITY: {"description", "transmit_to"},
        Right.ERASURE: {"description"},
        Right.RECTIFICATION: {"corrections", "statement", "description"},
        Right.RESTRICTION: {"ground", "description"},
        Right.OBJECTION: {"scope", "purposes", "purpose", "grounds", "description"},
        Right.CONSENT_WITHDRAWAL: {"consents", "description"},
    }[right]
    unknown = set(details) - allowed
    if unknown:
        errors["details"] = [_("Not used for this right: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}]
    cleaned: dict = {}
    description = _text(details.get("description"), field="description", errors=errors)
    if description:
        cleaned["description"] = description

    if right == Right.RECTIFICATION:
        # GDPR Art. 16: the correct value, and optionally a supplementary statement.
        cleaned["corrections"] = _corrections(details.get("corrections"), errors=errors)
        statement = _text(details.get("statement"), field="statement", errors=errors)
        if statement:
            cleaned["statement"] = statement
    elif right == Right.RESTRICTION:
        # GDPR Art. 18(1)(a)-(d): one of the four grounds must apply.
        cleaned["ground"] = _choice(details.get("ground"), field="ground", choices=RestrictionGround, errors=errors)
    elif right == Right.OBJECTION:
        scope = _choice(details.get("scope"), field="scope", choices=ObjectionScope, errors=errors)
        cleaned["scope"] = scope
        if scope == ObjectionScope.PURPOSE:
            # GDPR Art. 21(1): the purposes of the data map the person ticked, and/or one in their own words.
            purposes = _purposes(details.get("purposes"), errors=errors)
            other = _text(details.get("purpose"), field="purpose", errors=errors, limit=MAX_SHORT)
            if purposes:
                cleaned["purposes"] = purposes
            if other:
                cleaned["purpose"] = other
            if not purposes and not other and "purposes" not in errors and "purpose" not in errors:
                errors["purposes"] = [_("Choose the purposes you object to, or describe the one you mean.")]
        # GDPR Art. 21(1) needs "grounds relating to his or her particular situation";
        # Art. 21(2)-(3): an objection to direct marketing needs none; nor does a Californian's request to limit
        # the use of sensitive personal information (CCPA regs § 7027(d)).
        grounds = _text(
            details.get("grounds"),
            field="grounds",
            errors=errors,
            required=bool(scope) and scope not in (ObjectionScope.DIRECT_MARKETING, ObjectionScope.SENSITIVE),
        )
        if grounds:
            cleaned["grounds"] = grounds
    elif right == Right.CONSENT_WITHDRAWAL:
        cleaned["consents"] = _keys(details.get("consents"), field="consents", errors=errors)
    elif right == Right.PORTABILITY and details.get("transmit_to") is not None:
        # GDPR Art. 20(2): sent directly to a controller the person names.
        cleaned["transmit_to"] = transmit_to_clean(details["transmit_to"], errors=errors)

    if errors:
        raise RequestInvalid(errors)
    return cleaned


def requester_clean(
    *, right, email, name, phone, customer_number, language, channel, received_at: datetime | None, now: datetime
) -> dict:
    """Return the requester's fields normalised, or raise RequestInvalid naming each problem."""
    errors: dict[str, list[str]] = {}
    right = _choice(right, field="right", choices=Right, errors=errors)
    email = _text(email, field="email", errors=errors, required=True, limit=254)
    if email and "email" not in errors:
        try:
            EmailValidator()(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    name = _text(name, field="name", errors=errors, limit=MAX_SHORT)
    phone = _text(phone, field="phone", errors=errors, limit=40)
    if phone and not _PHONE.match(phone):
        errors.setdefault("phone", []).append(_("Enter a phone number of digits, optionally starting with +."))
    customer_number = _text(customer_number, field="customer_number", errors=errors, limit=64)
    language = language or Language.DA
    if language not in _values(Language):
        errors.setdefault("language", []).append(_("Choose da or en."))
    channel = _choice(channel, field="channel", choices=Channel, errors=errors)
    if received_at is None:
        received_at = now
    elif timezone.is_naive(received_at):
        errors.setdefault("received_at", []).append(_("Give the time of receipt with its time zone."))
    elif received_at > now:
        errors.setdefault("received_at", []).append(_("The time of receipt cannot be in the future."))
    if errors:
        raise RequestInvalid(errors)
    return {
        "right": right,
        "email": email,
        "name": name,
        "phone": phone,
        "customer_number": customer_number,
        "language": language,
        "channel": channel,
        "received_at": received_at,
    }


# Starting points for refusal reasons, in the requester's language; staff adapt them to the case.
REFUSAL_TEMPLATES = {
    "manifestly_unfounded": {
        "en": "We refuse your request because it is manifestly unfounded (GDPR Art. 12(5)): ",
        "da": "Vi afviser din anmodning, fordi den er åbenbart grundløs (GDPR art. 12, stk. 5): ",
    },
    "excessive": {
        "en": "We refuse your request because it is excessive, in particular because of its repetitive "
        "character (GDPR Art. 12(5)): ",
        "da": "Vi afviser din anmodning, fordi den er overdreven, navnlig fordi den gentages (GDPR art. 12, stk. 5): ",
    },
    "identity_not_established": {
        "en": "We could not establish that you are the person the data is about (GDPR Art. 12(2) and 11(2)); "
        "we asked for: ",
        "da": "Vi har ikke kunnet fastslå, at du er den person, oplysningerne handler om (GDPR art. 12, stk. 2, "
        "og art. 11, stk. 2); vi bad om: ",
    },
    "exemption": {
        "en": "A legal exemption applies to your request: ",
        "da": "En undtagelse i lovgivningen gælder for din anmodning: ",
    },
    "other": {"en": "", "da": ""},
}


def refusal_reasons_own(reasons: str) -> str:
    """Return what ``reasons`` says beyond a refusal template's opening words (GDPR Art. 12(4)).

    A refusal must give the person this case's reasons; the opening words alone say only the ground.
    """
    text = reasons.strip()
    for texts in REFUSAL_TEMPLATES.values():
        for opening in texts.values():
            opening = opening.strip().rstrip(" :;,.")
            if opening and text.lower().startswith(opening.lower()):
                return text[len(opening) :].strip(" :;,.\n\t")
    return text


# --- The receiving controller of a direct transmission (GDPR Art. 20(2)) -------------------


def transmit_to_clean(value, *, errors: dict) -> dict:
    """Return the receiving controller as {"name", "email"} or {"name", "url"}; add each problem to ``errors``."""
    if not isinstance(value, dict):
        errors.setdefault("transmit_to", []).append(_("Must be an object with name and email or url."))
        return {}
    unknown = set(value) - {"name", "email", "url"}
    if unknown:
        errors.setdefault("transmit_to", []).append(_("Unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(unknown))})
    cleaned = {
        "name": _text(value.get("name"), field="transmit_to.name", errors=errors, required=True, limit=MAX_SHORT)
    }
    email = _text(value.get("email"), field="transmit_to.email", errors=errors, limit=254)
    url = _text(value.get("url"), field="transmit_to.url", errors=errors, limit=500)
    if bool(email) == bool(url):
        errors.setdefault("transmit_to", []).append(
            _("Give the company's email address or the address of its HTTPS endpoint, one of them.")
        )
    elif email:
        try:
            EmailValidator()(email)
        except ValidationError:
            errors.setdefault("transmit_to.email", []).append(_("Enter a valid email address."))
        cleaned["email"] = email
    else:
        problem = endpoint_url_problem(url)
        if problem:
            errors.setdefault("transmit_to.url", []).append(problem)
        cleaned["url"] = url
    return cleaned


def local_endpoints_allowed() -> bool:
    """Return whether endpoints on this machine may receive transmissions (development and tests only)."""
    return settings.DEBUG or settings.DSR_TRANSMISSION_ALLOW_LOCAL


def endpoint_url_problem(url: str, *, resolve=socket.getaddrinfo) -> str:
    """Return why dsr must not POST to ``url``, or "" when it may.

    Only HTTPS to a public address: a URL the person typed must not make dsr reach into the
    controller's own network (server-side request forgery). Every address the name resolves to
    is checked; the check is made again before each attempt, as a name may change what it points at.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("Enter a valid web address.")
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username or parts.password:
        return _("Enter a web address like https://example.com/receive.")
    local = local_endpoints_allowed()
    if parts.scheme != "https" and not (local and parts.scheme == "http" and _loopback_name(host)):
        return _("The address must start with https://.")
    try:
        found = resolve(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return _("We could not find the server at this address. Please check it.")
    for address in {entry[4][0] for entry in found}:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_global and not ip.is_multicast:
            continue
        if local and ip.is_loopback:
            continue
        return _("The address points to a private or local network; give a public HTTPS address.")
    return ""


def _loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def jurisdictions_offered() -> list[Profile]:
    """Return the profiles the controller answers requests under (the data map's list), its own first."""
    served = jurisdictions_served() or list(PROFILES)
    own = profile_default_code()
    return sorted((PROFILES[code] for code in served), key=lambda p: (p.code != own, served.index(p.code)))


def jurisdiction_clean(code: str | None, *, right: str, details: dict | None = None) -> str:
    """Return the code of the profile a request for ``right`` is answered under, or raise RequestInvalid.

    No code: the deployment's own profile where the controller serves it, else the first it serves.
    """
    offered = jurisdictions_offered()
    profile = PROFILES.get(code) if code else offered[0]
    if profile is None or profile not in offered:
        raise RequestInvalid(
            {"jurisdiction": [_("Choose one of: %(codes)s.") % {"codes": ", ".join(p.code for p in offered)}]}
        )
    if right and not profile.offers(right):
        raise RequestInvalid(
            {
                "jurisdiction": [
                    _("This right is not offered under the law of %(place)s; choose one of the rights it gives.")
                    % {"place": profile.name}
                ]
            }
        )
    scope = (details or {}).get("scope")
    if right == Right.OBJECTION and scope and scope not in profile.objection_scopes:
        raise RequestInvalid(
            {
                "scope": [
                    _("Under the law of %(place)s this request can only be one of: %(scopes)s.")
                    % {
                        "place": profile.name,
                        "scopes": ", ".join(str(ObjectionScope(s).label) for s in profile.objection_scopes),
                    }
                ]
            }
        )
    if right == Right.OBJECTION and scope == ObjectionScope.SENSITIVE:
        datamap = datamap_active()
        if datamap is None or not sensitive_purposes(datamap):
            # CCPA regs § 7027(b): only a business that uses sensitive personal information beyond § 7027(m)
            # offers the limit; the data map says whether it does.
            raise RequestInvalid(
                {
                    "scope": [
                        _(
                            "We do not use sensitive personal information for more than the purposes the law "
                            "permits (Cal. Code Regs. tit. 11, § 7027(m)), so there is nothing to limit."
                        )
                    ]
                }
            )
    return profile.code

"""The preference centre: a person who confirmed their email sees each consent and withdraws or gives it.

GDPR Art. 7(3): withdrawing is as easy as giving. Opening the centre takes a
one-time code or link emailed to the address typed (the same answer whether or
not we know it); once confirmed, the session holds a short-lived grant for that
address and nothing else. Each consent the data map knows is shown with its
state in each source that can read its consent records (dsr.sources: the
connectors' ``consents_read``). Withdrawing files a consent-withdrawal request
(dsr.workflow.request_submit), so the same jobs, letters and audit run as for
one filed on the form. Giving is recorded only in the sources that can record a
consent (``consent_give``); where none did, the person is told so.

The pending code lives in the cache, keyed by the hash of the link token (the
link works in another browser); the session knows which one it asked for.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dsr import emails
from dsr.audit import Actor, audit_record
from dsr.challenges import link_hash
from dsr.datamap.schema import DataMap
from dsr.engine.connectors import connector_get, datamap_current
from dsr.models import CLOSED_STATUSES, AuditAction, Request, Right, VerificationMethod
from dsr.sources.base import CONSENT_GIVE, CONSENT_READ, SourceError
from dsr.workflow import request_submit

CHANNEL = "preference_centre"  # the channel a consent given here is recorded with in the source
GIVEN, WITHDRAWN, NONE, UNREADABLE = "given", "withdrawn", "none", "unreadable"
_SESSION_PENDING = "dsr_preferences_pending"
_SESSION_GRANT = "dsr_preferences_grant"
_CACHE_PREFIX = "dsr-preferences:"


class PreferenceError(Exception):
    """Raised when a code, link or change is refused; `code` says why, str() says it to a person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def grant_minutes() -> int:
    return settings.DSR_PREFERENCES_GRANT_MINUTES


# --- Opening the centre: the emailed code and link -------------------------------------


def _code_hash(key: str, code: str) -> str:
    # Keyed, as dsr.challenges keys a request's code: six digits are guessed from a plain hash.
    return hmac.new(settings.SECRET_KEY.encode(), f"dsr-preferences:{key}:{code}".encode(), hashlib.sha256).hexdigest()


def preferences_code_send(session, *, email: str, language: str) -> None:
    """Email a one-time code and link for ``email`` and remember in ``session`` which one it asked for.

    Sent whether or not any source knows the address: the page answers the same, and only the address's owner
    sees what the centre holds. A new code replaces the session's older one.
    """
    email = email.strip().lower()
    code = f"{secrets.randbelow(1_000_000):06d}"
    token = secrets.token_urlsafe(32)
    key = link_hash(token)
    ttl = settings.DSR_VERIFICATION_TTL_MINUTES * 60
    old = session.get(_SESSION_PENDING)
    if old:
        cache.delete(_CACHE_PREFIX + old)
    cache.set(_CACHE_PREFIX + key, {"email": email, "code_hash": _code_hash(key, code), "attempts": 0}, timeout=ttl)
    session[_SESSION_PENDING] = key
    with transaction.atomic():
        emails.email_preference_code(email=email, language=language, code=code, link_token=token)


def preferences_pending(session) -> bool:
    """Return whether the session asked for a code that may still be entered."""
    key = session.get(_SESSION_PENDING)
    return bool(key) and cache.get(_CACHE_PREFIX + key) is not None


def preferences_confirm_code(session, *, code: str) -> str:
    """Open the centre with the emailed code; a wrong code costs one of the allowed attempts. Return the email."""
    code = (code or "").replace(" ", "").strip()
    key = session.get(_SESSION_PENDING) or ""
    pending = cache.get(_CACHE_PREFIX + key) if key else None
    if pending is None:
        raise PreferenceError("expired", _("This code has expired. Ask for a new one."))
    if not (len(code) == 6 and code.isdigit()):
        raise PreferenceError("invalid", _("The code is the six digits from the email."))
    if pending["attempts"] >= settings.DSR_VERIFICATION_MAX_ATTEMPTS:
        raise PreferenceError("locked", _("Too many wrong codes. Ask for a new code."))
    if not hmac.compare_digest(_code_hash(key, code), pending["code_hash"]):
        pending["attempts"] += 1
        cache.set(_CACHE_PREFIX + key, pending, timeout=settings.DSR_VERIFICATION_TTL_MINUTES * 60)
        left = settings.DSR_VERIFICATION_MAX_ATTEMPTS - pending["attempts"]
        if left <= 0:
            raise PreferenceError("locked", _("Too many wrong codes. Ask for a new code."))
        raise PreferenceError("invalid", _("The code is not correct. %(left)d attempts left.") % {"left": left})
    return _grant(session, key, pending["email"], VerificationMethod.EMAIL_CODE)


def preferences_link_valid(token: str) -> bool:
    """Return whether an emailed link can still open the centre (the GET page; mail scanners follow links)."""
    return bool(token) and len(token) <= 100 and cache.get(_CACHE_PREFIX + link_hash(token)) is not None


def preferences_confirm_link(session, *, token: str) -> str:
    """Open the centre with the emailed link (the POST behind the page's button). Return the email."""
    key = link_hash(token) if token and len(token) <= 100 else ""
    pending = cache.get(_CACHE_PREFIX + key) if key else None
    if pending is None:
        raise PreferenceError("expired", _("This link has expired or has already been used. Ask for a new code."))
    return _grant(session, key, pending["email"], VerificationMethod.EMAIL_LINK)


def _grant(session, key: str, email: str, method: str) -> str:
    cache.delete(_CACHE_PREFIX + key)  # one use
    session.pop(_SESSION_PENDING, None)
    expires = timezone.now() + timedelta(minutes=grant_minutes())
    session[_SESSION_GRANT] = {"email": email, "expires_at": expires.isoformat(), "method": method}
    # Ids only: the audit trail keeps no address.
    audit_record(actor=Actor.subject(), action=AuditAction.PREFERENCES_OPENED, data={"method": method})
    return email


@dataclass(frozen=True)
class Grant:
    email: str
    expires_at: datetime
    method: str


def preferences_grant(session) -> Grant | None:
    """Return the session's grant while it lasts; an expired one is forgotten."""
    grant = session.get(_SESSION_GRANT)
    if not grant:
        return None
    expires_at = datetime.fromisoformat(grant["expires_at"])
    if timezone.now() >= expires_at:
        session.pop(_SESSION_GRANT, None)
        return None
    return Grant(email=grant["email"], expires_at=expires_at, method=grant["method"])


def preferences_close(session) -> None:
    """End the grant (the person leaves the centre)."""
    session.pop(_SESSION_GRANT, None)
    session.pop(_SESSION_PENDING, None)


# --- What the centre shows -------------------------------------------------------------


@dataclass(frozen=True)
class SourceState:
    key: str
    name: dict
    state: str  # given | withdrawn | none | unreadable


@dataclass
class ConsentView:
    key: str
    name: dict  # {da, en}
    purposes: list[dict]  # the purposes based on it: {name, retention}
    categories: list[dict]  # the data categories those purposes cover
    sources: list[SourceState] = field(default_factory=list)
    can_give: bool = False  # some source can record it
    withdrawal: Request | None = None  # a withdrawal filed for it and not yet finished

    @property
    def state(self) -> str:
        states = {source.state for source in self.sources}
        if GIVEN in states:
            return GIVEN
        if WITHDRAWN in states:
            return WITHDRAWN
        return UNREADABLE if states == {UNREADABLE} else NONE


def _identifiers(email: str) -> dict[str, set[str]]:
    return {"email": {email.strip().lower()}}


def _source_purposes(source: dict) -> set[str]:
    purposes = set(source["purposes"])
    for group in (source.get("groups") or {}).values():
        purposes.update(group.get("purposes") or [])
    return purposes


def _serving(datamap: DataMap, key: str) -> set[str]:
    return {p for p, purpose in datamap.purposes.items() if purpose["consent_key"] == key}


def consent_keys(datamap: DataMap) -> list[str]:
    """Return the consent keys of the map's purposes, in map order."""
    return list(dict.fromkeys(p["consent_key"] for p in datamap.purposes.values() if p["consent_key"]))


def _connectors_with(datamap: DataMap, capability: str) -> list:
    found = []
    for key in datamap.sources:
        try:
            connector = connector_get(key, datamap)
        except SourceError:
            continue
        if connector.supports(capability):
            found.append(connector)
    return found


def preferences_view(email: str, *, datamap: DataMap | None = None) -> list[ConsentView]:
    """Return each consent the map knows with its state in each source that serves it and reads consents."""
    datamap = datamap or datamap_current()
    if datamap is None:
        return []
    identifiers = _identifiers(email)
    readers = _connectors_with(datamap, CONSENT_READ)
    givers = {connector.key for connector in _connectors_with(datamap, CONSENT_GIVE)}
    states: dict[str, dict[str, str] | None] = {}
    for connector in readers:
        try:
            states[connector.key] = connector.consents_read(identifiers)
        except SourceError:
            states[connector.key] = None  # said on the page: this system could not be read just now
    open_withdrawals = list(
        Request.objects.filter(right=Right.CONSENT_WITHDRAWAL, email__iexact=email.strip())
        .exclude(status__in=CLOSED_STATUSES)
        .order_by("-received_at")
    )
    views = []
    for key in consent_keys(datamap):
        serving = _serving(datamap, key)
        purposes = [datamap.purposes[p] for p in datamap.purposes if p in serving]
        category_keys = dict.fromkeys(c for purpose in purposes for c in purpose.get("categories") or [])
        view = ConsentView(
            key=key,
            name=purposes[0]["name"],
            purposes=[{"name": p["name"], "retention": p.get("retention") or {}} for p in purposes],
            categories=[datamap.categories[c]["name"] for c in category_keys if c in datamap.categories],
            withdrawal=next((r for r in open_withdrawals if key in r.details.get("consents", [])), None),
        )
        for connector in readers:
            if not serving & _source_purposes(datamap.sources[connector.key]):
                continue
            read = states[connector.key]
            state = UNREADABLE if read is None else read.get(key, NONE)
            name = datamap.sources[connector.key]["name"]
            view.sources.append(SourceState(key=connector.key, name=name, state=state))
            view.can_give = view.can_give or connector.key in givers
        views.append(view)
    return views


# --- Changing a consent ----------------------------------------------------------------


def _consent_known(datamap: DataMap | None, consent: str) -> DataMap:
    if datamap is None or consent not in consent_keys(datamap):
        raise PreferenceError("unknown", _("We do not know this consent. Please reload the page."))
    return datamap


def preference_withdraw(*, grant: Grant, consent: str, language: str) -> Request:
    """File a consent-withdrawal request for ``consent`` in the grant's name: the same jobs, letters and audit."""
    _consent_known(datamap_current(), consent)
    with transaction.atomic():
        result = request_submit(
            right=Right.CONSENT_WITHDRAWAL,
            email=grant.email,
            actor=Actor.subject(),
            language=language,
            details={"consents": [consent]},
            email_confirmed=grant.method,
        )
        audit_record(
            actor=Actor.subject(),
            action=AuditAction.PREFERENCES_WITHDRAWAL_FILED,
            request=result.request,
            data={"consent": consent},
        )
    return result.request


@dataclass(frozen=True)
class GiveResult:
    recorded: list[dict]  # the names of the sources that recorded it
    failed: list[dict]  # the names of the sources that could not be reached


def preference_give(*, grant: Grant, consent: str) -> GiveResult:
    """Record ``consent`` as given now in every source that serves it and can record it; report only those that did."""
    datamap = _consent_known(datamap_current(), consent)
    serving = _serving(datamap, consent)
    givers = [c for c in _connectors_with(datamap, CONSENT_GIVE) if serving & _source_purposes(datamap.sources[c.key])]
    if not givers:
        raise PreferenceError("unsupported", _("None of our systems can record this consent here."))
    recorded, failed = [], []
    for connector in givers:
        try:
            result = connector.consent_give(_identifiers(grant.email), consent, channel=CHANNEL)
        except SourceError:
            failed.append(connector.key)
            continue
        if result.changed:
            recorded.append(connector.key)
    audit_record(
        actor=Actor.subject(),
        action=AuditAction.PREFERENCES_CONSENT_GIVEN,
        data={"consent": consent, "recorded_in": recorded, "failed_in": failed},
    )
    names = datamap.sources
    return GiveResult(recorded=[names[k]["name"] for k in recorded], failed=[names[k]["name"] for k in failed])

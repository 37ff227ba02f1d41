"""Rate limits for the public API, on the same counters as the public forms (dsr.ratelimit).

The client is told apart by dsr.ratelimit.client_ip, which believes X-Forwarded-For only from the
proxies DSR_TRUSTED_PROXIES names (DRF's own get_ident takes the header from anyone). DRF answers a
refusal with 429 and the wait in Retry-After.
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from dsr.ratelimit import client_ip, rate_limit_wait


class _WaitThrottle(BaseThrottle):
    _wait = 0

    def wait(self) -> int | None:
        return self._wait or None

    def _refused(self, wait: int) -> bool:
        self._wait = wait
        return wait > 0


class IntakeThrottle(_WaitThrottle):
    """Limit filing per client address, per email address and for everyone together (no flooding, no mail bombing)."""

    def allow_request(self, request, view) -> bool:
        ip = client_ip(request._request)
        if self._refused(rate_limit_wait(scope="intake-ip", key=ip, rate=settings.DSR_INTAKE_RATE_PER_IP)):
            return False
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if isinstance(email, str) and email.strip():
            key = email.strip().lower()
            if self._refused(rate_limit_wait(scope="intake-email", key=key, rate=settings.DSR_INTAKE_RATE_PER_EMAIL)):
                return False
        return not self._refused(rate_limit_wait(scope="intake-all", key="all", rate=settings.DSR_INTAKE_RATE_GLOBAL))


class VerificationThrottle(_WaitThrottle):
    """Limit code guesses and status reads per client address, and code guesses per reference from any address."""

    def allow_request(self, request, view) -> bool:
        ip = client_ip(request._request)
        if self._refused(rate_limit_wait(scope="verify-ip", key=ip, rate=settings.DSR_VERIFY_RATE_PER_IP)):
            return False
        # Code guesses (POST) also count per reference; an integration polling a status (GET) does not.
        reference = str((view.kwargs or {}).get("reference", "")).strip().upper()[:32]
        if reference and request.method == "POST":
            rate = settings.DSR_VERIFY_RATE_PER_REFERENCE
            return not self._refused(rate_limit_wait(scope="verify-ref", key=reference, rate=rate))
        return True

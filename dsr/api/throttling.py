"""Rate limits for the public API, on the same counters as the public forms (dsr.ratelimit).

The client is told apart by dsr.ratelimit.client_ip, which believes X-Forwarded-For only from the
proxies DSR_TRUSTED_PROXIES names (DRF's own get_ident takes the header from anyone). DRF answers a
refusal with 429 and the wait in Retry-After.
"""

from django.conf import settings
from rest_framework.exceptions import APIException
from rest_framework.throttling import BaseThrottle

from dsr.ratelimit import client_ip, rate_limits_wait


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
        # In this order, counted in one go: a refusal for the address counts against neither the email nor everyone.
        limits = [("intake-ip", client_ip(request._request), settings.DSR_INTAKE_RATE_PER_IP)]
        try:
            data = request.data
        except APIException:
            # A body that cannot be read (not JSON, too large) still counts against its address; then its 4xx.
            if self._refused(rate_limits_wait(limits)):
                return False
            raise
        email = data.get("email") if isinstance(data, dict) else None
        if isinstance(email, str) and email.strip():
            limits.append(("intake-email", email.strip().lower(), settings.DSR_INTAKE_RATE_PER_EMAIL))
        limits.append(("intake-all", "all", settings.DSR_INTAKE_RATE_GLOBAL))
        return not self._refused(rate_limits_wait(limits))


class VerificationThrottle(_WaitThrottle):
    """Limit code guesses and status reads per client address, and code guesses per reference from any address."""

    def allow_request(self, request, view) -> bool:
        limits = [("verify-ip", client_ip(request._request), settings.DSR_VERIFY_RATE_PER_IP)]
        # Code guesses (POST) also count per reference; an integration polling a status (GET) does not.
        reference = str((view.kwargs or {}).get("reference", "")).strip().upper()[:32]
        if reference and request.method == "POST":
            limits.append(("verify-ref", reference, settings.DSR_VERIFY_RATE_PER_REFERENCE))
        return not self._refused(rate_limits_wait(limits))

"""Rate limits for the public API, on the same counters as the public forms (dsr.ratelimit)."""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from dsr.ratelimit import rate_limit_hit


class IntakeThrottle(BaseThrottle):
    """Limit filing per client address and per email address (no enumeration, no mail bombing)."""

    def allow_request(self, request, view) -> bool:
        if rate_limit_hit(scope="intake-ip", key=self.get_ident(request) or "", rate=settings.DSR_INTAKE_RATE_PER_IP):
            return False
        email = request.data.get("email") if isinstance(request.data, dict) else None
        if isinstance(email, str) and email.strip():
            key = email.strip().lower()
            return not rate_limit_hit(scope="intake-email", key=key, rate=settings.DSR_INTAKE_RATE_PER_EMAIL)
        return True


class VerificationThrottle(BaseThrottle):
    """Limit code guesses and status reads per client address."""

    def allow_request(self, request, view) -> bool:
        return not rate_limit_hit(
            scope="verify-ip", key=self.get_ident(request) or "", rate=settings.DSR_VERIFY_RATE_PER_IP
        )

"""Fixed-window rate limits on the Django cache (Redis in production), for the public intake.

A limit is written "count/period", e.g. "5/hour" or "30/10m". Keys such as an
email address or a client IP are hashed before they become cache keys, so no
personal data sits in the cache or in any log line this module writes.
"""

import hashlib
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_PERIODS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def rate_parse(rate: str) -> Rate:
    """Return the count and window of a "count/period" string; raise ValueError if it is malformed."""
    match = _RATE.match(rate.lower())
    if not match or match.group(3) not in _PERIODS:
        raise ValueError(f"Rate {rate!r} is not of the form 'count/period', e.g. '5/hour' or '30/10m'.")
    count, multiplier, unit = int(match.group(1)), int(match.group(2) or 1), _PERIODS[match.group(3)]
    if multiplier == 0:
        raise ValueError(f"Rate {rate!r} has an empty period; write it as 'count/period', e.g. '30/10m'.")
    return Rate(count=count, seconds=multiplier * unit)


def _cache_key(scope: str, key: str, window: int) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{scope}:{key.strip().lower()}".encode()).hexdigest()[:32]
    return f"dsr:rl:{scope}:{digest}:{window}"


def rate_limit_hit(*, scope: str, key: str, rate: str) -> bool:
    """Count one attempt for `key` in `scope` and return True when it goes over `rate`."""
    limit = rate_parse(rate)
    window = int(time.time()) // limit.seconds
    cache_key = _cache_key(scope, key, window)
    # add() is atomic on Redis and locmem: the first attempt in a window creates the counter.
    if cache.add(cache_key, 1, timeout=limit.seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:
            # The counter expired between add() and incr(): this is the window's first attempt.
            cache.set(cache_key, 1, timeout=limit.seconds + 1)
            count = 1
    return count > limit.count


def client_ip(request: HttpRequest) -> str:
    """Return the client's address; behind a proxy, the one the proxy appended to X-Forwarded-For."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")

"""Fixed-window rate limits on the Django cache (Redis in production), for the public intake.

A limit is written "count/period", e.g. "5/hour" or "30/10m". Keys such as an
email address or a client IP are hashed before they become cache keys, so no
personal data sits in the cache or in any log line this module writes. The
counters live in the shared cache, so every web process counts together. On
Redis one script counts an attempt against several limits in one round trip;
any other cache is asked one counter at a time.

The client's address is REMOTE_ADDR unless DSR_TRUSTED_PROXIES says which
proxies in front of dsr may speak for the client in X-Forwarded-For: anyone
can write that header, so it is believed only from a proxy we were told of.
"""

import functools
import hashlib
import ipaddress
import math
import re
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from redis.exceptions import NoScriptError

_PERIODS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@functools.lru_cache(maxsize=64)
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
    return rate_limit_wait(scope=scope, key=key, rate=rate) > 0


def rate_limit_wait(*, scope: str, key: str, rate: str) -> int:
    """Count one attempt for `key` in `scope`; return 0 while within `rate`, else the seconds until it opens again."""
    return rate_limits_wait([(scope, key, rate)])


def rate_limits_wait(limits: Sequence[tuple[str, str, str]]) -> int:
    """Count one attempt against each (scope, key, rate) in turn; return 0 while all are within their rates.

    Else the seconds until the first one over its rate opens again: the limits after it are not counted (an
    attempt refused for its address does not use up the limit every client shares). On Redis, all in one round
    trip.
    """
    now = time.time()
    counted = []
    for scope, key, rate in limits:
        limit = rate_parse(rate)
        counted.append((scope, key, limit, int(now) // limit.seconds))
    for (_scope, _key, limit, window), count in zip(counted, _count_each(counted), strict=False):
        if count > limit.count:
            return max(1, math.ceil((window + 1) * limit.seconds - now))
    return 0


def rate_limit_count_one(*, scope: str, key: str, rate: str) -> int:
    """Count one attempt for `key` in `scope` and return the attempts in the current window, this one included."""
    limit = rate_parse(rate)
    return _count_each([(scope, key, limit, int(time.time()) // limit.seconds)])[0]


# One attempt counted against each key in turn, stopping after the first over its limit (ARGV: limit, seconds
# to keep, per key); the counts come back. A window's first attempt creates its counter and sets its expiry in
# the same atomic step, so no counter outlives its window.
_COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
    local count = redis.call("INCR", key)
    if count == 1 then
        redis.call("EXPIRE", key, ARGV[2 * i])
    end
    counts[i] = count
    if count > tonumber(ARGV[2 * i - 1]) then
        break
    end
end
return counts
"""
_COUNT_SCRIPT_SHA = hashlib.sha1(_COUNT_SCRIPT.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)


# The Redis client each cache backend writes through, made once (see _redis_writer).
_redis_writers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _redis_writer(backend: RedisCache):
    """Return Django's own client for the server ``backend`` writes to, made once per backend.

    Its counters are Redis integers, so cache.get reads them. Django makes a new client object at each call,
    and a redis-py client fills its table of some 170 reply handlers as it is made (about 55 µs, measured);
    the client itself is safe to share between threads (it takes a connection from its pool per command).
    """
    writer = _redis_writers.get(backend._cache)
    if writer is None:
        writer = _redis_writers[backend._cache] = backend._cache.get_client(write=True)
    return writer


def _count_each(counted: list[tuple[str, str, Rate, int]]) -> list[int]:
    """Count one attempt per (scope, key, limit, window) in turn; return the counts, up to the first over its limit."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(_cache_key(scope, key, window)) for scope, key, _limit, window in counted]
        args = [value for *_, limit, _window in counted for value in (limit.count, limit.seconds + 1)]
        client = _redis_writer(backend)
        try:
            return [int(count) for count in client.evalsha(_COUNT_SCRIPT_SHA, len(keys), *keys, *args)]
        except NoScriptError:
            # The server does not hold the script yet (restarted, or never asked): send it whole, once.
            return [int(count) for count in client.eval(_COUNT_SCRIPT, len(keys), *keys, *args)]
    counts = []
    for scope, key, limit, window in counted:
        counts.append(_count_one(scope, key, limit, window))
        if counts[-1] > limit.count:
            break
    return counts


def _count_one(scope: str, key: str, limit: Rate, window: int) -> int:
    cache_key = _cache_key(scope, key, window)
    # Most attempts fall in a window already counted: incr() alone, one cache call.
    try:
        return cache.incr(cache_key)
    except ValueError:
        pass
    # add() is atomic: the first attempt in a window creates the counter.
    if cache.add(cache_key, 1, timeout=limit.seconds + 1):
        return 1
    try:
        # Another attempt created it meanwhile.
        return cache.incr(cache_key)
    except ValueError:
        # ... and it expired again at once: this is the window's first attempt.
        cache.set(cache_key, 1, timeout=limit.seconds + 1)
        return 1


def rate_limit_count(*, scope: str, key: str, rate: str) -> int:
    """Return the attempts counted for `key` in `scope` in the current window of `rate`, without counting one."""
    limit = rate_parse(rate)
    window = int(time.time()) // limit.seconds
    return int(cache.get(_cache_key(scope, key, window)) or 0)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies_parse(value: str) -> int | tuple[Network, ...]:
    """Return DSR_TRUSTED_PROXIES as a count of proxies or a tuple of networks; raise ValueError if malformed.

    Empty (the default) is 0: no proxy is trusted and X-Forwarded-For is ignored.
    """
    value = (value or "").strip()
    if not value:
        return 0
    if value.isdigit():
        return int(value)
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(
            f"DSR_TRUSTED_PROXIES must be a number of proxies (e.g. 1) or networks (e.g. 10.0.0.0/8,::1): {exc}"
        ) from None


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """Return the client's address: REMOTE_ADDR, or what the trusted proxies in front of us say it is.

    With a count N, the Nth address from the right of X-Forwarded-For (each proxy appends the address
    it saw). With networks, the rightmost address that is not one of our proxies, provided the peer is one.
    A header with too few or unreadable entries falls back to REMOTE_ADDR: a client cannot pick its key.
    """
    remote = request.META.get("REMOTE_ADDR") or ""
    trusted = trusted_proxies_parse(getattr(settings, "DSR_TRUSTED_PROXIES", ""))
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not trusted or not forwarded:
        return remote
    if isinstance(trusted, int):
        # REMOTE_ADDR is the last proxy; the address it was handed sits trusted-1 places from the right.
        if len(forwarded) < trusted:
            return remote
        candidate = forwarded[-trusted]
        return candidate if _address(candidate) else remote
    peer = _address(remote)
    if peer is None or not any(peer in network for network in trusted):
        return remote
    for candidate in reversed(forwarded):
        address = _address(candidate)
        if address is None:
            return remote
        if not any(address in network for network in trusted):
            return str(address)
    return remote

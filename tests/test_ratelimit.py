"""dsr.ratelimit: fixed windows on the Django cache, hashed keys, clear errors for bad rates."""

import logging
import time
import weakref

import pytest
import redis
import time_machine
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory

from dsr import ratelimit
from dsr.checks import check_public_edge
from dsr.ratelimit import (
    Rate,
    _cache_key,
    client_ip,
    rate_limit_count,
    rate_limit_count_one,
    rate_limit_hit,
    rate_limit_wait,
    rate_limits_wait,
    rate_parse,
    trusted_proxies_parse,
)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("5/hour", Rate(5, 3600)),
        ("30/10m", Rate(30, 600)),
        ("1/s", Rate(1, 1)),
        (" 2 / day ", Rate(2, 86400)),
        ("10/minute", Rate(10, 60)),
    ],
)
def test_rate_parse_reads_count_and_period(rate, expected):
    assert rate_parse(rate) == expected


@pytest.mark.parametrize("rate", ["", "5", "five/hour", "5/fortnight", "5/0m", "-1/hour"])
def test_rate_parse_rejects_malformed_rates_with_the_expected_form(rate):
    with pytest.raises(ValueError, match="count/period"):
        rate_parse(rate)


def test_limit_allows_the_count_then_refuses():
    hits = [rate_limit_hit(scope="test", key="203.0.113.9", rate="3/hour") for _ in range(5)]
    assert hits == [False, False, False, True, True]


def test_limits_are_separate_per_key_and_per_scope():
    for _ in range(2):
        rate_limit_hit(scope="intake-email", key="ida@example.com", rate="2/hour")
    assert rate_limit_hit(scope="intake-email", key="ida@example.com", rate="2/hour") is True
    assert rate_limit_hit(scope="intake-email", key="bo@example.com", rate="2/hour") is False
    assert rate_limit_hit(scope="status-lost-email", key="ida@example.com", rate="2/hour") is False


def test_email_keys_are_counted_case_and_space_insensitively():
    rate_limit_hit(scope="intake-email", key="Ida@Example.com ", rate="1/hour")
    assert rate_limit_hit(scope="intake-email", key="ida@example.com", rate="1/hour") is True


def test_a_new_window_starts_counting_again():
    with time_machine.travel("2026-03-05 10:00:00+00:00", tick=False) as clock:
        assert rate_limit_hit(scope="test", key="k", rate="1/minute") is False
        assert rate_limit_hit(scope="test", key="k", rate="1/minute") is True
        clock.shift(61)
        assert rate_limit_hit(scope="test", key="k", rate="1/minute") is False


def _counters_in(where: str, settings):
    if where == "redis":
        if not isinstance(caches["default"], RedisCache):
            pytest.skip("Redis is the cache when CACHE_URL names it (CI=true runs the suite so)")
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}
    caches["default"].clear()
    return caches["default"]


@pytest.fixture(params=["locmem", "redis"])
def counters(request, settings):
    """The cache the counters live in: local memory (as in development), and Redis (as in production, under CI)."""
    return _counters_in(request.param, settings)


@pytest.fixture
def redis_counters(settings):
    return _counters_in("redis", settings)


@pytest.fixture
def locmem_counters(settings):
    return _counters_in("locmem", settings)


def _redis_commands(monkeypatch) -> list[str]:
    """Record the name of every command sent to Redis from now on (each is a round trip, or part of a pipeline's)."""
    sent = []
    real = redis.Redis.execute_command

    def watched(self, *args, **options):
        sent.append(str(args[0]))
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", watched)
    return sent


def test_an_attempt_in_a_window_already_counted_is_one_cache_call_on_local_memory(locmem_counters, monkeypatch):
    calls = []
    for name in ("add", "incr", "set", "get"):
        real = getattr(locmem_counters, name)

        def watched(key, *args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(key, *args, **kwargs)

        monkeypatch.setattr(locmem_counters, name, watched)
    with time_machine.travel("2026-03-05 10:00:00+00:00", tick=False):
        assert rate_limit_hit(scope="test", key="k", rate="2/minute") is False
        calls.clear()
        assert rate_limit_hit(scope="test", key="k", rate="2/minute") is False
        assert calls == ["incr"]
        assert rate_limit_hit(scope="test", key="k", rate="2/minute") is True


def test_on_redis_several_limits_are_counted_in_one_round_trip(redis_counters, monkeypatch):
    limits = [
        ("intake-ip", "203.0.113.9", "5/hour"),
        ("intake-email", "ida@example.dk", "5/hour"),
        ("all", "all", "9/d"),
    ]
    sent = _redis_commands(monkeypatch)
    assert rate_limits_wait(limits) == 0  # the window's first attempt: the counters are created
    assert rate_limits_wait(limits) == 0
    assert sent == ["EVALSHA", "EVALSHA"] or sent == ["EVALSHA", "EVAL", "EVALSHA"]  # the first ever sends the script
    assert [rate_limit_count(scope=scope, key=key, rate=rate) for scope, key, rate in limits] == [2, 2, 2]


def test_on_redis_the_client_is_made_once_per_cache_backend(redis_counters, monkeypatch):
    made = []
    real = type(redis_counters._cache).get_client

    def counted(self, *args, **kwargs):
        made.append(kwargs.get("write"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(redis_counters._cache), "get_client", counted)
    monkeypatch.setattr(ratelimit, "_redis_writers", weakref.WeakKeyDictionary())
    for _ in range(3):
        rate_limits_wait([("intake-ip", "203.0.113.9", "5/hour"), ("all", "all", "9/d")])
    assert made == [True]
    assert rate_limit_count(scope="intake-ip", key="203.0.113.9", rate="5/hour") == 3


def test_on_redis_a_server_that_forgot_the_script_is_sent_it_whole(redis_counters, monkeypatch):
    redis_counters._cache.get_client(write=True).script_flush()
    sent = _redis_commands(monkeypatch)
    assert rate_limit_count_one(scope="test", key="k", rate="5/hour") == 1
    assert rate_limit_count_one(scope="test", key="k", rate="5/hour") == 2
    assert sent[:3] == ["EVALSHA", "EVAL", "EVALSHA"]


def test_on_redis_a_counter_lasts_its_window_and_a_second(redis_counters):
    with time_machine.travel("2026-03-05 10:00:00+00:00", tick=False):
        rate_limit_wait(scope="test", key="k", rate="3/10m")
        rate_limit_wait(scope="test", key="k", rate="3/10m")
        client = redis_counters._cache.get_client(write=True)
        (key,) = client.keys(f"*{_cache_key('test', 'k', int(time.time()) // 600)}")
        assert 599 <= client.ttl(key) <= 601


def test_several_limits_are_counted_in_order_up_to_the_first_refusal(counters):
    with time_machine.travel("2026-03-05 10:00:20+00:00", tick=False):
        ip, email, everyone = ("ip", "a", "2/minute"), ("email", "b", "5/hour"), ("all", "all", "9/day")
        assert rate_limits_wait([ip, email, everyone]) == 0
        assert rate_limits_wait([ip, email, everyone]) == 0
        # The address is over its limit: refused with its wait, and neither the email nor everyone counts it.
        assert rate_limits_wait([ip, email, everyone]) == 40
        assert rate_limits_wait([ip, everyone]) == 40
        assert rate_limit_count(scope="email", key="b", rate="5/hour") == 2
        assert rate_limit_count(scope="all", key="all", rate="9/day") == 2
        # Another address: the email's limit refuses next, with its own wait; everyone's does not count that one.
        other = ("ip", "c", "9/minute")
        for _ in range(3):
            assert rate_limits_wait([other, email, everyone]) == 0
        assert rate_limits_wait([other, email, everyone]) == 3600 - 20
        assert rate_limit_count(scope="ip", key="c", rate="9/minute") == 4
        assert rate_limit_count(scope="all", key="all", rate="9/day") == 5


def test_the_count_comes_back_and_a_new_window_counts_from_one(counters):
    with time_machine.travel("2026-03-05 10:00:00+00:00", tick=False) as clock:
        assert [rate_limit_count_one(scope="fail", key="k", rate="2/minute") for _ in range(3)] == [1, 2, 3]
        assert rate_limit_count(scope="fail", key="k", rate="2/minute") == 3
        clock.shift(60)
        assert rate_limit_count(scope="fail", key="k", rate="2/minute") == 0
        assert rate_limit_count_one(scope="fail", key="k", rate="2/minute") == 1


def _keys_stored(counters) -> list[str]:
    if isinstance(counters, RedisCache):
        return [key.decode() for key in counters._cache.get_client(write=True).keys("*")]
    return list(counters._cache)


def test_cache_keys_never_contain_the_email(counters, caplog):
    caplog.set_level(logging.DEBUG)
    rate_limit_hit(scope="intake-email", key="secret.person@example.com", rate="5/hour")
    rate_limits_wait([("intake-ip", "192.0.2.1", "5/hour"), ("intake-email", "secret.person@example.com", "5/hour")])
    keys = _keys_stored(counters)
    assert len([key for key in keys if "dsr:rl:" in key]) == 2
    assert not any("secret.person" in key or "example.com" in key or "192.0.2.1" in key for key in keys)
    assert "secret.person" not in caplog.text


def test_client_ip_ignores_x_forwarded_for_by_default_even_behind_https(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.DSR_TRUSTED_PROXIES = ""
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "198.51.100.7"


def test_client_ip_behind_one_counted_proxy_is_the_address_that_proxy_appended(settings):
    settings.DSR_TRUSTED_PROXIES = "1"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"


def test_client_ip_behind_two_counted_proxies_skips_the_inner_one(settings):
    settings.DSR_TRUSTED_PROXIES = "2"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.9")
    assert client_ip(request) == "198.51.100.7"


def test_client_ip_with_trusted_networks_takes_the_first_address_outside_them(settings):
    settings.DSR_TRUSTED_PROXIES = "10.0.0.0/8, fd00::/8"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.1.2.3")
    assert client_ip(request) == "198.51.100.7"


def test_client_ip_ignores_the_header_from_a_peer_outside_the_trusted_networks(settings):
    settings.DSR_TRUSTED_PROXIES = "10.0.0.0/8"
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert client_ip(request) == "203.0.113.5"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", " , "])
def test_client_ip_falls_back_to_the_peer_when_the_header_is_short_or_unreadable(settings, forwarded):
    settings.DSR_TRUSTED_PROXIES = "1"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == "10.0.0.2"


@pytest.mark.parametrize("value", ["proxy", "10.0.0.0/33", "1.2.3"])
def test_trusted_proxies_that_are_neither_a_count_nor_networks_are_refused(value):
    with pytest.raises(ValueError, match="DSR_TRUSTED_PROXIES"):
        trusted_proxies_parse(value)


def test_a_malformed_trusted_proxies_setting_fails_the_system_check(settings):
    settings.DSR_TRUSTED_PROXIES = "the load balancer"
    errors = check_public_edge(None)
    assert [error.id for error in errors] == ["dsr.E020"]


def test_the_wait_is_the_time_left_in_the_window():
    with time_machine.travel("2026-03-05 10:00:20+00:00", tick=False):
        assert rate_limit_wait(scope="test", key="k", rate="1/minute") == 0
        assert rate_limit_wait(scope="test", key="k", rate="1/minute") == 40

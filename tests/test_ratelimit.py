"""dsr.ratelimit: fixed windows on the Django cache, hashed keys, clear errors for bad rates."""

import logging

import pytest
import time_machine
from django.core.cache import cache
from django.test import RequestFactory

from dsr.checks import check_public_edge
from dsr.ratelimit import Rate, client_ip, rate_limit_hit, rate_limit_wait, rate_parse, trusted_proxies_parse


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


def test_an_attempt_in_a_window_already_counted_is_one_cache_call(monkeypatch):
    # Every filing counts three limits; each cache call is a round trip to Redis in production.
    calls = []
    for name in ("add", "incr", "set", "get"):
        real = getattr(cache, name)

        def watched(key, *args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(key, *args, **kwargs)

        monkeypatch.setattr(cache, name, watched)
    with time_machine.travel("2026-03-05 10:00:00+00:00", tick=False):
        assert rate_limit_hit(scope="test", key="k", rate="2/minute") is False
        calls.clear()
        assert rate_limit_hit(scope="test", key="k", rate="2/minute") is False
        assert calls == ["incr"]
        assert rate_limit_hit(scope="test", key="k", rate="2/minute") is True


def test_cache_keys_never_contain_the_email(caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    keys = []
    # Watch the keys on their way into whichever cache is configured (local memory, or Redis under CI).
    for name in ("add", "incr", "set"):
        real = getattr(cache, name)

        def watched(key, *args, _real=real, **kwargs):
            keys.append(key)
            return _real(key, *args, **kwargs)

        monkeypatch.setattr(cache, name, watched)
    rate_limit_hit(scope="intake-email", key="secret.person@example.com", rate="5/hour")
    rate_limit_hit(scope="intake-email", key="secret.person@example.com", rate="5/hour")
    assert keys
    assert not any("secret.person" in key or "example.com" in key for key in keys)
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

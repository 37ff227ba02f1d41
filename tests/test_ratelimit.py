"""dsr.ratelimit: fixed windows on the Django cache, hashed keys, clear errors for bad rates."""

import logging

import pytest
import time_machine
from django.core.cache import cache
from django.test import RequestFactory

from dsr.ratelimit import Rate, client_ip, rate_limit_hit, rate_parse


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


def test_client_ip_is_remote_addr_without_a_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "198.51.100.7"


def test_client_ip_behind_a_proxy_is_the_address_the_proxy_appended(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert client_ip(request) == "198.51.100.7"

"""Two runs of the suite on one machine share PostgreSQL and Redis, and stay out of each other's way."""

import os

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.conftest import CeleryWorker, caches_clear_own

cache = caches["default"]
redis_cache_only = pytest.mark.skipif(not isinstance(cache, RedisCache), reason="a Redis cache (CI=true runs this)")


def test_this_run_has_its_own_queue_cache_keys_and_worker_name():
    run = os.environ["DSR_TEST_RUN"]
    process = os.environ.get("PYTEST_XDIST_WORKER", "main")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE

    assert queue == f"dsr-tests-{run}-{process}"
    assert cache.key_prefix == queue
    assert CeleryWorker.name == f"e2e-{run}-{process}@dsr-tests"


@redis_cache_only
def test_emptying_the_cache_before_a_test_leaves_another_runs_keys():
    client = cache._cache.get_client(write=True)
    other = "dsr-tests-otherrun-gw0:1:ratelimit"
    client.set(other, 3)
    cache.set("ratelimit", 5)
    try:
        caches_clear_own()

        assert cache.get("ratelimit") is None
        assert int(client.get(other)) == 3
    finally:
        client.delete(other)

"""The per-key rate limit: counted in Redis (or the database without it), a 429 problem with
Retry-After once spent, and per key."""

import pytest

from apikeys.models import ApiRateWindow
from apikeys.services import ratelimit

pytestmark = pytest.mark.django_db


@pytest.fixture
def flush_redis(settings):
    if settings.REDIS_URL:
        client = ratelimit._redis()
        for key in client.scan_iter("api:rate:*"):
            client.delete(key)


@pytest.mark.parametrize("backend", ["redis", "database"])
def test_a_spent_limit_is_a_429_with_retry_after_and_other_keys_go_on(
    api, settings, flush_redis, backend
):
    if backend == "redis" and not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    if backend == "database":
        settings.REDIS_URL = ""
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    client, other = api(), api()

    answers = [client.get("/api/v1/tenants/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[-1]
    assert refused["Content-Type"] == "application/problem+json"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["status"] == 429
    assert other.get("/api/v1/tenants/").status_code == 200
    assert ApiRateWindow.objects.exists() == (backend == "database")


def test_an_unreachable_redis_falls_back_to_the_database(api, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    client = api()

    assert client.get("/api/v1/tenants/").status_code == 200
    assert client.get("/api/v1/tenants/").status_code == 429
    assert ApiRateWindow.objects.get().used == 2

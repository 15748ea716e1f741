"""Fixtures of the Connect tests."""

import pytest


@pytest.fixture(params=["merge", "replace"])
def emulator_put_mode(request, emulator):
    """Runs a test under both PUT behaviours: whether DocuSign merges or replaces is unconfirmed
    (API.md 7), and the portal sends complete configurations so it must not matter."""
    emulator.config(connect_put_mode=request.param)
    return request.param


@pytest.fixture(autouse=True)
def _budget_counters_cleared(settings):
    # With REDIS_URL the budget counters outlive a test (the database rows roll back); every test
    # uses the same seeded accounts, so each starts with an unspent budget.
    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter("connect:budget:*"))
    if keys:
        client.delete(*keys)

"""The shared call budget: counted across threads, in Redis when REDIS_URL is set, else the DB."""

import threading
import uuid

import pytest

from connect.budget import BudgetExhausted, BudgetUnavailable, budget_reserve
from connect.models import ApiBudgetWindow

# Mid-way through an hour and a burst window: a test that ran across a window's end would be
# granted that window's budget again.
NOW = 1_800_000_000 + 1800 + 10


def clock() -> float:
    return NOW


def reserve_many(account_id: str, attempts: int, threads: int = 8) -> int:
    granted = []
    lock = threading.Lock()

    def worker():
        from django.db import connection

        for _ in range(attempts // threads):
            try:
                budget_reserve(account_id=account_id, calls=1, clock=clock)
            except BudgetExhausted:
                continue
            with lock:
                granted.append(1)
        connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(granted)


@pytest.mark.django_db(transaction=True)
def test_database_budget_grants_exactly_the_burst_limit_across_threads(settings):
    settings.REDIS_URL = ""
    settings.CONNECT_BUDGET_BURST = 25
    account = f"acct-{uuid.uuid4()}"

    assert reserve_many(account, attempts=80) == 25

    assert ApiBudgetWindow.objects.get(account_id=account, window="burst").used == 25
    with pytest.raises(BudgetExhausted) as caught:
        budget_reserve(account_id=account, calls=1, clock=clock)
    assert "burst" in str(caught.value)


def test_redis_budget_grants_exactly_the_limits_across_threads(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    settings.CONNECT_BUDGET_BURST = 30
    settings.CONNECT_BUDGET_HOURLY = 1000
    account = f"acct-{uuid.uuid4()}"

    assert reserve_many(account, attempts=96) == 30

    settings.CONNECT_BUDGET_BURST = 1000
    settings.CONNECT_BUDGET_HOURLY = 40
    with pytest.raises(BudgetExhausted) as caught:
        budget_reserve(account_id=account, calls=11, clock=clock)
    assert "hourly" in str(caught.value)
    budget_reserve(account_id=account, calls=10, clock=clock)  # a refused reservation took nothing


@pytest.mark.django_db
def test_a_spent_burst_budget_is_granted_again_in_the_next_window(settings):
    settings.CONNECT_BUDGET_BURST = 3
    account = f"acct-{uuid.uuid4()}"
    budget_reserve(account_id=account, calls=3, clock=clock)
    with pytest.raises(BudgetExhausted) as caught:
        budget_reserve(account_id=account, calls=1, clock=clock)
    assert caught.value.retry_after == settings.CONNECT_BUDGET_BURST_WINDOW_S - 10

    budget_reserve(account_id=account, calls=3, clock=lambda: NOW + 30)


@pytest.mark.django_db
def test_a_redis_error_in_the_budget_check_is_retried_like_a_docusign_outage(
    settings, emulator, emulator_integration, consented_tenant
):
    """Redis away while the budget is checked: no DocuSign call is made, the sync retries with
    the transient errors' backoff, and what staff read after the retries is a sentence, not the
    Redis client's exception."""
    from connect.models import SyncRecord
    from connect.services.sync import TRANSIENT_ERRORS
    from connect.tasks import MAX_TRANSIENT_RETRIES, connect_tenant_sync
    from connect.tests.factories import ConnectTemplateFactory
    from portal.celery import app
    from testing.chaos import free_port

    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    tenant = consented_tenant(slug="acme")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with pytest.raises(BudgetUnavailable) as caught:
        budget_reserve(account_id="acct-any", calls=1)
    assert isinstance(caught.value, TRANSIENT_ERRORS)
    emulator.reset_calls()

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # eager Celery runs each retry at once
    try:
        connect_tenant_sync.apply(args=(tenant.pk,))
    finally:
        app.conf.task_eager_propagates = propagates

    assert not any(" /restapi" in key for key in emulator.calls())
    record = SyncRecord.objects.get(tenant=tenant)
    assert record.outcome == SyncRecord.Outcome.FAILED
    assert record.message == (
        f"Gave up after {MAX_TRANSIENT_RETRIES + 1} tries: The shared DocuSign call budget could "
        "not be checked (Redis was briefly unavailable); retrying."
    )


@pytest.mark.django_db
def test_the_budget_check_works_again_once_redis_is_back(settings):
    from testing.chaos import RedisServer

    server = RedisServer()
    settings.REDIS_URL = server.url
    with pytest.raises(BudgetUnavailable):
        budget_reserve(account_id="acct-back", calls=1, clock=clock)
    server.start()
    try:
        budget_reserve(account_id="acct-back", calls=1, clock=clock)
    finally:
        server.stop()

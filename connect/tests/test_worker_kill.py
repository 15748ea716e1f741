"""A real worker killed with SIGKILL in the middle of syncing 50 tenants: the next sync leaves
exactly one correct configuration per account (the list-first reconcile finds what the dead
worker created but never recorded)."""

import os
import signal
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from connect.models import SyncRecord
from connect.services.templates import config_name
from connect.tasks import connect_tenant_sync
from portal.celery import app
from testing.chaos import fleet_seed
from testing.processes import celery_worker_start, child_env
from testing.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
TENANTS = 50


def _start_worker() -> subprocess.Popen:
    return celery_worker_start(queues="sync", concurrency=8, env=child_env(DEBUG="true"))


def _enqueue(tenants) -> None:
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        for tenant in tenants:
            connect_tenant_sync.apply_async((tenant.pk,))
    finally:
        app.conf.task_always_eager = eager


def _purge_broker() -> None:
    if django_settings.REDIS_URL:
        import redis

        redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    else:
        app.control.purge()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_sync_leaves_one_configuration_per_account_after_next_sync(
    emulator, emulator_server, emulator_integration
):
    tenants, accounts = fleet_seed(
        emulator=emulator,
        emulator_server=emulator_server,
        integration=emulator_integration,
        count=TENANTS,
        template_slug="hooks",
    )
    # Slow DocuSign, so the kill lands while requests are in flight.
    emulator.config(latency_ms=200)
    _purge_broker()

    _enqueue(tenants)
    worker = _start_worker()
    try:
        wait_until(lambda: SyncRecord.objects.count() >= 8, timeout=90, what="the first syncs")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    recorded_before = SyncRecord.objects.count()
    made_before = sum(1 for a in accounts if emulator.connect_configs(a))
    assert recorded_before < TENANTS, "the kill came too late to prove anything"
    # DocuSign may hold configurations whose sync never committed: the dangerous case.
    assert made_before >= recorded_before

    killed_at = SyncRecord.objects.order_by("-finished_at").first().finished_at
    _purge_broker()
    _enqueue(tenants)
    second = _start_worker()
    try:
        wait_until(
            lambda: (
                SyncRecord.objects.filter(finished_at__gt=killed_at)
                .values("tenant")
                .distinct()
                .count()
                >= TENANTS
            ),
            timeout=120,
            what="the next sync of every tenant",
        )
    finally:
        second.terminate()
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
        _purge_broker()

    for account_id in accounts:
        configs = emulator.connect_configs(account_id)
        assert [c["name"] for c in configs] == [config_name("hooks")], account_id
        assert configs[0]["integratorManaged"] == "true"
    assert not SyncRecord.objects.filter(outcome="failed").exists()

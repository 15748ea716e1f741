"""Faults with real processes converge by themselves within two beat ticks of the fault ending:
a worker killed mid-sync, the broker killed and restarted empty mid-fan-out, PostgreSQL's
backends terminated mid-bulk-push. Each ends with every tenant synced, exactly one configuration
per account at the emulator, and (bulk) the operation finished with every item succeeded.
The beat ticks every TICK_S and work is leased for LEASE_S (production: 60 s and 5 minutes)."""

import time

import pytest
from django.db import connection

from common.models import BulkOperation, BulkOperationItem
from connect.models import ConnectTemplate, ConnectTemplateVersion, TenantConnectState
from connect.services.templates import config_name
from connect.tests.factories import sim_settings
from testing.chaos import (
    Fleet,
    RedisServer,
    configurations_count,
    fleet_seed,
    postgres_backends_terminate,
)
from testing.wait import wait_until

TENANTS = 50
LEASE_S = 6
TICK_S = 5.0
SLUG = "chaos"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def fleet(redis_server):
    if connection.vendor != "postgresql":
        pytest.skip("the chaos tests need PostgreSQL (several processes write at once)")
    processes = Fleet(redis=redis_server, lease_s=LEASE_S, tick_s=TICK_S)
    yield processes
    processes.stop()


@pytest.fixture
def tenants(emulator, emulator_server, emulator_integration):
    found, accounts = fleet_seed(
        emulator=emulator,
        emulator_server=emulator_server,
        integration=emulator_integration,
        count=TENANTS,
        template_slug=SLUG,
    )
    # Slow DocuSign, so each fault lands while requests are in flight.
    emulator.config(latency_ms=150)
    return found, accounts


def _synced() -> int:
    return TenantConnectState.objects.filter(
        last_sync_at__isnull=False, lease_expires_at__isnull=True
    ).count()


def _all_synced() -> bool:
    return _synced() >= TENANTS


def _assert_converged(fleet, emulator, accounts, *, fault_ended: float) -> None:
    wait_until(_all_synced, timeout=60, what="every tenant synced after the fault")
    converged = time.time()
    assert configurations_count(emulator, accounts, config_name(SLUG)) == (0, 0)
    ticks = fleet.ticks_since(fault_ended, converged)
    assert ticks <= 2, f"converged after {ticks} beat ticks ({converged - fault_ended:.1f} s)"


def test_a_worker_killed_mid_sync_is_healed_by_the_next_ticks(fleet, tenants, emulator):
    """Two worker replicas; one is killed with the messages it held, then started again."""
    _, accounts = tenants
    killed = fleet.worker_start()
    fleet.worker_start()
    fleet.beat_start()
    wait_until(lambda: _synced() >= 8, timeout=60, what="the first syncs")

    fleet.worker_kill(killed)
    fault_ended = time.time()
    assert _synced() < TENANTS, "the kill came too late to prove anything"
    fleet.worker_start()

    _assert_converged(fleet, emulator, accounts, fault_ended=fault_ended)


def test_the_broker_killed_and_restarted_empty_mid_fan_out_is_healed(
    fleet, tenants, emulator, redis_server
):
    _, accounts = tenants
    fleet.worker_start()
    fleet.beat_start()
    wait_until(lambda: _synced() >= 5, timeout=60, what="the first syncs")

    redis_server.kill()
    assert _synced() < TENANTS, "the fault came too late to prove anything"
    redis_server.start()  # empty: every message it held is gone
    fault_ended = time.time()

    _assert_converged(fleet, emulator, accounts, fault_ended=fault_ended)


BULK_PUSH = """
import sys, django
django.setup()
from common.bulk import bulk_operation_start
from common.models import BulkOperation
from tenants.models import Tenant
tenants = list(Tenant.objects.filter(slug__startswith="chaos-").values_list("pk", "name"))
push = BulkOperation.Kind.CONNECT_PUSH
print(bulk_operation_start(kind=push, tenants=tenants, actor=None).pk)
"""


def test_database_backends_terminated_mid_bulk_push_and_the_push_still_finishes(
    fleet, tenants, emulator
):
    _, accounts = tenants
    fleet.worker_start()
    fleet.beat_start()
    wait_until(_all_synced, timeout=60, what="the first push of every tenant")
    # A new version of the template: the bulk push updates every account.
    template = ConnectTemplate.objects.get(slug=SLUG)
    ConnectTemplateVersion.objects.create(
        template=template,
        number=2,
        settings=sim_settings(events=["envelope-completed"]),
        created_by_label="tests",
    )
    ConnectTemplate.objects.filter(pk=template.pk).update(current_version=2)
    operation_id = int(fleet.run_python(BULK_PUSH).strip())

    def items_done() -> int:
        return (
            BulkOperationItem.objects.filter(operation_id=operation_id)
            .exclude(outcome=BulkOperationItem.Outcome.PENDING)
            .count()
        )

    wait_until(lambda: items_done() >= 5, timeout=60, what="the first bulk items")
    assert postgres_backends_terminate(connection.settings_dict["NAME"]) > 0
    assert items_done() < TENANTS, "the fault came too late to prove anything"
    fault_ended = time.time()

    def finished() -> bool:
        return BulkOperation.objects.get(pk=operation_id).finished_at is not None

    wait_until(finished, timeout=60, what="the bulk operation to finish")
    converged = time.time()
    operation = BulkOperation.objects.get(pk=operation_id)
    assert (operation.succeeded, operation.failed, operation.skipped) == (TENANTS, 0, 0)
    assert configurations_count(emulator, accounts, config_name(SLUG)) == (0, 0)
    carried = TenantConnectState.objects.values_list("versions", flat=True)
    assert list(carried) == [{SLUG: 2}] * TENANTS
    ticks = fleet.ticks_since(fault_ended, converged)
    assert ticks <= 2, f"finished after {ticks} beat ticks ({converged - fault_ended:.1f} s)"

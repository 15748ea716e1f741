"""Lost work is found by time: a sync, a token refresh or a bulk item queued longer than its lease
is enqueued again by the next beat tick; one still within its lease is left alone. The dashboard
says how much work waits past its lease."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.bulk import bulk_operation_start
from common.leases import broker_mark
from common.models import BulkOperation, BulkOperationItem
from common.tasks import bulk_items_sweep
from connect.models import SyncRecord, TenantConnectState
from connect.services.reconcile import connect_tenant_reconcile
from connect.services.sync import connect_sync_queued_mark
from connect.tasks import connect_sync_due
from connect.tests.factories import ConnectTemplateFactory
from tenants.models import TenantToken
from tenants.selectors.tokens import token_refresh_due_tenant_ids
from tenants.services.tokens import token_refresh_queued_mark
from tenants.tasks import token_refresh_due
from testing.chaos import RedisServer

pytestmark = pytest.mark.django_db
BEAT_TASKS = ("connect_sync_due", "bulk_items_sweep", "token_refresh_due")


@pytest.fixture(autouse=True)
def _broker_intact():
    # The broker has kept what it was given since each beat task last ran (another test may have
    # flushed the test Redis, which would read as a broker emptied).
    for beat_task in BEAT_TASKS:
        broker_mark(beat_task=beat_task)


@pytest.fixture
def broker(settings):
    """A redis-server of the test's own as the broker, so it can be killed and come back empty."""
    server = RedisServer().start()
    settings.CELERY_BROKER_URL = server.url
    for beat_task in BEAT_TASKS:
        broker_mark(beat_task=beat_task)
    yield server
    server.stop()


@pytest.fixture
def synced_tenant(emulator, emulator_integration, consented_tenant):
    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    tenant = consented_tenant(slug="acme")
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SyncRecord.Trigger.SCHEDULE)
    return tenant


def _lease_ends_in(tenant, seconds: float) -> None:
    TenantConnectState.objects.filter(tenant=tenant).update(
        lease_expires_at=timezone.now() + timedelta(seconds=seconds)
    )


def test_a_queued_sync_within_its_lease_is_not_enqueued_again(synced_tenant):
    connect_sync_queued_mark(tenant_ids=[synced_tenant.pk])  # its message was lost

    assert connect_sync_due() == 0


def test_a_sync_whose_lease_ran_out_is_enqueued_again_though_its_interval_has_not(
    synced_tenant,
):
    connect_sync_queued_mark(tenant_ids=[synced_tenant.pk])  # its message was lost
    _lease_ends_in(synced_tenant, -1)
    syncs = SyncRecord.objects.filter(tenant=synced_tenant).count()

    assert connect_sync_due() == 1

    assert SyncRecord.objects.filter(tenant=synced_tenant).count() == syncs + 1
    state = TenantConnectState.objects.get(tenant=synced_tenant)
    assert (state.queued_at, state.lease_expires_at) == (None, None)


def test_syncs_queued_when_the_broker_came_back_empty_are_enqueued_again_at_once(
    synced_tenant, broker
):
    connect_sync_queued_mark(tenant_ids=[synced_tenant.pk])
    assert connect_sync_due() == 0  # within its lease, and the broker still holds its message
    syncs = SyncRecord.objects.filter(tenant=synced_tenant).count()

    broker.kill()
    broker.start()  # empty: the message is gone, the lease has minutes to run

    assert connect_sync_due() == 1
    assert SyncRecord.objects.filter(tenant=synced_tenant).count() == syncs + 1
    assert connect_sync_due() == 0  # synced, and the broker is marked again


def test_refreshes_and_bulk_items_queued_when_the_broker_came_back_empty_run_at_once(
    synced_tenant, broker, make_staff, emulator
):
    TenantToken.objects.filter(tenant=synced_tenant).update(
        access_expires_at=timezone.now() + timedelta(minutes=5)
    )
    token_refresh_queued_mark(tenant_ids=[synced_tenant.pk])
    operation = bulk_operation_start(
        kind=BulkOperation.Kind.CONNECT_RESYNC,
        tenants=[(synced_tenant.pk, synced_tenant.name)],
        actor=make_staff(Role.OPERATOR),
    )
    assert (token_refresh_due(), bulk_items_sweep()) == (0, 0)

    broker.kill()
    broker.start()

    assert (token_refresh_due(), bulk_items_sweep()) == (1, 1)
    operation.refresh_from_db()
    assert (operation.succeeded, operation.finished_at is not None) == (1, True)
    assert TenantToken.objects.get(tenant=synced_tenant).generation == 1


def test_a_lost_refresh_is_enqueued_again_once_its_lease_ran_out(consented_tenant, emulator):
    tenant = consented_tenant()
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert token_refresh_due_tenant_ids() == [tenant.pk]

    token_refresh_queued_mark(tenant_ids=[tenant.pk])
    assert token_refresh_due_tenant_ids() == []

    TenantToken.objects.filter(tenant=tenant).update(
        refresh_lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert token_refresh_due_tenant_ids() == [tenant.pk]


def test_the_bulk_sweep_runs_items_whose_lease_ran_out_and_the_operation_finishes(
    synced_tenant, make_staff
):
    # No on-commit callbacks run here: as if the broker lost every item's message.
    operation = bulk_operation_start(
        kind=BulkOperation.Kind.CONNECT_RESYNC,
        tenants=[(synced_tenant.pk, synced_tenant.name)],
        actor=make_staff(Role.OPERATOR),
    )
    assert bulk_items_sweep() == 0  # still within its lease

    BulkOperationItem.objects.filter(operation=operation).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert bulk_items_sweep() == 1

    operation.refresh_from_db()
    assert (operation.succeeded, operation.failed, operation.finished_at is not None) == (
        1,
        0,
        True,
    )


def test_a_passing_docusign_error_keeps_a_bulk_item_pending_until_it_succeeds(
    synced_tenant, make_staff, emulator, django_capture_on_commit_callbacks
):
    from common.tasks import bulk_item_run
    from portal.celery import app

    emulator.fault("GET /restapi/connect", status=503, count=1)
    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # eager Celery re-runs a retried task at once
    try:
        with django_capture_on_commit_callbacks(execute=True):
            operation = bulk_operation_start(
                kind=BulkOperation.Kind.CONNECT_PUSH,
                tenants=[(synced_tenant.pk, synced_tenant.name)],
                actor=make_staff(Role.OPERATOR),
            )
    finally:
        app.conf.task_eager_propagates = propagates

    operation.refresh_from_db()
    item = operation.items.get()
    assert bulk_item_run.name == "common.tasks.bulk_item_run"
    assert (item.outcome, operation.succeeded, operation.finished_at is not None) == (
        BulkOperationItem.Outcome.SUCCEEDED,
        1,
        True,
    )


def test_the_dashboard_shows_work_waiting_longer_than_its_lease(synced_tenant, staff_client):
    client = staff_client(Role.SUPPORT)
    assert "No work has waited longer than its lease" in client.get(reverse("dashboard")).text

    connect_sync_queued_mark(tenant_ids=[synced_tenant.pk])
    TenantConnectState.objects.filter(tenant=synced_tenant).update(
        lease_expires_at=timezone.now() - timedelta(minutes=7)
    )

    page = client.get(reverse("dashboard")).text
    assert "have waited longer than their lease; the oldest by 7 min" in page


@pytest.mark.django_db(transaction=True)
def test_a_sync_enqueued_again_while_the_first_still_runs_waits_for_it(synced_tenant):
    """The broker came back empty while a sync ran: the one enqueued again must not reconcile
    beside it (both would list, find the configuration missing, and create it twice)."""
    from celery.exceptions import Retry
    from django.db import connections

    from common.locks import run_lock
    from connect.services.reconcile import SyncRunningElsewhere
    from connect.tasks import connect_tenant_sync

    if connections["default"].vendor != "postgresql":
        pytest.skip("the run lock is PostgreSQL's advisory lock")
    before = SyncRecord.objects.count()
    other = connections.create_connection("default")  # the worker running the first sync
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_reconcile_lock_id(synced_tenant.pk)])
        with pytest.raises(SyncRunningElsewhere):
            connect_tenant_reconcile(tenant_id=synced_tenant.pk, trigger="schedule")
        # The task tries again after the running one instead of recording a failure.
        with pytest.raises(Retry) as retry:
            connect_tenant_sync.apply(args=(synced_tenant.pk,))
        assert retry.value.when == SyncRunningElsewhere.retry_after
        assert SyncRecord.objects.count() == before
        # Once the first has finished, the lock is free again.
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        with run_lock(f"connect-reconcile:{synced_tenant.pk}") as held:
            assert held
        connect_tenant_reconcile(tenant_id=synced_tenant.pk, trigger="schedule")
        assert SyncRecord.objects.count() == before + 1
    finally:
        other.close()


def _reconcile_lock_id(tenant_id: int) -> int:
    from common.locks import _lock_id

    return _lock_id(f"connect-reconcile:{tenant_id}")

"""Lost work is found by time: a sync, a token refresh or a bulk item queued longer than its lease
is enqueued again by the next beat tick; one still within its lease is left alone. The dashboard
says how much work waits past its lease."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.bulk import bulk_operation_start
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

pytestmark = pytest.mark.django_db


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

"""A reconcile's database work does not grow with the fleet: the same number of queries for a
tenant among a few as among hundreds (with their assignments and sync history), under a small
ceiling. Which statements run is the reconcile's business; how many, and that the count is flat,
is what keeps a fleet-wide sync cycle cheap."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connect.models import ConnectAssignment, ConnectTemplate, SyncRecord, TenantConnectState
from connect.services.reconcile import connect_tenant_reconcile
from connect.tests.factories import ConnectTemplateFactory
from tenants.models import Tenant
from tenants.tests.factories import IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db
SCHEDULE = SyncRecord.Trigger.SCHEDULE
# Generous: reads of the tenant, its token and its templates, and one transaction of writes
# (without REDIS_URL the call budget adds its own few statements).
MAX_QUERIES = 14


def _reconcile_queries(tenant: Tenant) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    assert result.outcome == SyncRecord.Outcome.IN_SYNC, result.message
    return len(queries), "\n".join(q["sql"] for q in queries.captured_queries)


def _fleet_grow(*, integration, template, count: int) -> None:
    tenants = TenantFactory.create_batch(
        count, integration=integration, status=Tenant.Status.ACTIVE
    )
    ConnectAssignment.objects.bulk_create(
        ConnectAssignment(template=template, tenant=t, overrides={}) for t in tenants
    )
    now = timezone.now()
    SyncRecord.objects.bulk_create(
        SyncRecord(tenant=t, started_at=now, trigger=SCHEDULE, outcome="in_sync")
        for t in tenants
        for _ in range(3)
    )
    TenantConnectState.objects.bulk_create(TenantConnectState(tenant=t) for t in tenants)
    # Templates of another integration never apply to this tenant.
    ConnectTemplateFactory.create_batch(5, integration=IntegrationFactory())


def test_an_in_sync_reconcile_runs_as_many_queries_in_a_large_fleet_as_in_a_small_one(
    emulator, emulator_integration, consented_tenant
):
    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    chosen = ConnectTemplateFactory(
        integration=emulator_integration,
        slug="chosen",
        applies_to=ConnectTemplate.AppliesTo.CHOSEN,
    )
    tenant = consented_tenant(slug="acme")
    ConnectAssignment.objects.create(template=chosen, tenant=tenant)
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)  # first push
    small, _ = _reconcile_queries(tenant)

    _fleet_grow(integration=emulator_integration, template=chosen, count=300)
    large, sqls = _reconcile_queries(tenant)

    assert small == large, sqls
    assert large <= MAX_QUERIES, sqls
    assert sorted(TenantConnectState.objects.get(tenant=tenant).connect_ids) == [
        "chosen",
        "hooks",
    ]


def test_an_in_sync_reconcile_clears_the_failure_state_and_keeps_what_the_account_carries(
    emulator, emulator_integration, consented_tenant
):
    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    tenant = consented_tenant(slug="acme")
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)  # first push
    pushed = TenantConnectState.objects.get(tenant=tenant)
    # As after two failed syncs, with a sync queued.
    TenantConnectState.objects.filter(tenant=tenant).update(
        status=TenantConnectState.Status.FAILING,
        last_outcome=SyncRecord.Outcome.FAILED,
        last_error="DocuSign refused (500)",
        consecutive_failures=2,
        queued_at=timezone.now(),
        rate_limit_remaining=None,
    )

    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    state = TenantConnectState.objects.get(tenant=tenant)
    record = SyncRecord.objects.get(pk=result.record_id)
    assert result.status == TenantConnectState.Status.IN_SYNC
    assert state.status == TenantConnectState.Status.IN_SYNC
    assert state.last_outcome == SyncRecord.Outcome.IN_SYNC
    assert (state.last_error, state.consecutive_failures, state.queued_at) == ("", 0, None)
    assert state.last_sync_at == record.finished_at
    assert state.connect_ids == pushed.connect_ids != {}
    assert state.versions == pushed.versions != {}
    assert state.rate_limit_remaining is not None  # the list's X-RateLimit headers

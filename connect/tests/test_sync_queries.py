"""The database work of one reconcile is fixed: an in-sync tenant costs the same few statements
whatever the fleet's size, and no field the reconcile touches is loaded lazily (one query each)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connect.models import SyncRecord, TenantConnectState
from connect.services.sync import connect_tenant_reconcile
from connect.tests.factories import ConnectTemplateFactory

pytestmark = pytest.mark.django_db
SCHEDULE = SyncRecord.Trigger.SCHEDULE


def test_an_in_sync_reconcile_makes_a_fixed_set_of_statements(
    emulator, emulator_integration, consented_tenant
):
    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    tenant = consented_tenant(slug="acme")
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)  # first push

    with CaptureQueriesContext(connection) as queries:
        result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert result.outcome == SyncRecord.Outcome.IN_SYNC
    statements = _without_budget_fallback([q["sql"] for q in queries.captured_queries])
    # The tenant with its integration, account and token; the templates that apply; then, in one
    # transaction (a savepoint inside the test's own), the history row, the state row updated
    # (not read first: nothing of it is needed when everything is in place), the day's count.
    assert statements == [
        "SELECT",
        "SELECT",
        "SAVEPOINT",
        "INSERT",
        "UPDATE",
        "INSERT",
        "RELEASE",
    ], "\n".join(q["sql"] for q in queries.captured_queries)


def _without_budget_fallback(sqls: list[str]) -> list[str]:
    """First words of the statements, leaving out the API budget's database fallback (used
    without Redis: its own savepoint, selects and update), which the budget's tests cover."""
    words = [sql.split()[0].upper() for sql in sqls if "apibudgetwindow" not in sql]
    kept: list[str] = []
    for word in words:
        if word == "RELEASE" and kept and kept[-1] == "SAVEPOINT":
            kept.pop()  # the fallback's savepoint, emptied above
            continue
        kept.append(word)
    return kept


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

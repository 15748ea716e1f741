"""Reconcile against the emulator: push, no-op sync, drift repaired or reported, faults, history."""

import pytest
from celery.exceptions import Retry

from connect.budget import BudgetExhausted
from connect.models import (
    ConnectAssignment,
    ConnectTemplate,
    SyncDailyStat,
    SyncRecord,
    TenantConnectState,
)
from connect.selectors.fleet import connect_health_counts
from connect.selectors.panel import connect_tenant_panel
from connect.services.offboard import connect_offboard
from connect.services.reconcile import connect_tenant_reconcile
from connect.services.templates import config_name
from connect.tasks import connect_sync_due, connect_tenant_sync
from connect.tests.factories import ConnectTemplateFactory
from docusign_api import DocuSignRateLimited
from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_2_ID,
    TEST_SINGLE_ADMIN_USER_ID,
)
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("emulator_put_mode")]
SCHEDULE = SyncRecord.Trigger.SCHEDULE
LIST = "GET /restapi/connect"


@pytest.fixture
def template(emulator_integration):
    return ConnectTemplateFactory(integration=emulator_integration, slug="hooks")


@pytest.fixture
def tenant(consented_tenant, template):
    return consented_tenant(slug="acme")


def run_task_with_retries(tenant_id: int, *, max_runs: int = 20) -> list[float]:
    """Run `connect_tenant_sync` as a worker would: each Retry is run again (its countdown is
    returned instead of waited for). Eager Celery raises Retry rather than re-running."""
    signature = connect_tenant_sync.s(tenant_id)
    countdowns = []
    for _ in range(max_runs):
        try:
            signature.apply()
        except Retry as retry:
            countdowns.append(retry.when)
            signature = retry.sig
        else:
            return countdowns
    raise AssertionError(f"still retrying after {max_runs} runs")


def ours(emulator, account_id=TEST_ACCOUNT_1_ID, slug="hooks"):
    return [c for c in emulator.connect_configs(account_id) if c["name"] == config_name(slug)]


def rest_calls(emulator, account_id=TEST_ACCOUNT_1_ID) -> dict:
    calls = emulator.calls().get("by_account", {}).get(account_id, {})
    return {k: v for k, v in calls.items() if "/restapi/" in k}


def test_first_push_creates_exactly_one_integrator_managed_configuration(emulator, tenant):
    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    configs = emulator.connect_configs(TEST_ACCOUNT_1_ID)
    assert len(configs) == 1
    config = configs[0]
    assert config["name"] == "PartnerPortal: hooks"
    assert config["integratorManaged"] == "true"
    assert config["includeHMAC"] == "true"
    assert config["urlToPublishTo"] == "https://hooks.partner.example/ds/acme"
    assert config["events"] == ["envelope-sent", "envelope-completed", "recipient-completed"]
    assert result.outcome == SyncRecord.Outcome.CHANGED
    state = TenantConnectState.objects.get(tenant=tenant)
    assert state.status == TenantConnectState.Status.IN_SYNC
    assert state.connect_ids == {"hooks": config["connectId"]}
    assert state.versions == {"hooks": 1}
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE


def test_second_sync_makes_one_list_call_and_changes_nothing(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    before = emulator.connect_configs(TEST_ACCOUNT_1_ID)
    emulator.reset_calls()

    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert rest_calls(emulator) == {LIST: 1}
    assert result.api_calls == 1
    assert result.outcome == SyncRecord.Outcome.IN_SYNC
    assert emulator.connect_configs(TEST_ACCOUNT_1_ID) == before


def test_edited_configuration_is_repaired_with_a_field_diff_in_history(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    connect_id = ours(emulator)[0]["connectId"]
    emulator.drift_edit(
        TEST_ACCOUNT_1_ID, connect_id, urlToPublishTo="https://other.example/x", includeHMAC="false"
    )

    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    config = ours(emulator)[0]
    assert config["connectId"] == connect_id
    assert config["urlToPublishTo"] == "https://hooks.partner.example/ds/acme"
    assert config["includeHMAC"] == "true"
    fields = {f["field"]: f for f in result.changes[0]["fields"]}
    assert fields["url_to_publish_to"]["actual"] == "https://other.example/x"
    assert fields["include_hmac"] == {"field": "include_hmac", "desired": "true", "actual": "false"}
    assert TenantConnectState.objects.get(tenant=tenant).status == "repaired"
    record = SyncRecord.objects.filter(tenant=tenant).first()
    assert record.changes[0]["action"] == "update"
    assert record.api_calls == 2


def test_deleted_configuration_is_recreated(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    emulator.drift_delete(TEST_ACCOUNT_1_ID, ours(emulator)[0]["connectId"])

    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert len(ours(emulator)) == 1
    assert TenantConnectState.objects.get(tenant=tenant).status == "repaired"


def test_disabled_and_paused_configurations_are_enabled_again(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    old_id = ours(emulator)[0]["connectId"]
    emulator.drift_edit(TEST_ACCOUNT_1_ID, old_id, disabledBy="DocuSign")

    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    [config] = ours(emulator)
    assert not config.get("disabledBy")
    assert config["connectId"] != old_id
    emulator.drift_edit(TEST_ACCOUNT_1_ID, config["connectId"], pausePublish="true")

    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    [config] = ours(emulator)
    assert config["pausePublish"] == "false"


def test_duplicates_are_deleted_keeping_the_oldest(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    [original] = ours(emulator)
    body = {k: v for k, v in original.items() if k != "connectId"}
    emulator.drift_create(TEST_ACCOUNT_1_ID, body)
    emulator.drift_create(TEST_ACCOUNT_1_ID, body)
    emulator.drift_create(TEST_ACCOUNT_1_ID, {**body, "name": "Client's own hook"})
    assert len(ours(emulator)) == 3

    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert [c["connectId"] for c in ours(emulator)] == [original["connectId"]]
    names = sorted(c["name"] for c in emulator.connect_configs(TEST_ACCOUNT_1_ID))
    assert names == ["Client's own hook", "PartnerPortal: hooks"]
    # The tenant page names the configuration kept, never a deleted copy.
    state = TenantConnectState.objects.get(tenant=tenant)
    assert list(state.connect_ids.values()) == [original["connectId"]]
    [row] = connect_tenant_panel(tenant=tenant)["templates"]
    assert row["connect_id"] == original["connectId"]


def test_report_policy_reports_drift_and_changes_nothing(emulator, tenant, template):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    ConnectTemplate.objects.filter(pk=template.pk).update(policy="report")
    connect_id = ours(emulator)[0]["connectId"]
    emulator.drift_edit(TEST_ACCOUNT_1_ID, connect_id, enableLog="false")
    emulator.drift_create(TEST_ACCOUNT_1_ID, {**ours(emulator)[0], "connectId": None})
    emulator.reset_calls()

    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert rest_calls(emulator) == {LIST: 1}
    assert result.outcome == SyncRecord.Outcome.DRIFT
    assert {c["action"] for c in result.changes} == {"update", "delete_duplicate"}
    assert not any(c["applied"] for c in result.changes)
    assert len(ours(emulator)) == 2
    assert TenantConnectState.objects.get(tenant=tenant).status == "drift"
    panel = connect_tenant_panel(tenant=tenant)
    assert panel["status_badge"] == "warn"
    assert any(f["field"] == "enable_log" for d in panel["differences"] for f in d["fields"])

    # A bulk push repairs even a report-only template.
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SyncRecord.Trigger.BULK_PUSH)
    [config] = ours(emulator)
    assert config["enableLog"] == "true"


def test_rejected_template_shows_docusign_message_and_other_tenants_carry_on(
    emulator, consented_tenant, emulator_integration, template
):
    bad = ConnectTemplateFactory(
        integration=emulator_integration,
        slug="picky",
        applies_to=ConnectTemplate.AppliesTo.CHOSEN,
        settings={"all_users": False},
    )
    first = consented_tenant(slug="first")
    second = consented_tenant(
        slug="second", user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID
    )
    ConnectAssignment.objects.create(template=bad, tenant=first)

    failed = connect_tenant_reconcile(tenant_id=first.pk, trigger=SCHEDULE)
    fine = connect_tenant_reconcile(tenant_id=second.pk, trigger=SCHEDULE)

    assert failed.outcome == SyncRecord.Outcome.FAILED
    assert "userIds must list at least one user" in failed.message
    # The good template still reached the account.
    assert len(ours(emulator)) == 1
    assert ours(emulator, slug="picky") == []
    state = TenantConnectState.objects.get(tenant=first)
    assert state.status == "failing"
    assert "userIds" in state.last_error
    assert state.consecutive_failures == 1
    assert fine.outcome == SyncRecord.Outcome.CHANGED
    assert len(ours(emulator, TEST_ACCOUNT_2_ID)) == 1
    assert connect_health_counts()["failing"] == 1


def test_tenant_needing_reconsent_is_skipped_not_failed(emulator, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.NEEDS_RECONSENT)

    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert result.outcome == SyncRecord.Outcome.SKIPPED
    assert "consent again" in result.message
    state = TenantConnectState.objects.get(tenant=tenant)
    assert (state.status, state.consecutive_failures) == ("skipped", 0)
    assert emulator.connect_configs(TEST_ACCOUNT_1_ID) == []
    assert SyncDailyStat.objects.get(outcome="skipped").count == 1


def test_5xx_faults_converge_through_task_retries(emulator, tenant):
    emulator.fault(LIST, status=503, count=4)  # the client retries GETs 3 times itself
    emulator.fault("POST /restapi/connect", status=503, count=1)  # a POST is never retried

    run_task_with_retries(tenant.pk)

    assert len(ours(emulator)) == 1
    emulator.drift_edit(TEST_ACCOUNT_1_ID, ours(emulator)[0]["connectId"], enableLog="false")
    emulator.fault("PUT /restapi/connect", kind="timeout", count=1, delay_s=0.1)
    emulator.fault("PUT /restapi/connect", status=502, count=3)

    run_task_with_retries(tenant.pk)

    [config] = ours(emulator)
    assert config["enableLog"] == "true"
    assert not SyncRecord.objects.filter(tenant=tenant, outcome="failed").exists()


def test_rate_limits_stop_before_writing_and_converge_once_the_window_passes(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    emulator.drift_edit(TEST_ACCOUNT_1_ID, ours(emulator)[0]["connectId"], enableLog="false")
    # One call left in the burst window: the list uses it, and its headers say none remain.
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=1)
    emulator.reset_calls()

    with pytest.raises(BudgetExhausted):
        connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert rest_calls(emulator) == {LIST: 1}
    with pytest.raises(DocuSignRateLimited):
        connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    emulator.advance_clock(31)

    result = connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert result.outcome == SyncRecord.Outcome.CHANGED
    assert ours(emulator)[0]["enableLog"] == "true"


def test_rate_limited_task_gives_up_after_its_retries_and_records_a_failure(emulator, tenant):
    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, burst_remaining=0)

    countdowns = run_task_with_retries(tenant.pk)  # the window never ends: no clock moves

    assert len(countdowns) == 5
    assert all(0 < c <= 30 for c in countdowns)

    state = TenantConnectState.objects.get(tenant=tenant)
    assert state.status == "failing"
    assert "BURST_APIINVOCATION_LIMIT_EXCEEDED" in state.last_error


def test_spent_budget_reschedules_without_calling_docusign(emulator, tenant, settings):
    settings.CONNECT_BUDGET_BURST = 0
    emulator.reset_calls()

    with pytest.raises(BudgetExhausted) as caught:
        connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert 1 <= caught.value.retry_after <= 30
    assert rest_calls(emulator) == {}
    assert not SyncRecord.objects.exists()


def test_sync_due_fans_out_to_due_tenants_only(emulator, tenant, consented_tenant):
    other = consented_tenant(
        slug="other", user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID
    )
    Tenant.objects.filter(pk=other.pk).update(archived_at="2024-01-01T00:00:00Z")

    assert connect_sync_due() == 1
    assert SyncRecord.objects.filter(tenant=tenant).count() == 1
    assert connect_sync_due() == 0  # synced just now: not due again


def test_offboard_deletes_only_the_portals_configurations(emulator, tenant):
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)
    emulator.drift_create(
        TEST_ACCOUNT_1_ID, {**ours(emulator)[0], "connectId": None, "name": "Client's own hook"}
    )

    assert connect_offboard(tenant_id=tenant.pk) == 1

    assert [c["name"] for c in emulator.connect_configs(TEST_ACCOUNT_1_ID)] == ["Client's own hook"]
    assert TenantConnectState.objects.get(tenant=tenant).connect_ids == {}


def test_sync_records_docusigns_hourly_count_and_the_dashboard_warns_when_it_runs_low(
    emulator, tenant, staff_client
):
    from django.urls import reverse

    emulator.set_rate_limit(TEST_ACCOUNT_1_ID, hourly_remaining=120)
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    state = TenantConnectState.objects.get(tenant=tenant)
    assert state.rate_limit_limit == 3000  # the emulator's default, as DocuSign's
    assert state.rate_limit_remaining < 120  # the list and the create counted down from there
    assert state.rate_limit_reset_at is not None

    dashboard = staff_client("support").get(reverse("dashboard"))
    low = next(a for a in dashboard.context["attention"] if a["key"] == "rate_limit_low")
    assert low["count"] == 1
    assert low["tenants"][0]["name"] == tenant.name
    assert "of 3000 calls left until" in low["tenants"][0]["reason"]


def test_a_healthy_hourly_count_raises_no_rate_limit_warning(emulator, tenant, staff_client):
    from django.urls import reverse

    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SCHEDULE)

    assert TenantConnectState.objects.get(tenant=tenant).rate_limit_remaining > 2900
    dashboard = staff_client("support").get(reverse("dashboard"))
    low = next(a for a in dashboard.context["attention"] if a["key"] == "rate_limit_low")
    assert low["count"] == 0

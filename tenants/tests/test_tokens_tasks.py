"""The scheduler side: what is due, the fan-out, retries, keep-alive and lapse reminders."""

import inspect
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from common.models import AuditEvent
from docusign_emulator.testing import TEST_ACCOUNT_2_ID, TEST_SINGLE_ADMIN_USER_ID
from portal.celery import app
from tenants import tasks
from tenants.models import Tenant, TenantToken
from tenants.selectors.tokens import token_lapse_due_tenant_ids, token_refresh_due_tenant_ids
from tenants.tests.factories import TenantAccountFactory, TenantFactory, TenantTokenFactory

REFRESH = "POST /oauth/token refresh_token"


def tenant_with_tokens(*, status=Tenant.Status.CONSENTED, account_id, **token_fields):
    tenant = TenantFactory(status=status)
    TenantAccountFactory(tenant=tenant, account_id=account_id)
    TenantTokenFactory(tenant=tenant, **token_fields)
    return tenant


@pytest.fixture
def eager_retries():
    """Eager Celery re-applies a retried task at once (countdown ignored), like a worker would
    after the backoff; with propagation on, the second retry would raise `Retry` instead."""
    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


pytestmark = pytest.mark.usefixtures("staff_alerts")


@pytest.mark.django_db
def test_due_selector_picks_expiring_missing_and_idle_tokens_of_live_tenants_only():
    now = timezone.now()
    soon = tenant_with_tokens(account_id="a1", access_expires_at=now + timedelta(minutes=20))
    expired_error = tenant_with_tokens(
        account_id="a2", status=Tenant.Status.ERROR, access_expires_at=now - timedelta(hours=1)
    )
    idle = tenant_with_tokens(account_id="a3", refreshed_at=now - timedelta(days=8))
    missing = tenant_with_tokens(account_id="a4", access_token="", access_expires_at=None)
    tenant_with_tokens(account_id="b1", access_expires_at=now + timedelta(hours=5))
    tenant_with_tokens(
        account_id="b2",
        status=Tenant.Status.NEEDS_RECONSENT,
        access_expires_at=now - timedelta(hours=1),
    )
    tenant_with_tokens(
        account_id="b3", status=Tenant.Status.SUSPENDED, access_expires_at=now - timedelta(hours=1)
    )
    archived = tenant_with_tokens(account_id="b4", access_expires_at=now - timedelta(hours=1))
    Tenant.objects.filter(pk=archived.pk).update(archived_at=now)
    jwt_idle = tenant_with_tokens(
        account_id="b5", refresh_token="", refreshed_at=now - timedelta(days=8)
    )
    Tenant.objects.filter(pk=jwt_idle.pk).update(grant_mode=Tenant.GrantMode.JWT)

    due = token_refresh_due_tenant_ids()

    assert sorted(due) == sorted([soon.pk, expired_error.pk, idle.pk, missing.pk])


@pytest.mark.django_db
def test_beat_fans_out_one_refresh_per_due_tenant_and_each_refreshes_once(
    consented_tenant, emulator
):
    due = consented_tenant()
    fresh = consented_tenant(user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID)
    TenantToken.objects.filter(tenant=due).update(
        access_expires_at=timezone.now() + timedelta(minutes=10)
    )
    emulator.config(refresh_rotation="strict")
    emulator.reset_calls()

    assert tasks.token_refresh_due.delay().get() == 1
    # A second beat run (or a redelivered task) finds nothing left to do.
    assert tasks.token_refresh_due.delay().get() == 0

    assert emulator.calls().get(REFRESH, 0) == 1
    assert TenantToken.objects.get(tenant=due).generation == 1
    assert TenantToken.objects.get(tenant=fresh).generation == 0


@pytest.mark.django_db
def test_refresh_task_retries_transient_errors_then_succeeds(
    consented_tenant, emulator, eager_retries
):
    tenant = consented_tenant()
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )
    emulator.fault("POST /oauth/token", status=503, count=2)
    emulator.reset_calls()

    result = tasks.token_refresh.delay(tenant.pk)

    tenant.refresh_from_db()
    row = TenantToken.objects.get(tenant=tenant)
    assert result.state == "SUCCESS"
    assert emulator.calls().get(REFRESH, 0) == 3
    assert row.generation == 1
    assert row.failure_count == 0
    assert tenant.status == Tenant.Status.CONSENTED


@pytest.mark.django_db
def test_refresh_task_that_runs_out_of_retries_flags_error_and_recovers_later(
    consented_tenant, emulator, eager_retries
):
    tenant = consented_tenant()
    TenantToken.objects.filter(tenant=tenant).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )
    emulator.fault("POST /oauth/token", status=503, count=tasks.REFRESH_MAX_RETRIES + 1)

    emulator.reset_calls()

    result = tasks.token_refresh.delay(tenant.pk)

    assert result.state == "SUCCESS"  # given up: recorded, not raised
    assert emulator.calls().get(REFRESH, 0) == tasks.REFRESH_MAX_RETRIES + 1
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ERROR
    assert "retried on every schedule" in tenant.status_reason

    tasks.token_refresh_due.delay()

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.CONSENTED
    assert AuditEvent.objects.filter(action="token.recovered", target_id=str(tenant.pk)).exists()


def test_refresh_task_takes_only_an_id_and_retry_counts():
    # Nothing sensitive can travel through the broker.
    assert list(inspect.signature(tasks.token_refresh.run).parameters) == [
        "tenant_id",
        "tries",
        "database_tries",
    ]


def test_beat_schedule_runs_the_token_tasks():
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"tenants.tasks.token_refresh_due", "tenants.tasks.token_lapse_reminders_due"} <= (
        scheduled
    )


@pytest.mark.django_db
def test_lapse_reminder_is_sent_once_for_a_grant_ending_within_a_week(
    django_capture_on_commit_callbacks,
):
    now = timezone.now()
    lapsing = tenant_with_tokens(account_id="a1", refresh_expires_at=now + timedelta(days=3))
    tenant_with_tokens(account_id="a2", refresh_expires_at=now + timedelta(days=20))
    tenant_with_tokens(
        account_id="a3",
        status=Tenant.Status.NEEDS_RECONSENT,
        refresh_expires_at=now + timedelta(days=3),
    )
    assert token_lapse_due_tenant_ids() == [lapsing.pk]

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.token_lapse_reminders_due.delay().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.token_lapse_reminders_due.delay().get() == 0

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@partner.test"]
    assert lapsing.name in mail.outbox[0].subject
    assert TenantToken.objects.get(tenant=lapsing).lapse_reminder_sent_at is not None
    assert (
        AuditEvent.objects.filter(action="token.lapse_reminder", target_id=str(lapsing.pk)).count()
        == 1
    )


@pytest.mark.django_db
def test_large_fan_out_is_spread_over_chunk_tasks_and_still_refreshes_each_tenant_once(
    consented_tenant, emulator, monkeypatch
):
    monkeypatch.setattr(tasks, "FAN_OUT_CHUNK", 1)
    first = consented_tenant()
    second = consented_tenant(user_id=TEST_SINGLE_ADMIN_USER_ID, account_id=TEST_ACCOUNT_2_ID)
    TenantToken.objects.update(access_expires_at=timezone.now() + timedelta(minutes=5))
    emulator.reset_calls()

    assert tasks.token_refresh_due.delay().get() == 2

    assert emulator.calls().get(REFRESH, 0) == 2
    assert {t.generation for t in TenantToken.objects.filter(tenant__in=[first, second])} == {1}

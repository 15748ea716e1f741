"""The delivery-failure pages: the tenant tab, the fleet page with the outage form, the panel and
the dashboard tiles. DocuSign is not called here (the end-to-end tests do that)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from common.models import AuditEvent, BulkOperation
from recovery.models import DeliveryFailure, TenantRecovery
from tenants.tests.factories import TenantAccountFactory

pytestmark = pytest.mark.django_db
State = DeliveryFailure.State


@pytest.fixture
def tenant():
    return TenantAccountFactory().tenant


def failure(tenant, envelope_id="env-1", state=State.OPEN, **fields):
    return DeliveryFailure.objects.create(
        tenant=tenant,
        source=fields.pop("source", DeliveryFailure.Source.FAILURE_LOG),
        source_id=fields.pop("source_id", f"f-{envelope_id}-{state}"),
        envelope_id=envelope_id,
        envelope_status=fields.pop("envelope_status", "completed"),
        error=fields.pop("error", "HTTP 503"),
        docusign_created_at=fields.pop("docusign_created_at", timezone.now()),
        state=state,
        **fields,
    )


def test_tenant_tab_lists_envelope_event_error_first_seen_and_retried(staff_client, tenant):
    failure(tenant, "env-open")
    failure(tenant, "env-again", State.FAILED_AGAIN, republish_count=2, state_reason="HTTP 502")
    failure(tenant, "env-done", State.RECOVERED)
    client = staff_client(Role.SUPPORT)
    url = reverse("tenant-delivery-failures", kwargs={"tenant_id": tenant.pk})

    page = client.get(url).content.decode()

    assert "env-open" in page
    assert "env-again" in page
    assert "env-done" not in page
    assert "envelope-completed" in page
    assert "HTTP 503" in page
    assert "HTTP 502" in page
    assert "yes, 2 times" in page
    assert "delivery-failures/republish/" not in page  # support may look, not act
    recovered = client.get(url, {"show": "recovered"}).content.decode()
    assert "env-done" in recovered
    assert "env-open" not in recovered


def test_republish_one_envelope_starts_an_audited_bulk_operation(
    staff_client, tenant, django_capture_on_commit_callbacks
):
    failure(tenant, "env-1")
    failure(tenant, "env-2")
    client = staff_client(Role.OPERATOR)
    url = reverse("tenant-delivery-republish", kwargs={"tenant_id": tenant.pk})

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"envelope_id": "env-1"})

    operation = BulkOperation.objects.get(kind=BulkOperation.Kind.CONNECT_REPUBLISH)
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk-detail", kwargs={"operation_id": operation.pk})
    assert AuditEvent.objects.filter(action="recovery.republish.start").exists()
    # The emulator-less tenant has no token: the row says why, and nothing is recovered.
    one = DeliveryFailure.objects.get(envelope_id="env-1")
    assert one.state == State.FAILED_AGAIN
    assert "token" in one.state_reason
    assert DeliveryFailure.objects.get(envelope_id="env-2").state == State.OPEN


def test_republish_needs_the_operate_permission(staff_client, tenant):
    failure(tenant)
    client = staff_client(Role.SUPPORT)
    url = reverse("tenant-delivery-republish", kwargs={"tenant_id": tenant.pk})
    assert client.post(url).status_code == 403
    assert not BulkOperation.objects.exists()


def test_outage_form_refuses_a_backwards_window_and_an_empty_one(staff_client, tenant):
    client = staff_client(Role.OPERATOR)
    url = reverse("delivery-failures")
    backwards = client.post(url, {"start": "2026-12-03T10:00", "end": "2026-12-03T09:00"})
    assert backwards.status_code == 400
    assert "The end must be after the start." in backwards.content.decode()
    empty = client.post(url, {"start": "2020-01-01T10:00", "end": "2020-01-01T11:00"})
    assert empty.status_code == 400
    assert "No unrecovered failure" in empty.content.decode()
    assert not BulkOperation.objects.exists()


def test_outage_window_picks_only_failures_recorded_inside_it(
    staff_client, tenant, django_capture_on_commit_callbacks
):
    now = timezone.now()
    inside = failure(tenant, "inside", docusign_created_at=now - timedelta(minutes=30))
    outside = failure(tenant, "outside", docusign_created_at=now - timedelta(days=2))
    client = staff_client(Role.OPERATOR)
    start = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("delivery-failures"), {"start": start, "end": end})

    assert response.status_code == 302
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert inside.republish_count == 1  # tried (no token here, so it failed again)
    assert (outside.state, outside.republish_count) == (State.OPEN, 0)


def test_panel_and_dashboard_show_completeness_and_tenants_with_unrecovered_failures(
    staff_client, tenant
):
    failure(tenant, "gap-1", source=DeliveryFailure.Source.COMPLETENESS)
    TenantRecovery.objects.create(
        tenant=tenant,
        completeness_checked_at=timezone.now(),
        completeness_days=7,
        completeness_expected=50,
        completeness_received=49,
        completeness_percent=98.0,
    )
    client = staff_client(Role.SUPPORT)

    detail = client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})).content.decode()
    dashboard = client.get(reverse("dashboard")).content.decode()

    assert "Delivery completeness over the last 7 days" in detail
    assert "98.0%" in detail
    assert "?show=gaps" in detail
    assert "tenants with unrecovered failures" in dashboard
    assert "98.0%" in dashboard
    assert tenant.name in dashboard

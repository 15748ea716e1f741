"""Offboarding runs both apps' steps in order: the portal's Connect configurations leave the
client's account while the tokens still work, then the tokens and the account link are forgotten."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from common.models import AuditEvent
from connect.models import SyncRecord
from connect.services.reconcile import connect_tenant_reconcile
from connect.services.templates import config_name
from connect.tests.factories import ConnectTemplateFactory
from docusign_emulator.testing import TEST_ACCOUNT_1_ID
from portal.services.offboarding import tenant_offboard
from tenants.models import Tenant, TenantAccount, TenantToken

pytestmark = pytest.mark.django_db
LIST = "GET /restapi/connect"


@pytest.fixture
def pushed_tenant(emulator, emulator_integration, consented_tenant):
    ConnectTemplateFactory(integration=emulator_integration, slug="hooks")
    tenant = consented_tenant()
    connect_tenant_reconcile(tenant_id=tenant.pk, trigger=SyncRecord.Trigger.SCHEDULE)
    assert [c["name"] for c in emulator.connect_configs(TEST_ACCOUNT_1_ID)] == [
        config_name("hooks")
    ]
    return tenant


def test_offboarding_removes_the_configurations_then_forgets_tokens_and_link(
    staff_client, pushed_tenant, emulator
):
    tenant = pushed_tenant

    response = staff_client(Role.OPERATOR).post(
        reverse("tenant-offboard", kwargs={"tenant_id": tenant.pk}),
        {"confirm_slug": tenant.slug},
    )

    assert response.status_code == 302
    assert emulator.connect_configs(TEST_ACCOUNT_1_ID) == []
    assert SyncRecord.objects.filter(tenant=tenant, trigger="offboard").exists()
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.OFFBOARDED
    assert not TenantToken.objects.filter(tenant=tenant).exists()
    assert not TenantAccount.objects.filter(tenant=tenant).exists()
    assert AuditEvent.objects.filter(action="connect.offboard").exists()
    assert AuditEvent.objects.filter(action="tenant.offboard", outcome="success").exists()


def test_offboarding_keeps_the_tokens_when_docusign_refuses_the_cleanup_unless_forced(
    staff_client, pushed_tenant, emulator
):
    tenant = pushed_tenant
    emulator.fault(LIST, "status", status=400, count=2)
    client = staff_client(Role.OPERATOR)
    url = reverse("tenant-offboard", kwargs={"tenant_id": tenant.pk})

    refused = client.post(url, {"confirm_slug": tenant.slug})

    assert refused.status_code == 409
    assert "Removing the Connect configurations failed: DocuSign answered 400" in (
        refused.content.decode()
    )
    assert TenantToken.objects.filter(tenant=tenant).exists()
    assert AuditEvent.objects.filter(action="tenant.offboard", outcome="failure").exists()

    forced = client.post(url, {"confirm_slug": tenant.slug, "force": "on"})

    assert forced.status_code == 302
    assert not TenantToken.objects.filter(tenant=tenant).exists()
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.OFFBOARDED
    assert "cleanup forced" in tenant.status_reason


def test_offboarding_an_offboarded_tenant_does_nothing(pushed_tenant, emulator):
    tenant = pushed_tenant
    assert tenant_offboard(tenant=tenant) == []
    tenant.refresh_from_db()
    emulator.reset_calls()

    assert tenant_offboard(tenant=tenant) == []
    assert emulator.calls().get(LIST, 0) == 0

"""The tenant pages' shared base: the permission check comes before the tenant lookup, and an action
goes back only to one of our own pages."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from common.models import AuditEvent
from tenants.models import Tenant
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_tenant_answers_403_to_a_role_without_the_permission(staff_client):
    client = staff_client(Role.SUPPORT)

    response = client.post(reverse("tenant-archive", kwargs={"tenant_id": 999_999}))

    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.denied").count() == 1


def test_an_unknown_tenant_answers_404_once_the_role_may_act(staff_client):
    response = staff_client(Role.OWNER).post(
        reverse("tenant-archive", kwargs={"tenant_id": 999_999})
    )

    assert response.status_code == 404


def test_an_action_returns_to_the_page_it_was_posted_from(staff_client):
    tenant = TenantFactory()

    response = staff_client(Role.OWNER).post(
        reverse("tenant-archive", kwargs={"tenant_id": tenant.pk}), {"next": "/tenants/?q=x"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/tenants/?q=x"
    assert Tenant.objects.get(pk=tenant.pk).is_archived


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_an_action_never_redirects_off_site(staff_client, target):
    tenant = TenantFactory()

    response = staff_client(Role.OWNER).post(
        reverse("tenant-archive", kwargs={"tenant_id": tenant.pk}), {"next": target}
    )

    assert response["Location"] == reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})


def test_an_action_answers_only_post(staff_client):
    tenant = TenantFactory()

    response = staff_client(Role.OWNER).get(
        reverse("tenant-connect-sync", kwargs={"tenant_id": tenant.pk})
    )

    assert response.status_code == 405

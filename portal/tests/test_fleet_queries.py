"""The fleet pages run a bounded number of queries: the same for 100 tenants as for 10,000."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from portal.tests.fleet_data import fleet_create
from tenants.models import Tenant
from tenants.tests.factories import IntegrationFactory

# Generous ceilings: the point is that they do not grow with the fleet.
# The dashboard's delivery-recovery tile adds three (recovery.selectors.recovery_dashboard_summary).
MAX_QUERIES = {"dashboard": 26, "list": 12, "tenant": 40}


def _pages(tenant_id: int) -> dict[str, tuple[str, str]]:
    tenants = reverse("tenant-list")
    return {
        "dashboard": ("dashboard", reverse("dashboard")),
        "list plain": ("list", tenants),
        "list page 3": ("list", f"{tenants}?page=3"),
        "list filtered": (
            "list",
            f"{tenants}?q=client&status=active&health=in_sync&sort=-last_sync",
        ),
        "list needs action": ("list", f"{tenants}?attention=lapsing&sort=token_expiry"),
        "tenant page": ("tenant", reverse("tenant-detail", kwargs={"tenant_id": tenant_id})),
    }


def _count_queries(client, tenant_id: int) -> dict[str, int]:
    counts = {}
    for label, (_, url) in _pages(tenant_id).items():
        client.get(url)  # warm: the session and per-process caches are not what we measure
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, label
        counts[label] = len(queries)
    return counts


@pytest.mark.django_db
def test_pages_run_the_same_number_of_queries_for_100_and_10000_tenants(staff_client):
    integration = IntegrationFactory()
    fleet_create(
        count=100, integration=integration, sync_days=365, sync_per_tenant_day=0.05, prefix="Small"
    )
    tenant_id = (
        Tenant.objects.filter(status=Tenant.Status.ACTIVE, connect_state__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    client = staff_client(Role.OWNER)
    small = _count_queries(client, tenant_id)

    fleet_create(
        count=9_900, integration=integration, sync_days=365, sync_per_tenant_day=0.01, prefix="Big"
    )
    assert Tenant.objects.count() == 10_000
    big = _count_queries(client, tenant_id)

    assert min(small.values()) > 0  # the counting itself works
    assert big == small
    for label, (kind, _) in _pages(tenant_id).items():
        assert big[label] <= MAX_QUERIES[kind], (label, big[label])


@pytest.mark.django_db
def test_dashboard_stays_within_its_query_budget(staff_client, django_assert_max_num_queries):
    fleet_create(count=200, integration=IntegrationFactory(), sync_days=30, sync_per_tenant_day=0.2)
    client = staff_client(Role.SUPPORT)
    client.get(reverse("dashboard"))
    with django_assert_max_num_queries(MAX_QUERIES["dashboard"]):
        assert client.get(reverse("dashboard")).status_code == 200

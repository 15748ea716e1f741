"""A refresh's database work does not grow with the fleet: the same number of queries for one
tenant among a few as among hundreds, under a small ceiling (no field the token service touches
is loaded lazily, one query each)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Tenant, TenantToken
from tenants.services.tokens import token_get_valid, token_refresh
from tenants.tests.factories import TenantAccountFactory, TenantFactory, TenantTokenFactory

pytestmark = pytest.mark.django_db
# The generation seen, then two transactions, each the row with its tenant, integration and
# account, locked (PostgreSQL adds its lock timeout): the first commits the mark that a call is
# about to be sent, the second stores the new tokens; the rest is headroom.
MAX_REFRESH_QUERIES = 12


def _refresh_queries(tenant: Tenant) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        token_refresh(tenant_id=tenant.pk, force=True)
    return len(queries), "\n".join(q["sql"] for q in queries.captured_queries)


def _fleet_grow(*, integration, count: int) -> None:
    for _ in range(count):
        tenant = TenantFactory(integration=integration, status=Tenant.Status.ACTIVE)
        TenantAccountFactory(tenant=tenant, account_id=str(uuid.uuid4()))
        TenantTokenFactory(tenant=tenant)


@pytest.mark.parametrize("grant_mode", [Tenant.GrantMode.AUTHORIZATION_CODE, Tenant.GrantMode.JWT])
def test_a_refresh_runs_as_many_queries_in_a_large_fleet_as_in_a_small_one(
    consented_tenant, emulator, grant_mode
):
    tenant = consented_tenant(grant_mode=grant_mode)
    small, _ = _refresh_queries(tenant)

    _fleet_grow(integration=tenant.integration, count=100)
    large, sqls = _refresh_queries(tenant)

    assert TenantToken.objects.get(tenant=tenant).generation == 2
    assert small == large, sqls
    assert large <= MAX_REFRESH_QUERIES, sqls


def test_a_fresh_token_costs_one_query(consented_tenant, emulator):
    tenant = consented_tenant()

    with CaptureQueriesContext(connection) as queries:
        token_get_valid(tenant_id=tenant.pk)

    assert len(queries) == 1

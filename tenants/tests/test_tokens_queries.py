"""The database work of a refresh is fixed and has no lazy loads: each field the token service
touches comes with the locked row (tenants/services/tokens.py, _ROW_FIELDS)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Tenant, TenantToken
from tenants.services.tokens import token_get_valid, token_refresh

pytestmark = pytest.mark.django_db


def _statements(queries) -> list[str]:
    # SET LOCAL lock_timeout is PostgreSQL's only (SQLite waits on its busy timeout instead).
    words = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    return [word for word in words if word != "SET"]


def test_a_scheduled_refresh_reads_the_row_once_under_its_lock(consented_tenant, emulator):
    tenant = consented_tenant()

    with CaptureQueriesContext(connection) as queries:
        token_refresh(tenant_id=tenant.pk, force=True)

    assert TenantToken.objects.get(tenant=tenant).generation == 1
    sqls = "\n".join(q["sql"] for q in queries.captured_queries)
    # The generation seen (force), then in one transaction: the row with its tenant, integration
    # and account, locked; the new tokens (a routine renewal writes no audit row).
    assert _statements(queries) == ["SELECT", "SAVEPOINT", "SELECT", "UPDATE", "RELEASE"], sqls


def test_a_jwt_tenant_refreshes_with_the_same_statements(consented_tenant, emulator):
    tenant = consented_tenant(grant_mode=Tenant.GrantMode.JWT)

    with CaptureQueriesContext(connection) as queries:
        token_refresh(tenant_id=tenant.pk, force=True)

    assert TenantToken.objects.get(tenant=tenant).generation == 1
    assert _statements(queries) == ["SELECT", "SAVEPOINT", "SELECT", "UPDATE", "RELEASE"]


def test_a_fresh_token_costs_one_query(consented_tenant, emulator):
    tenant = consented_tenant()

    with CaptureQueriesContext(connection) as queries:
        token_get_valid(tenant_id=tenant.pk)

    assert _statements(queries) == ["SELECT"]

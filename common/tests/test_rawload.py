"""Model instances built from a hand-written SELECT behave like the ORM's own."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import rawload
from tenants.models import Tenant, TenantToken
from tenants.tests.factories import TenantFactory, TenantTokenFactory

pytestmark = pytest.mark.django_db

# Deliberately not in the models' field order.
TOKEN_FIELDS = ("access_expires_at", "access_token", "tenant_id")
TENANT_FIELDS = ("status", "id", "slug")


def load(tenant_id: int):
    sql = (
        f"SELECT {rawload.columns('k', TenantToken, TOKEN_FIELDS)}, "  # noqa: S608
        f"{rawload.columns('t', Tenant, TENANT_FIELDS)} "
        f"FROM {rawload.table(TenantToken)} k JOIN {rawload.table(Tenant)} t "
        "ON t.id = k.tenant_id WHERE k.tenant_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id])
        row = cursor.fetchone()
    token = rawload.instance(TenantToken, TOKEN_FIELDS, row[:3])
    tenant = rawload.instance(Tenant, TENANT_FIELDS, row[3:])
    return token, tenant


def test_values_are_converted_and_land_on_their_own_fields():
    stored = TenantTokenFactory(tenant=TenantFactory(slug="acme"))

    token, tenant = load(stored.tenant_id)

    # Decrypted (the column holds ciphertext), a real datetime on SQLite too, in the right fields.
    assert token.access_token == stored.access_token
    assert token.access_expires_at == TenantToken.objects.get(pk=stored.pk).access_expires_at
    assert (tenant.pk, tenant.slug, tenant.status) == (
        stored.tenant_id,
        "acme",
        stored.tenant.status,
    )
    assert not tenant._state.adding  # loaded, not new: save() updates


def test_a_field_left_out_loads_on_first_touch():
    stored = TenantTokenFactory(tenant=TenantFactory(name="Acme GmbH"))
    _, tenant = load(stored.tenant_id)

    with CaptureQueriesContext(connection) as queries:
        assert tenant.name == "Acme GmbH"

    assert len(queries) == 1

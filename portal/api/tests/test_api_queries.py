"""The tenant list and a tenant's status cost the same number of queries however many tenants
there are (ceilings, not exact SQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.tests.fleet_data import fleet_create
from tenants.models import Tenant
from tenants.tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    # The fewer of two runs: once a minute a request also stamps the key's last use and opens a
    # new rate-limit window, and a slow run may cross a minute.
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    return min(counts)


def test_list_and_status_queries_do_not_grow_with_the_fleet(api, settings):
    settings.REDIS_URL = ""  # the rate limit's database fallback: every query counted here
    client = api()
    integration = IntegrationFactory()
    fleet_create(count=8, integration=integration, prefix="Small")
    tenant = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk").first()
    urls = [
        "/api/v1/tenants/",
        "/api/v1/tenants/?attention=sync_failing&health=failing",
        f"/api/v1/tenants/{tenant.pk}/status/",
    ]
    small = [_queries(client, url) for url in urls]

    fleet_create(count=80, integration=integration, prefix="Large")
    large = [_queries(client, url) for url in urls]

    assert large == small
    # Key (1), rate-limit window (4 without Redis: savepoint, lock, update, release), the active
    # Connect templates (1, for "template version behind"), the page.
    assert small[0] <= 7
    # Issue 17 added "template version behind" (the active templates, read for the header and the
    # reasons), the reasons' annotations and the recovery panel; the point is large == small.
    assert small[2] <= 20

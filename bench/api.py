"""Server time of the partner API's tenant list and tenant status at 10,000 tenants, and proof
that their query counts do not grow with the fleet.

    .venv/bin/python bench/api.py [--tenants 10000] [--requests 100] [--keep]

Builds a dedicated PostgreSQL database (`portal_bench_api` on the server of DATABASE_URL, or
127.0.0.1:5432) with a tenth of the fleet, counts each request's queries, grows the fleet to the
full size, counts again, then times each request in-process with DRF's test client and an API key
holding every scope (server time only: no network). Prints p50/p95 and both query counts. Redis is
used for the rate limit when REDIS_URL is set. The database is dropped unless --keep is given.
Target: p95 under 100 ms.
"""

import argparse
import os
import statistics
import sys
import time

from benchlib import (
    bench_database_url,
    bench_env,
    database_for_run,
    demo_integration_create,
    percentile,
)

BENCH_DB = "portal_bench_api"
TARGET_P95_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    bench_url = bench_database_url(BENCH_DB)
    # Production settings: DEBUG off, so Django does not record every query.
    os.environ.update(
        bench_env(
            database_url=bench_url, ALLOWED_HOSTS="testserver", API_RATE_LIMIT_PER_MINUTE="1000000"
        )
    )
    with database_for_run(bench_url, keep=args.keep):
        return _run(args)


def _requests(integration_id: int, tenant_id: int) -> dict[str, str]:
    return {
        "tenant list": "/api/v1/tenants/",
        "tenant list, filtered": f"/api/v1/tenants/?status=active&health=in_sync"
        f"&integration={integration_id}",
        "tenant list, search": "/api/v1/tenants/?q=client%2000042",
        "tenant list, needs a human": "/api/v1/tenants/?attention=sync_failing",
        "tenant status": f"/api/v1/tenants/{tenant_id}/status/",
    }


def _run(args) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from apikeys.tests.factories import api_key_issue
    from portal.tests.fleet_data import fleet_create
    from tenants.models import Tenant

    call_command("migrate", verbosity=0)
    integration = demo_integration_create()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_issue().secret}")

    def counts() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        tenant = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk").first()
        found = {}
        for label, url in _requests(integration.pk, tenant.pk).items():
            client.get(url)  # warm: the key's last-used stamp, the rate-limit window
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200, url
            found[label] = len(queries)
        return found

    started = time.perf_counter()
    small = max(100, args.tenants // 10)
    fleet_create(count=small, integration=integration, prefix="Bench")
    small_counts = counts()
    fleet_create(count=args.tenants - small, integration=integration, prefix="More")
    full_counts = counts()
    print(
        f"data: {Tenant.objects.count():,} tenants, ready in {time.perf_counter() - started:.0f} s;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work on the "
        "machine inflates the figures)",
        flush=True,
    )
    tenant = Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("pk").first()
    # CPU time of this process per request: what the figures would be on an idle machine.
    header = f"{'request':30} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu ms':>7}"
    print(f"{header} {f'queries@{small}':>14} {f'queries@{args.tenants}':>16}")
    worst_p95 = 0.0
    for label, url in _requests(integration.pk, tenant.pk).items():
        samples = []
        cpu_started = time.process_time()
        for _ in range(args.requests):
            begin = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, url
        cpu_ms = (time.process_time() - cpu_started) * 1000 / args.requests
        p95 = percentile(samples, 95)
        worst_p95 = max(worst_p95, p95)
        print(
            f"{label:30} {statistics.median(samples):8.1f} {p95:8.1f} {max(samples):8.1f} "
            f"{cpu_ms:7.1f} {small_counts[label]:14d} {full_counts[label]:16d}"
        )
    constant = small_counts == full_counts
    verdict = "met" if worst_p95 < TARGET_P95_MS else "MISSED"
    print(f"query counts constant in N: {'yes' if constant else 'NO'}")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict}")
    return 0 if constant and worst_p95 < TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())

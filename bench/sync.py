"""Connect sync benchmark: a full sync cycle of an in-sync fleet, against a sequential SDK loop.

    .venv/bin/python bench/sync.py [--tenants 1000] [--workers 4] [--concurrency 8]
                                   [--cycles 3] [--no-loop]

Starts its own emulator (`--latency-ms 100`), uses a dedicated PostgreSQL database
(`portal_bench_sync` on the server DATABASE_URL names; dropped and recreated each run; never the dev
database) and REDIS_URL for Celery and the call budget (default redis://127.0.0.1:6379/7, flushed),
prints the figures and stops everything it started.

Each tenant is its own DocuSign account (seeded through the control plane: the emulator's burst
limit of 200 calls per 30 s applies per account), with its own admin user and tokens.

1. The fleet gets its configuration (first push, not timed).
2. Cycle: every tenant is made due, the beat task body (`connect_sync_due`) fans out one task per
   tenant to the `sync` queue, consumed by the standard worker setup: docker-compose.yml's four
   `worker` replicas, each the Procfile's worker command (threads pool, `--concurrency`
   WORKER_CONCURRENCY = 8, every queue, `--loglevel INFO`), with production settings (DEBUG off,
   LOG_LEVEL=INFO). Timed from the fan-out to the last tenant's sync (its last_sync_at); three
   cycles by default, one after the other, and their median is the figure (a single cycle of
   about 5 s moves with whatever else the machine does). Target: 1.0 API call per in-sync tenant.
3. Loop: the same work with the official `docusign-esign` SDK in a plain sequential loop: list
   configurations per account, compare with the desired state, change nothing.
   Target: the workers at least 20 times faster.
"""

import argparse
import os
import statistics
import subprocess
import time

from benchlib import (
    REPO_ROOT,
    bench_database_url,
    bench_env,
    connect_template_seed,
    database_recreate,
    emulator_fleet_seed,
    processes_stop,
    worker_command,
)

BENCH_DB_NAME = "portal_bench_sync"
LIST_KEY = "GET /restapi/connect"


def start_workers(count: int, concurrency: int) -> list[subprocess.Popen]:
    # docker-compose.yml's worker replicas: each runs the Procfile's worker command as it is (a
    # distinct --hostname stands in for each container's own host name).
    return [
        subprocess.Popen(
            worker_command(concurrency=concurrency, hostname=f"bench-sync-{i}@%h"),
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--cycles", type=int, default=3, help="timed cycles; the ratio uses their median"
    )
    parser.add_argument(
        "--no-loop", action="store_true", help="skip the SDK loop (to compare two variants)"
    )
    args = parser.parse_args()

    db_url = bench_database_url(BENCH_DB_NAME)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/7"
    # Production settings, LOG_LEVEL as .env.example has it.
    os.environ.update(
        bench_env(
            database_url=db_url,
            redis_url=redis_url,
            log_level="INFO",
            WORKER_CONCURRENCY=str(args.concurrency),
        )
    )
    database_recreate(db_url)

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from docusign_emulator.testing import (
        TEST_SEED,
        EmulatorServer,
    )

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    workers: list[subprocess.Popen] = []
    with EmulatorServer(latency_ms=100) as server:
        try:
            control = server.control
            control.reset(seed=TEST_SEED)
            tenants = seed_fleet(server, args.tenants)
            workers = start_workers(args.workers, args.concurrency)
            print(
                f"{args.tenants} tenants, {args.workers} worker(s) x {args.concurrency} "
                "threads, emulator latency 100 ms"
            )
            first = run_cycle(tenants)
            print(f"first push (creates):          {first:7.2f} s")
            control.reset_calls()
            cycles = []
            for _ in range(args.cycles):
                cycles.append(run_cycle(tenants))
                print(f"sync cycle (workers):          {cycles[-1]:7.2f} s")
            calls = control.calls()
            rest = sum(v for k, v in calls.items() if " /restapi" in k) / args.cycles
            in_sync = check_in_sync(tenants)
            processes_stop(workers)
            workers = []
            cycle = statistics.median(cycles)
            print(
                f"API calls per in-sync tenant:  {rest / len(tenants):7.2f}  "
                f"({calls.get(LIST_KEY, 0) / args.cycles:.0f} lists, {rest:.0f} REST calls per "
                "cycle; target 1.0)"
            )
            print(f"tenants in sync after cycle:   {in_sync:7d} / {len(tenants)}")
            print(f"full sync cycle (workers):     {cycle:7.2f} s (median of {args.cycles})")
            if args.no_loop:
                return
            loop = sdk_loop(server, tenants)
            print(f"sequential docusign-esign loop:{loop:7.2f} s")
            print(f"ratio (loop / workers):        {loop / cycle:7.1f} x  (target >= 20)")
        finally:
            processes_stop(workers)
            redis.Redis.from_url(redis_url).flushdb()


def seed_fleet(server, count: int) -> list:
    """The bench fleet (benchlib) and one Connect template for all of it."""
    integration, tenants, _ = emulator_fleet_seed(server, count=count)
    connect_template_seed(integration)
    return tenants


def run_cycle(tenants) -> float:
    """Make every tenant due, run the beat task body, wait for every tenant's sync."""
    from datetime import timedelta

    from django.db.models import Count, Max
    from django.utils import timezone

    from connect.models import TenantConnectState
    from connect.tasks import connect_sync_due

    long_ago = timezone.now() - timedelta(days=1)
    TenantConnectState.objects.update(last_sync_at=long_ago, queued_at=None, lease_expires_at=None)
    start_at = timezone.now()
    enqueued = connect_sync_due()
    assert enqueued == len(tenants), enqueued
    deadline = time.monotonic() + 600
    synced = TenantConnectState.objects.filter(last_sync_at__gte=start_at)
    while time.monotonic() < deadline:
        # The time comes from the rows (the last sync's finish), so a poll every 0.2 s loses no
        # precision and takes little CPU from the workers being measured.
        time.sleep(0.2)
        progress = synced.aggregate(done=Count("pk"), last=Max("last_sync_at"))
        if progress["done"] >= len(tenants):
            return (progress["last"] - start_at).total_seconds()
    raise SystemExit("the sync cycle did not finish within 10 minutes")


def check_in_sync(tenants) -> int:
    from connect.models import TenantConnectState

    return TenantConnectState.objects.filter(status="in_sync", last_outcome="in_sync").count()


def sdk_loop(server, tenants) -> float:
    """One plain loop: for each account, list with the official SDK, compare, change nothing."""
    from docusign_esign import ApiClient, ConnectApi

    from connect.selectors.desired import connect_desired_for_tenant
    from docusign_api import ConnectConfiguration
    from tenants.models import Tenant

    rows = list(Tenant.objects.select_related("account", "token", "integration").order_by("pk"))
    desired = {
        t.pk: connect_desired_for_tenant(tenant=t, account_id=t.account.account_id)[0] for t in rows
    }
    started = time.monotonic()
    differing = 0
    for tenant in rows:
        client = ApiClient(host=tenant.account.base_uri + "/restapi")
        client.set_default_header("Authorization", f"Bearer {tenant.token.access_token}")
        result = ConnectApi(client).list_configurations(tenant.account.account_id)
        want = desired[tenant.pk]
        found = [
            ConnectConfiguration.from_wire(client.sanitize_for_serialization(c))
            for c in result.configurations or []
        ]
        mine = [c for c in found if c.name == want.name]
        if len(mine) != 1 or want.config.drift(mine[0]):
            differing += 1
    elapsed = time.monotonic() - started
    if differing:
        print(f"(the SDK loop found {differing} accounts differing)")
    return elapsed


if __name__ == "__main__":
    main()

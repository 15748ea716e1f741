"""Token refresh benchmark: one refresh for a crowd, and the fleet refreshed by real workers.

    .venv/bin/python bench/refresh.py [--requests 1000] [--tenants 5000] [--workers 4]

Starts its own emulator (`--latency-ms 100`, strict refresh-token rotation), uses a dedicated
PostgreSQL database (`portal_bench` on the server DATABASE_URL names; dropped, recreated and
migrated on each run; never the dev database) and REDIS_URL for Celery, prints
the figures, and stops everything it started.

1. Crowd: N requests for the token of one tenant whose access token has expired, issued at the
   same instant from several processes and threads (each thread a database connection, so the
   concurrency is bounded by PostgreSQL's max_connections; the figure printed says how many were
   in flight). Target: exactly 1 token call.
2. Fleet: M tenants whose access tokens expire within the refresh window. The beat task body
   (`token_refresh_due`) fans out one Celery task per tenant to the `refresh` queue, consumed by
   the standard worker setup: docker-compose.yml's four `worker` replicas, each the Procfile's
   worker command (threads pool, `--concurrency` WORKER_CONCURRENCY = 8, every queue,
   `--loglevel INFO`), with production settings (DEBUG off, LOG_LEVEL=INFO). Timed from the
   fan-out to the last refresh stored (the latest refreshed_at). Target: >= 200/s.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from benchlib import REPO_ROOT, bench_database_url, bench_env, database_recreate, worker_command

BENCH_DB_NAME = "portal_bench"
REFRESH_KEY = "POST /oauth/token refresh_token"


# One crowd process: `threads` threads share `requests` calls, all starting at `start_at`.
CROWD = """
import hashlib, json, sys, threading, time
import django
django.setup()
from django.db import connection
from tenants.services.tokens import token_get_valid

ready_at = time.time()
tenant_id, threads, requests, start_at = map(float, sys.argv[1:5])
tenant_id, threads, requests = int(tenant_id), int(threads), int(requests)
digests, errors, latencies, ends = [], [], [], []
lock = threading.Lock()
remaining = [requests]

def worker():
    while time.time() < start_at:
        time.sleep(0.0005)
    while True:
        with lock:
            if remaining[0] == 0:
                break
            remaining[0] -= 1
        began = time.perf_counter()
        try:
            token = token_get_valid(tenant_id=tenant_id)
            digests.append(hashlib.sha256(token.token.encode()).hexdigest())
        except Exception as exc:
            errors.append(type(exc).__name__)
        latencies.append(time.perf_counter() - began)
    ends.append(time.time())
    connection.close()

pool = [threading.Thread(target=worker) for _ in range(threads)]
for t in pool: t.start()
for t in pool: t.join()
print(json.dumps({"digests": sorted(set(digests)), "ok": len(digests), "errors": errors,
                  "latencies": latencies, "ready_in_time": ready_at < start_at,
                  "ended_at": max(ends, default=start_at)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--crowd-processes", type=int, default=4)
    parser.add_argument("--crowd-threads", type=int, default=12)
    parser.add_argument("--tenants", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker")
    parser.add_argument(
        "--fleet-rotation",
        choices=["strict", "lenient"],
        default="strict",
        help="emulator refresh-token rotation for part 2 (strict scans every token per refresh)",
    )
    args = parser.parse_args()

    db_url = bench_database_url(BENCH_DB_NAME)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6")
    # Production settings, LOG_LEVEL as .env.example has it; every process started inherits them.
    os.environ.update(bench_env(database_url=db_url, redis_url=redis_url, log_level="INFO"))
    print(f"database: {db_url}")
    print(f"broker:   {redis_url}")
    database_recreate(db_url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from docusign_emulator.testing import EmulatorServer

    with EmulatorServer(latency_ms=100) as emulator:
        print(f"emulator: {emulator.url} (latency 100 ms, strict refresh-token rotation)")
        control = emulator.control
        _, tenant_ids = setup(control, emulator, tenants=args.tenants + 1)
        crowd(control, tenant_ids[0], args)
        control.config(refresh_rotation=args.fleet_rotation)
        fleet(control, tenant_ids[1:], args)
    return 0


def setup(control, emulator, *, tenants: int):
    """Fresh data: a reset emulator with one user per tenant (strict rotation caps unused refresh
    tokens per user, so tenants must not share one), and matching consented tenants."""
    from django.utils import timezone

    from docusign_emulator.testing import (
        TEST_ACCOUNT_1_ID,
        TEST_CLIENT_ID,
        TEST_CLIENT_SECRET,
        TEST_PRIVATE_KEY_PEM,
        TEST_PUBLIC_KEY_PEM,
        TEST_REDIRECT_URI,
        TEST_SEED,
    )
    from tenants.models import Integration, Tenant, TenantAccount, TenantToken

    started = time.perf_counter()
    control.reset(seed=TEST_SEED)
    control.config(refresh_rotation="strict")
    user_ids = [f"bench-user-{n:05d}" for n in range(tenants)]
    for chunk in range(0, tenants, 1000):
        control.seed(
            users=[
                {
                    "user_id": user_id,
                    "email": f"{user_id}@bench.test",
                    "password": "bench-password",
                    "name": user_id,
                    "memberships": [{"account_id": TEST_ACCOUNT_1_ID, "is_admin": True}],
                }
                for user_id in user_ids[chunk : chunk + 1000]
            ]
        )
    with ThreadPoolExecutor(16) as pool:
        issued = list(
            pool.map(lambda user_id: control.issue_tokens(TEST_CLIENT_ID, user_id), user_ids)
        )

    Tenant.objects.filter(slug__startswith="bench-").delete()
    integration, _ = Integration.objects.update_or_create(
        name="Bench emulator",
        defaults={
            "environment": Integration.Environment.EMULATOR,
            "auth_base_url": emulator.url,
            "integration_key": TEST_CLIENT_ID,
            "secret_key": TEST_CLIENT_SECRET,
            "rsa_private_key": TEST_PRIVATE_KEY_PEM.decode("ascii"),
            "rsa_public_key": TEST_PUBLIC_KEY_PEM,
            "redirect_uri": TEST_REDIRECT_URI,
        },
    )
    now = timezone.now()
    created = Tenant.objects.bulk_create(
        [
            Tenant(
                name=f"Bench tenant {n:05d}",
                slug=f"bench-{n:05d}",
                admin_email=f"admin{n}@bench.test",
                integration=integration,
                status=Tenant.Status.CONSENTED,
            )
            for n in range(tenants)
        ],
        batch_size=1000,
    )
    TenantAccount.objects.bulk_create(
        [
            TenantAccount(
                tenant=tenant,
                account_id=f"bench-account-{n:05d}",
                base_uri=emulator.base_uri("na3"),
                user_id=user_ids[n],
                scopes="signature extended",
                consented_at=now,
            )
            for n, tenant in enumerate(created)
        ],
        batch_size=1000,
    )
    TenantToken.objects.bulk_create(
        [
            TenantToken(
                tenant=tenant,
                access_token=issued[n]["access_token"],
                # Due: inside the 30-minute refresh window, not yet expired.
                access_expires_at=now + timedelta(minutes=10),
                refresh_token=issued[n]["refresh_token"],
                refresh_expires_at=now + timedelta(days=30),
            )
            for n, tenant in enumerate(created)
        ],
        batch_size=1000,
    )
    print(f"setup:    {tenants} consented tenants in {time.perf_counter() - started:.1f}s")
    return integration, [tenant.pk for tenant in created]


def crowd(control, tenant_id: int, args) -> None:
    from django.utils import timezone

    from tenants.models import TenantToken

    TenantToken.objects.filter(tenant_id=tenant_id).update(
        access_expires_at=timezone.now() - timedelta(minutes=1)
    )
    control.reset_calls()
    processes, threads = args.crowd_processes, args.crowd_threads
    shares = [
        args.requests // processes + (i < args.requests % processes) for i in range(processes)
    ]
    # Far enough ahead for every interpreter to import Django first, so all start together.
    start_at = time.time() + 10
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CROWD, str(tenant_id), str(threads), str(share), str(start_at)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    elapsed = max(r["ended_at"] for r in results) - start_at
    calls = control.calls().get(REFRESH_KEY, 0)
    digests = {d for r in results for d in r["digests"]}
    errors = [e for r in results for e in r["errors"]]
    latencies = sorted(x for r in results for x in r["latencies"])
    stored = TenantToken.objects.get(tenant_id=tenant_id).access_token
    same = digests == {hashlib.sha256(stored.encode()).hexdigest()}
    if not all(r["ready_in_time"] for r in results):
        print("    WARNING: a crowd process was not ready at the start instant")
    print(
        f"\n[1] {args.requests} concurrent requests for one expired tenant "
        f"({processes} processes x {threads} threads in flight at once)"
    )
    print(f"    token calls to DocuSign: {calls}   (target 1)")
    print(
        f"    answered: {sum(r['ok'] for r in results)}, errors: {len(errors)}, "
        f"distinct tokens handed out: {len(digests)} (all equal to the stored one: {same})"
    )
    print(
        f"    wall time {elapsed:.2f}s; latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms"
    )


def fleet(control, tenant_ids: list[int], args) -> None:
    from django.db.models import Count, Max, Q
    from django.utils import timezone

    from portal.celery import app
    from tenants.models import TenantToken
    from tenants.tasks import token_refresh_due

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("refresh")
    log_dir = REPO_ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    workers = []
    for n in range(args.workers):
        log = open(log_dir / f"worker-{n}.log", "w")  # noqa: SIM115 - closed below
        cmd = worker_command(concurrency=args.concurrency, hostname=f"bench{n}@%h")
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=log)
        workers.append((proc, log))
    try:
        _wait_for_workers(app, args.workers)
        control.reset_calls()
        tokens = TenantToken.objects.filter(tenant_id__in=tenant_ids)
        started_at = timezone.now()
        started = time.perf_counter()
        due = token_refresh_due.run()  # the beat task's body: select due tenants, fan out
        fanned_out = time.perf_counter() - started
        total = len(tenant_ids)
        while True:
            # Once a second is enough: the time is taken from the rows (the last refreshed_at),
            # and a rarer count takes less CPU from the workers being measured.
            time.sleep(1.0)
            counts = tokens.aggregate(
                done=Count("pk", filter=Q(generation__gte=1)),
                failed=Count("pk", filter=Q(failure_count__gt=0)),
                last=Max("refreshed_at"),
            )
            if counts["done"] >= total or time.perf_counter() - started > 600:
                break
        elapsed = (counts["last"] - started_at).total_seconds()
    finally:
        for proc, _log in workers:
            proc.terminate()
        for proc, log in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    calls = control.calls().get(REFRESH_KEY, 0)
    print(
        f"\n[2] {total} expiring tenants refreshed by {args.workers} worker(s) x "
        f"{args.concurrency} threads (celery --pool threads), DocuSign latency 100 ms, "
        f"{args.fleet_rotation} rotation"
    )
    print(f"    due found and fanned out: {due} tasks in {fanned_out:.2f}s")
    print(
        f"    refreshed: {counts['done']}/{total} in {elapsed:.1f}s = "
        f"{counts['done'] / elapsed:.0f} tenants/s   (target >= 200/s)"
    )
    print(f"    token calls: {calls}; tenants with a failure recorded: {counts['failed']}")
    print(
        f"    ceiling at 100 ms per call: {args.workers * args.concurrency * 10} tenants/s "
        f"({args.workers * args.concurrency} refreshes in flight)"
    )
    print(f"    worker logs: {log_dir}")


def _wait_for_workers(app, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= count:
            return
        time.sleep(0.5)
    raise SystemExit(f"only {len(replies)} of {count} workers answered within 60s")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())

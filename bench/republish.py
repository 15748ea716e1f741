"""Republish benchmark: a fleet's listener goes down, every account's deliveries fail, then the
outage window is republished and every event must come back exactly once.

    .venv/bin/python bench/republish.py [--tenants 200] [--envelopes 20] [--workers 4]
                                        [--concurrency 8] [--port 8801]

Starts its own emulator (`--latency-ms 100`), the portal's web process (the Procfile's gunicorn
settings, on 127.0.0.1:--port) and the standard worker setup (`--workers` replicas of the
Procfile's worker command), on a dedicated PostgreSQL database (`portal_bench_republish`, dropped
and recreated each run) and REDIS_URL (default redis://127.0.0.1:6379/7, flushed); stops
everything it started.

1. `--tenants` accounts, each with its own admin, tenant, tokens and a Connect configuration
   (requiresAcknowledgement, partner HMAC) pointing at the portal.
2. The listener is down (the configurations point at a closed port) while `--envelopes` envelopes
   per account complete: every delivery fails and lands in the account's failure log.
3. The scheduled copy (`delivery_failures_copy_due`, fanned out to the workers) brings every
   failure into the portal (timed, not the headline).
4. The listener is back; "republish the outage window" starts one bulk operation over the fleet.
   Timed from the start to the last failure marked recovered (its event stored and matched). The
   emulator queues each republish and answers at once (`retry_queue_delivery: background`), as
   DocuSign does with `synchronous: "false"`.

Prints DocuSign calls per recovered envelope (the retry_queue calls; target at most 1 per 50, by
batching: one call carries up to RECOVERY_REPUBLISH_BATCH envelope ids of one account, so the floor
is one call per account), the time to recover the fleet, and whether every event arrived once.
"""

import argparse
import os
import subprocess
import time
from datetime import timedelta

from benchlib import (
    REPO_ROOT,
    bench_database_url,
    bench_env,
    database_recreate,
    emulator_fleet_seed,
    gunicorn_command,
    port_wait,
    processes_stop,
    worker_command,
)

BENCH_DB_NAME = "portal_bench_republish"
HOOK_PATH = "/hooks/docusign/connect/"
DOWN_URL = "http://127.0.0.1:9/hooks/docusign/connect/"
HMAC_KEY = "bench-partner-hmac-key-0123456789abcdef"
RETRY_KEY = "PUT /restapi/connect/envelopes/retry_queue"


def start_processes(args) -> list[subprocess.Popen]:
    web = subprocess.Popen(
        gunicorn_command("portal.wsgi", args.port), cwd=REPO_ROOT, stdout=subprocess.DEVNULL
    )
    workers = [
        subprocess.Popen(
            # The events queue too: the republished events are processed (the forwarder's work).
            worker_command(
                concurrency=args.concurrency,
                hostname=f"bench-republish-{i}@%h",
                queues="default,refresh,sync,events",
            ),
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(args.workers)
    ]
    return [web, *workers]


def wait_for(predicate, what: str, timeout: float = 900) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"{what} did not happen within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--envelopes", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8801)
    args = parser.parse_args()

    db_url = bench_database_url(BENCH_DB_NAME)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/7"
    os.environ.update(
        bench_env(
            database_url=db_url, redis_url=redis_url, WORKER_CONCURRENCY=str(args.concurrency)
        )
    )
    database_recreate(db_url)

    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from docusign_emulator.testing import TEST_PARTNER_ACCOUNT_ID, TEST_SEED, EmulatorServer
    from events.models import ConnectEvent
    from recovery.models import DeliveryFailure, TenantRecovery
    from recovery.services.republish import delivery_failures_republish
    from recovery.tasks import delivery_failures_copy_due

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    processes: list[subprocess.Popen] = []
    hook = f"http://127.0.0.1:{args.port}{HOOK_PATH}"
    with EmulatorServer(latency_ms=100) as server:
        try:
            control = server.control
            control.reset(seed=TEST_SEED)
            # DocuSign queues a republish (synchronous "false") and answers at once.
            control.config(retry_queue_delivery="background")
            control.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [HMAC_KEY])
            accounts, configs = seed_fleet(server, args.tenants, hook)
            processes = start_processes(args)
            port_wait(args.port, "the portal's web process", process=processes[0])
            print(
                f"{args.tenants} tenants x {args.envelopes} envelopes, {args.workers} worker(s) x "
                f"{args.concurrency} threads, emulator latency 100 ms"
            )
            for account, connect_id in zip(accounts, configs, strict=True):
                control.drift_edit(account, connect_id, urlToPublishTo=DOWN_URL)
            outage_start = timezone.now() - timedelta(seconds=1)
            for account in accounts:
                control.simulate_envelopes(account, count=args.envelopes, statuses=["completed"])
            outage_end = timezone.now()
            failed = len(control.state()["failures"])
            print(f"failed deliveries in DocuSign's logs:   {failed:7d}")

            delivery_failures_copy_due()
            copy_s = wait_for(
                lambda: (
                    TenantRecovery.objects.filter(failures_checked_at__isnull=False).count()
                    >= args.tenants
                ),
                "the failure copy",
            )
            copied = DeliveryFailure.objects.count()
            print(f"failures copied into the portal:        {copied:7d}  ({copy_s:.1f} s)")

            for account, connect_id in zip(accounts, configs, strict=True):
                control.drift_edit(account, connect_id, urlToPublishTo=hook)
            control.reset_calls()
            started = time.monotonic()
            operation = delivery_failures_republish(
                actor=None, start=outage_start, end=outage_end + timedelta(seconds=1)
            )
            recovered_q = DeliveryFailure.objects.filter(state=DeliveryFailure.State.RECOVERED)
            wait_for(lambda: recovered_q.count() >= copied, "recovering every failure")
            recover_s = time.monotonic() - started
            calls = control.calls()
            retry_calls = calls.get(RETRY_KEY, 0)
            rest_calls = sum(v for k, v in calls.items() if " /restapi" in k)
            recovered = recovered_q.values("envelope_id").distinct().count()
            dupes = (
                ConnectEvent.objects.values("envelope_id", "event")
                .annotate(n=Count("id"))
                .filter(n__gt=1)
                .count()
            )
            operation.refresh_from_db()
            print(
                f"bulk operation:                         {operation.done:7d} / {operation.total}"
            )
            print(
                f"DocuSign calls per recovered envelope:  1 per {recovered / retry_calls:.0f}  "
                f"({retry_calls} retry_queue calls, {rest_calls} REST calls in all, "
                f"{recovered} envelopes; target at most 1 per 50)"
            )
            print(f"time to recover the fleet:              {recover_s:7.2f} s")
            print(
                f"events received exactly once:           {'yes' if not dupes else 'NO'}  "
                f"({ConnectEvent.objects.count()} events, {dupes} duplicated)"
            )
        finally:
            processes_stop(processes)
            redis.Redis.from_url(redis_url).flushdb()


def seed_fleet(server, count: int, hook: str) -> tuple[list[str], list[str]]:
    """The bench fleet (benchlib), the partner HMAC key, and one Connect configuration per account
    pointing at the portal: (account ids, connect ids)."""
    from events.models import PartnerHmacKey

    integration, _, accounts = emulator_fleet_seed(server, count=count)
    PartnerHmacKey.objects.create(
        integration=integration, label="bench", secret=HMAC_KEY, created_by_label="bench"
    )
    configs = []
    for i, account in enumerate(accounts):
        config = server.control.drift_create(
            account,
            {
                "name": f"PartnerPortal: bench-{i}",
                "configurationType": "custom",
                "urlToPublishTo": hook,
                "allowEnvelopePublish": "true",
                "allUsers": "true",
                "requiresAcknowledgement": "true",
                "deliveryMode": "SIM",
                "eventData": {"version": "restv2.1"},
                "events": ["envelope-completed"],
                "integratorManaged": "true",
                "includeHMAC": "true",
            },
        )
        configs.append(config["connectId"])
    return accounts, configs


if __name__ == "__main__":
    main()

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
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchlib import database_recreate, worker_command

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

BENCH_DB_NAME = "portal_bench_republish"
HOOK_PATH = "/hooks/docusign/connect/"
DOWN_URL = "http://127.0.0.1:9/hooks/docusign/connect/"
HMAC_KEY = "bench-partner-hmac-key-0123456789abcdef"
RETRY_KEY = "PUT /restapi/connect/envelopes/retry_queue"


def bench_database_url() -> str:
    given = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    parts = urlsplit(given)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"bench/republish.py needs PostgreSQL; DATABASE_URL is {parts.scheme}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB_NAME}", parts.query, ""))


def child_env(db_url: str, redis_url: str, concurrency: int) -> dict:
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WORKER_CONCURRENCY": str(concurrency),
        "PYTHONPATH": str(REPO_ROOT),
        "LOG_LEVEL": "WARNING",
    }


def start_processes(args, env: dict) -> list[subprocess.Popen]:
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
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
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(args.workers)
    ]
    return [web, *workers]


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            p.terminate()
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


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

    db_url = bench_database_url()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/7"
    env = child_env(db_url, redis_url, args.concurrency)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
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
            accounts, configs = seed_fleet(server, control, args.tenants, hook)
            processes = start_processes(args, env)
            wait_for(lambda: _listening(args.port), "the portal's web process to listen", 60)
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
            stop(processes)
            redis.Redis.from_url(redis_url).flushdb()


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def seed_fleet(server, control, count: int, hook: str) -> tuple[list[str], list[str]]:
    """count accounts, each with its own admin user, tenant, tokens and Connect configuration."""
    from django.utils import timezone

    from docusign_emulator.testing import (
        TEST_CLIENT_ID,
        TEST_CLIENT_SECRET,
        TEST_PRIVATE_KEY_PEM,
        TEST_PUBLIC_KEY_PEM,
        TEST_REDIRECT_URI,
    )
    from events.models import PartnerHmacKey
    from tenants.models import Integration, Tenant, TenantAccount, TenantToken

    accounts = [f"benchrep-0000-4000-8000-{i:012d}" for i in range(count)]
    users = [f"benchrus-0000-4000-8000-{i:012d}" for i in range(count)]
    control.seed(
        accounts=[
            {"account_id": a, "account_name": f"Bench {i}", "shard": "na3"}
            for i, a in enumerate(accounts)
        ],
        users=[
            {
                "user_id": u,
                "email": f"admin{i}@bench.test",
                "password": "bench-pw",
                "name": f"Admin {i}",
                "memberships": [{"account_id": accounts[i], "is_admin": True, "is_default": True}],
            }
            for i, u in enumerate(users)
        ],
    )
    integration = Integration.objects.create(
        name="Bench emulator",
        environment=Integration.Environment.EMULATOR,
        auth_base_url=server.url,
        integration_key=TEST_CLIENT_ID,
        secret_key=TEST_CLIENT_SECRET,
        rsa_private_key=TEST_PRIVATE_KEY_PEM.decode(),
        rsa_public_key=TEST_PUBLIC_KEY_PEM,
        redirect_uri=TEST_REDIRECT_URI,
    )
    PartnerHmacKey.objects.create(
        integration=integration, label="bench", secret=HMAC_KEY, created_by_label="bench"
    )
    now = timezone.now()
    tenants = Tenant.objects.bulk_create(
        [
            Tenant(
                name=f"Bench {i}",
                slug=f"bench-{i}",
                admin_email=f"admin{i}@bench.test",
                integration=integration,
                status=Tenant.Status.ACTIVE,
            )
            for i in range(count)
        ]
    )
    TenantAccount.objects.bulk_create(
        [
            TenantAccount(
                tenant=t,
                account_id=accounts[i],
                account_name=f"Bench {i}",
                base_uri=server.base_uri("na3"),
                user_id=users[i],
                consented_at=now,
            )
            for i, t in enumerate(tenants)
        ]
    )
    tokens, configs = [], []
    for i, tenant in enumerate(tenants):
        issued = control.issue_tokens(TEST_CLIENT_ID, users[i])
        tokens.append(
            TenantToken(
                tenant=tenant,
                access_token=issued["access_token"],
                access_expires_at=now + timedelta(seconds=int(issued["expires_in"])),
                refresh_token=issued["refresh_token"],
                refresh_expires_at=now + timedelta(days=30),
            )
        )
        config = control.drift_create(
            accounts[i],
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
    TenantToken.objects.bulk_create(tokens)
    return accounts, configs


if __name__ == "__main__":
    main()

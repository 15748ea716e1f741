"""What the bench scripts share (`python bench/<script>.py` puts this folder on sys.path)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.processes import celery_worker_command

REPO_ROOT = Path(__file__).resolve().parent.parent

# Public, bench-only values: they protect nothing but rows of a database recreated on each run.
BENCH_SECRETS = {
    "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789abcdef",
    "FIELD_ENCRYPTION_KEYS": "4vPAB1jNKkxqYF3dl1P1aWwzC1Kb4-NX2ILAz5gz0lg=",
}


def bench_database_url(name: str) -> str:
    """The PostgreSQL server DATABASE_URL names (127.0.0.1:5432 without it), with the bench's own
    database `name`: never the dev database. Exits when DATABASE_URL is not PostgreSQL."""
    given = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(given)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"{Path(sys.argv[0]).name} needs PostgreSQL; DATABASE_URL is {parts.scheme}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def bench_env(
    *, database_url: str, redis_url: str = "", log_level: str = "WARNING", **extra: str
) -> dict[str, str]:
    """Production settings (DEBUG off, so Django records no queries; no TLS on loopback) with the
    bench secrets: the variables a bench puts in os.environ before django.setup(), which the
    processes it starts inherit. `extra` adds or overrides variables."""
    env = {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        **BENCH_SECRETS,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": log_level,
        "PYTHONPATH": str(REPO_ROOT),
    }
    if redis_url:
        env |= {"REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url}
    return env | extra


def gunicorn_command(app: str, port: int, *, workers: int = 2, threads: int = 8) -> list[str]:
    """The Procfile's `web` settings (gthread, 2 workers of 8 threads: a request waiting on its
    commit lets another run) under this interpreter, on loopback."""
    return [
        *(sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}"),
        *("--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)),
        *("--log-level", "warning"),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_wait(
    port: int, what: str, *, process: subprocess.Popen | None = None, timeout: float = 60
) -> None:
    """Until something listens on the loopback `port`; raises when `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


def processes_stop(processes: Iterable[subprocess.Popen], timeout: float = 20) -> None:
    """Terminate every process still running, then wait for each (killed past `timeout`)."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def emulator_fleet_seed(
    server: Any, *, count: int, account_prefix: str = "bench000", user_prefix: str = "benchusr"
) -> tuple[Any, list, list[str]]:
    """`count` emulator accounts, each with its own admin user (the emulator's burst limit applies
    per account; strict rotation caps unused refresh tokens per user), and as many active tenants
    of one emulator integration linked to them, with real tokens: (integration, tenants, account
    ids). Needs django.setup() first."""
    from datetime import timedelta

    from django.utils import timezone

    from docusign_emulator.testing import (
        TEST_CLIENT_ID,
        TEST_CLIENT_SECRET,
        TEST_PRIVATE_KEY_PEM,
        TEST_PUBLIC_KEY_PEM,
        TEST_REDIRECT_URI,
    )
    from tenants.models import Integration, Tenant, TenantAccount, TenantToken

    control = server.control
    accounts = [f"{account_prefix}-0000-4000-8000-{i:012d}" for i in range(count)]
    users = [f"{user_prefix}-0000-4000-8000-{i:012d}" for i in range(count)]
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
    tokens = []
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
    TenantToken.objects.bulk_create(tokens)
    return integration, tenants, accounts


def demo_integration_create() -> Any:
    """A DocuSign demo-environment integration for fleets of `portal.tests.fleet_data` (nothing
    calls DocuSign). Needs django.setup() first."""
    from tenants.models import Integration

    return Integration.objects.create(
        name="Bench integration",
        environment=Integration.Environment.DEMO,
        auth_base_url="https://account-d.docusign.com",
        integration_key="bench-key",
        redirect_uri="https://portal.example/consent/callback/",
    )


def single_tenant_prepare(
    env: dict[str, str], *, account_id: str, hmac_key: str, auth_base_url: str, then: str = ""
) -> None:
    """Migrate, then create one active tenant linked to `account_id` whose integration holds the
    partner HMAC key, in a `manage.py shell` under `env`; `then` is more Python run after it, with
    `integration` and `tenant` bound."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
    )
    script = f"""
from django.utils import timezone
from events.models import PartnerHmacKey
from tenants.models import Integration, Tenant, TenantAccount
integration = Integration.objects.create(
    name="bench", environment="emulator", auth_base_url="{auth_base_url}",
    integration_key="bench", redirect_uri="http://127.0.0.1:8000/consent/callback/")
tenant = Tenant.objects.create(name="Bench", slug="bench", admin_email="a@bench.test",
    integration=integration, status="active")
TenantAccount.objects.create(tenant=tenant, account_id="{account_id}", base_uri="http://x/na3",
    user_id="u", consented_at=timezone.now())
PartnerHmacKey.objects.create(integration=integration, label="bench", secret="{hmac_key}",
    created_by_label="bench")
{then}"""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=REPO_ROOT, env=env, check=True
    )


@contextmanager
def database_for_run(url: str, *, recreate: bool = True, keep: bool = False) -> Iterator[None]:
    """The bench database of an in-process run: recreated first (unless `recreate` is false, to
    measure a database kept earlier), dropped afterwards unless `keep`."""
    if recreate:
        database_recreate(url)
    try:
        yield
    finally:
        if not keep:
            from django.db import connections

            connections.close_all()
            database_drop(url)


def database_drop(url: str) -> None:
    """Drop the bench database `url` names (at the end of a run that keeps nothing)."""
    _database_execute(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_recreate(url: str) -> None:
    """Drop and create the bench database `url` names, so every run starts from the same empty
    tables (a run on the leftovers of earlier runs measured PostgreSQL's bloat, not the portal).
    The scripts only ever pass their own names (portal_bench*, never the dev database)."""
    _database_execute(
        url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"'
    )


def _database_execute(url: str, *statements: str) -> None:
    """Run `statements` ({name}: the database `url` names) on the server's `postgres` database."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.format(name=name))


def worker_command(
    *, concurrency: int, hostname: str, queues: str = "default,refresh,sync"
) -> list:
    """The Procfile's worker command, as each of docker-compose.yml's worker replicas runs it (the
    standard worker setup the targets are measured with), under this interpreter; with
    `queues="events"`, its forwarder command."""
    return celery_worker_command(
        queues=queues,
        concurrency=concurrency,
        options=("--loglevel", "INFO", "--hostname", hostname),
    )


def connect_template_seed(integration, *, slug: str = "bench") -> None:
    """One Connect template (version 1) that applies to every tenant of `integration`."""
    from connect.models import ConnectTemplate, ConnectTemplateVersion

    template = ConnectTemplate.objects.create(
        name="Bench webhook", slug=slug, integration=integration, current_version=1
    )
    ConnectTemplateVersion.objects.create(
        template=template,
        number=1,
        created_by_label="bench",
        settings={
            "url_to_publish_to": "https://hooks.partner.example/ds/{tenant_slug}",
            "events": ["envelope-sent", "envelope-completed"],
            "include_data": ["recipients"],
            "delivery_mode": "SIM",
            "requires_acknowledgement": True,
            "enable_log": True,
            "all_users": True,
            "allow_envelope_publish": True,
            "include_hmac": True,
            "include_oauth": False,
        },
    )

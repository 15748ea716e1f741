"""What the bench scripts share (`python bench/<script>.py` puts this folder on sys.path)."""

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.processes import celery_worker_command


def database_recreate(url: str) -> None:
    """Drop and create the bench database `url` names, so every run starts from the same empty
    tables (a run on the leftovers of earlier runs measured PostgreSQL's bloat, not the portal).
    The scripts only ever pass their own names (portal_bench*, never the dev database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def worker_command(*, concurrency: int, hostname: str) -> list[str]:
    """The Procfile's worker command, as each of docker-compose.yml's worker replicas runs it (the
    standard worker setup the targets are measured with), under this interpreter."""
    return celery_worker_command(
        queues="default,refresh,sync,events",
        concurrency=concurrency,
        options=("--loglevel", "INFO", "--hostname", hostname),
    )


def bench_database_url(name: str) -> str:
    """The PostgreSQL server DATABASE_URL names, with the bench's own database `name` (never the
    dev database)."""
    given = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    parts = urlsplit(given)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"the bench needs PostgreSQL; DATABASE_URL is {parts.scheme}")
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def production_env() -> dict[str, str]:
    """Production settings (DEBUG off, LOG_LEVEL as .env.example has it) with throwaway secrets:
    the bench database is recreated on each run, so a new key each run loses nothing."""
    from cryptography.fernet import Fernet

    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
    }


def fleet_accounts_seed(
    server, control, count: int, *, account_prefix: str = "bench000", user_prefix: str = "benchusr"
) -> tuple:
    """`count` active tenants, each its own DocuSign account (the emulator's burst limit applies
    per account) with its own admin user (strict rotation caps unused refresh tokens per user) and
    real tokens, under one emulator integration. Returns (integration, tenants, account ids)."""
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

"""Test data for the fleet pages: tenants in every state, fast enough for 10,000 of them."""

import random
from datetime import date, datetime, timedelta

from django.utils import timezone

from tenants.models import (
    Integration,
    Invite,
    Tenant,
    TenantAccount,
    TenantStatusChange,
    TenantToken,
)

SYNC_OUTCOMES = ["in_sync", "in_sync", "in_sync", "changed", "drift", "failed", "skipped"]
CONNECT_STATUSES = ["in_sync", "in_sync", "in_sync", "repaired", "drift", "failing", "never"]
STATUSES = [
    Tenant.Status.ACTIVE,
    Tenant.Status.ACTIVE,
    Tenant.Status.ACTIVE,
    Tenant.Status.CONSENTED,
    Tenant.Status.INVITED,
    Tenant.Status.REGISTERED,
    Tenant.Status.NEEDS_RECONSENT,
    Tenant.Status.ERROR,
]


def fleet_create(
    *,
    count: int,
    integration: Integration,
    sync_days: int = 0,
    sync_per_tenant_day: float = 0,
    seed: int = 7,
    prefix: str = "Fleet",
) -> list[int]:
    """`count` tenants spread over every state, with accounts, tokens, Connect state, invites,
    status history and (optionally) `sync_days` days of sync history and daily rollups.

    Everything goes through bulk_create so 10,000 tenants take seconds. Returns the tenant ids.
    """
    from connect.models import SyncDailyStat, SyncRecord, TenantConnectState

    rng = random.Random(seed)
    now = timezone.now()
    tenants = Tenant.objects.bulk_create(
        [
            Tenant(
                name=f"{prefix} client {i:05d}",
                slug=f"{prefix.lower()}-client-{i:05d}",
                admin_email=f"admin{i:05d}@{prefix.lower()}.example",
                integration=integration,
                status=STATUSES[i % len(STATUSES)],
                status_reason="DocuSign answered consent_required"
                if i % len(STATUSES) == 6
                else "",
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    linked = [
        t for t in tenants if t.status not in (Tenant.Status.REGISTERED, Tenant.Status.INVITED)
    ]
    TenantAccount.objects.bulk_create(
        [
            TenantAccount(
                tenant=t,
                account_id=f"{prefix.lower()}-acct-{t.pk}",
                account_name=t.name,
                base_uri="https://demo.docusign.net",
                user_id=f"user-{t.pk}",
                consented_at=now - timedelta(days=40),
            )
            for t in linked
        ],
        batch_size=2000,
    )
    TenantToken.objects.bulk_create(
        [
            TenantToken(
                tenant=t,
                access_token="fake-access",
                refresh_token="fake-refresh",
                access_expires_at=now + timedelta(hours=rng.randint(1, 8)),
                refresh_expires_at=now + timedelta(days=rng.randint(1, 30), hours=3),
            )
            for t in linked
        ],
        batch_size=2000,
    )
    TenantConnectState.objects.bulk_create(
        [
            TenantConnectState(
                tenant=t,
                status=CONNECT_STATUSES[n % len(CONNECT_STATUSES)],
                last_sync_at=now - timedelta(minutes=rng.randint(1, 600)),
                last_error="403 from DocuSign" if n % len(CONNECT_STATUSES) == 5 else "",
                consecutive_failures=3 if n % len(CONNECT_STATUSES) == 5 else 0,
            )
            for n, t in enumerate(linked)
        ],
        batch_size=2000,
    )
    invited = [t for t in tenants if t.status == Tenant.Status.INVITED]
    Invite.objects.bulk_create(
        [
            Invite(
                tenant=t,
                nonce=f"{prefix.lower()}-nonce-{t.pk}",
                created_by_label="tests",
                created_at=now - timedelta(days=10),
                # Half are still usable, half expired.
                expires_at=now + timedelta(days=3) if n % 2 else now - timedelta(days=3),
                sent_at=now - timedelta(days=10),
            )
            for n, t in enumerate(invited)
        ],
        batch_size=2000,
    )
    TenantStatusChange.objects.bulk_create(
        [
            TenantStatusChange(
                tenant=t,
                from_status=Tenant.Status.REGISTERED,
                to_status=t.status,
                reason="seeded",
                actor_label="tests",
                changed_at=now - timedelta(days=30),
            )
            for t in tenants
        ],
        batch_size=2000,
    )
    if sync_days:
        records = []
        stats: dict[tuple[date, str], int] = {}
        for t in linked:
            for day in range(sync_days):
                if rng.random() >= sync_per_tenant_day:
                    continue
                finished = now - timedelta(days=day, minutes=rng.randint(0, 1400))
                outcome = rng.choice(SYNC_OUTCOMES)
                records.append(
                    SyncRecord(
                        tenant=t,
                        started_at=finished - timedelta(seconds=2),
                        finished_at=finished,
                        trigger="schedule",
                        outcome=outcome,
                        api_calls=2,
                    )
                )
                key = (finished.date(), outcome)
                stats[key] = stats.get(key, 0) + 1
                if len(records) >= 20_000:
                    SyncRecord.objects.bulk_create(records, batch_size=5000)
                    records = []
        SyncRecord.objects.bulk_create(records, batch_size=5000)
        # The rollup is one row per day and outcome: add to what an earlier call wrote.
        for stat in SyncDailyStat.objects.all():
            stats[(stat.date, stat.outcome)] = stats.get((stat.date, stat.outcome), 0) + stat.count
        SyncDailyStat.objects.all().delete()
        SyncDailyStat.objects.bulk_create(
            [SyncDailyStat(date=d, outcome=o, count=n) for (d, o), n in stats.items()],
            batch_size=5000,
        )
    return [t.pk for t in tenants]


def midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))

"""Connect across the fleet: the dashboard's figures, the tenants due for a sync, and those a bulk
push covers."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from connect.models import ConnectTemplate, SyncDailyStat, SyncRecord, TenantConnectState
from tenants.models import Tenant

# The statuses a sync runs for (connect.services.reconcile skips the others).
SYNCABLE_STATUSES = (Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR)


def connect_health_counts() -> dict:
    """Tenants per Connect status ({status: count}), for the dashboard; one query."""
    rows = (
        TenantConnectState.objects.filter(tenant__archived_at__isnull=True)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = {key: 0 for key in TenantConnectState.Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def connect_sync_outcomes_by_day(*, days: int) -> list[dict]:
    """[{"date": date, "<outcome>": count, ...}] for each of the last `days` days, oldest first,
    from the daily rollup (never the history)."""
    today = timezone.now().date()
    start = today - timedelta(days=days - 1)
    by_day: dict[date, dict] = {
        start + timedelta(days=i): {
            "date": start + timedelta(days=i),
            **{o: 0 for o in SyncRecord.Outcome.values},
        }
        for i in range(days)
    }
    rows = SyncDailyStat.objects.filter(date__gte=start, date__lte=today).values_list(
        "date", "outcome", "count"
    )
    for day, outcome, count in rows:
        by_day[day][outcome] = count
    return list(by_day.values())


def connect_sync_overdue(*, now: datetime) -> tuple[int, datetime | None]:
    """Syncs queued longer than their lease (lost, or stuck behind a backlog): how many, and the
    earliest lease end. The next beat tick enqueues them again."""
    found = TenantConnectState.objects.filter(
        lease_expires_at__lt=now, tenant__archived_at__isnull=True
    ).aggregate(n=Count("pk"), oldest=Min("lease_expires_at"))
    return found["n"], found["oldest"]


def connect_due_tenant_ids(
    *, now: datetime | None = None, limit: int | None = None, all_queued_lost: bool = False
) -> list[int]:
    """Tenants to enqueue: those whose sync was lost (queued, but the lease ran out; with
    `all_queued_lost`, every queued one), then those whose last sync is older than
    CONNECT_SYNC_INTERVAL_S (or never ran) and not already queued."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CONNECT_SYNC_INTERVAL_S)
    limit = limit or settings.CONNECT_SYNC_BATCH
    has_templates = ConnectTemplate.objects.filter(is_active=True).values("integration_id")
    never_synced = Q(connect_state__isnull=True) | Q(connect_state__last_sync_at__isnull=True)
    interval_passed = never_synced | Q(connect_state__last_sync_at__lt=cutoff)
    not_queued = Q(connect_state__isnull=True) | Q(connect_state__lease_expires_at__isnull=True)
    lease_ran_out = (
        Q(connect_state__lease_expires_at__isnull=False)
        if all_queued_lost
        else Q(connect_state__lease_expires_at__lt=now)
    )
    tenants = (
        Tenant.objects.filter(
            archived_at__isnull=True,
            status__in=SYNCABLE_STATUSES,
            integration_id__in=has_templates,
        )
        .filter((interval_passed & not_queued) | lease_ran_out)
        .order_by(F("connect_state__lease_expires_at").asc(nulls_last=True), "pk")
    )
    return list(tenants.values_list("pk", flat=True)[:limit])


def connect_tenant_ids_for_bulk(*, template: ConnectTemplate | None) -> list[tuple[int, str]]:
    """(id, label) of the tenants a bulk push or resync covers: a template's, or all served."""
    tenants = Tenant.objects.filter(
        archived_at__isnull=True,
        status__in=SYNCABLE_STATUSES,
    )
    if template is not None:
        tenants = tenants.filter(integration_id=template.integration_id)
        if template.applies_to == ConnectTemplate.AppliesTo.CHOSEN:
            tenants = tenants.filter(connect_assignments__template=template)
    return list(tenants.order_by("name").values_list("pk", "name"))

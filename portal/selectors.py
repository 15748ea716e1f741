"""Reads across the apps for the metrics scrape (portal/metrics.py): each is one aggregate or one
LIMITed query, so a scrape costs the same at 100 tenants as at 100,000."""

from datetime import datetime

from django.db.models import Min
from django.utils import timezone

from connect.models import TenantConnectState
from events.models import ConnectEvent


def metrics_rate_limits_lowest(*, limit: int) -> list[tuple[str, int, int | None]]:
    """(DocuSign account id, calls remaining, hourly limit) of the `limit` accounts with the fewest
    calls left in their current hour, as DocuSign last reported them to a sync."""
    rows = (
        TenantConnectState.objects.filter(
            rate_limit_remaining__isnull=False,
            rate_limit_reset_at__gt=timezone.now(),
            tenant__account__isnull=False,
        )
        .order_by("rate_limit_remaining", "tenant_id")
        .values_list("tenant__account__account_id", "rate_limit_remaining", "rate_limit_limit")
    )
    return [(account, left, hourly) for account, left, hourly in rows[:limit] if left is not None]


def metrics_sync_oldest_queued_at() -> datetime | None:
    """When the longest-waiting enqueued Connect sync was enqueued (None when none waits)."""
    oldest: datetime | None = TenantConnectState.objects.aggregate(oldest=Min("queued_at"))[
        "oldest"
    ]
    return oldest


def metrics_event_oldest_unprocessed_at() -> datetime | None:
    """When the oldest stored Connect event still waiting to be processed arrived."""
    oldest: datetime | None = ConnectEvent.objects.filter(processed_at__isnull=True).aggregate(
        oldest=Min("received_at")
    )["oldest"]
    return oldest

"""Reads across the apps for the metrics scrape (portal/metrics.py): each is one aggregate or one
LIMITed query, so a scrape costs the same at 100 tenants as at 100,000."""

from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils import timezone

from connect.models import TenantConnectState
from events.models import ConnectEvent
from forwarding.models import Delivery, Destination
from tenants.models import TenantToken


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


def metrics_forwarding_backlog() -> dict:
    """Deliveries not delivered (pending, dead), when the longest-due pending one fell due, and
    paused destinations: two aggregates."""
    now = timezone.now()
    pending = Q(status=Delivery.Status.PENDING)
    counts = Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.DEAD]
    ).aggregate(
        pending=Count("pk", filter=pending),
        dead=Count("pk", filter=Q(status=Delivery.Status.DEAD)),
        oldest_due=Min("next_attempt_at", filter=pending & Q(next_attempt_at__lte=now)),
    )
    counts["paused_destinations"] = Destination.objects.filter(paused_at__isnull=False).count()
    return counts


def metrics_leases_expired() -> dict[str, int]:
    """Work enqueued whose lease ran out before it ended (its worker died or its message was
    lost; the next beat tick or sweep enqueues it again), per kind: one count each."""
    now = timezone.now()
    return {
        "sync": TenantConnectState.objects.filter(lease_expires_at__lt=now).count(),
        "refresh": TenantToken.objects.filter(refresh_lease_expires_at__lt=now).count(),
        "forwarding": Delivery.objects.filter(
            status=Delivery.Status.PENDING, leased_until__lt=now
        ).count(),
    }

"""Reads for the forwarding pages: each destination's health (success rate, latency, backlog, last
error), its recent deliveries, and the paused destinations the dashboard lists."""

from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from forwarding.models import Delivery, DeliveryAttempt, Destination, DestinationSecret

HEALTH_WINDOW = timedelta(hours=24)
LATENCY_SAMPLE = 2000


def _percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def destination_health(*, destination: Destination, now: datetime | None = None) -> dict:
    """Over the last 24 hours: attempts, success rate, p50/p95 latency of successful attempts;
    now: backlog (pending), dead deliveries, the last error."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    attempts = DeliveryAttempt.objects.filter(destination=destination, attempted_at__gte=since)
    counts = attempts.aggregate(total=Count("pk"), ok=Count("pk", filter=Q(succeeded=True)))
    sampled = (
        attempts.filter(succeeded=True, latency_ms__isnull=False)
        .order_by("-attempted_at")
        .values_list("latency_ms", flat=True)[:LATENCY_SAMPLE]
    )
    latencies = [ms for ms in sampled if ms is not None]
    states = dict(
        Delivery.objects.filter(destination=destination, status__in=["pending", "dead"])
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    last_failure = (
        DeliveryAttempt.objects.filter(destination=destination, succeeded=False)
        .order_by("-attempted_at", "-id")
        .values("error", "attempted_at")
        .first()
    )
    total = counts["total"]
    return {
        "destination": destination,
        "attempts_24h": total,
        "success_rate": round(100 * counts["ok"] / total, 1) if total else None,
        "p50_ms": _percentile(latencies, 0.50),
        "p95_ms": _percentile(latencies, 0.95),
        "backlog": states.get("pending", 0),
        "dead": states.get("dead", 0),
        "last_error": last_failure["error"] if last_failure else "",
        "last_error_at": last_failure["attempted_at"] if last_failure else None,
        "paused": destination.is_paused,
    }


def destination_health_list(*, integration_id: int) -> list[dict]:
    return [
        destination_health(destination=d)
        for d in Destination.objects.filter(integration_id=integration_id).prefetch_related(
            "tenants"
        )
    ]


def destination_deliveries(
    *, destination_id: int, status: str = "", limit: int = 50, with_attempts: bool = False
) -> list:
    """The latest deliveries, newest event first; `with_attempts`: each with every attempt
    (`delivery.attempts.all()`, newest first), in one more query."""
    deliveries = Delivery.objects.filter(destination_id=destination_id).select_related(
        "tenant", "event"
    )
    if status:
        deliveries = deliveries.filter(status=status)
    if with_attempts:
        deliveries = deliveries.prefetch_related(
            Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("-attempted_at", "-id"))
        )
    return list(
        deliveries.only(
            "destination_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "delivered_at",
            "last_error",
            "envelope_id",
            "event__event",
            "event__received_at",
            "tenant__name",
            "tenant__slug",
        ).order_by("-event_id")[:limit]
    )


def destinations_paused(*, limit: int = 5) -> tuple[int, list[Destination]]:
    """How many destinations are paused, and the first few (for "Needs a human")."""
    paused = Destination.objects.filter(paused_at__isnull=False).select_related("integration")
    return paused.count(), list(paused.order_by("paused_at")[:limit])


def destination_get(*, destination_id: int) -> Destination:
    """With its integration and tenant filter loaded; raises Destination.DoesNotExist."""
    return (
        Destination.objects.select_related("integration")
        .prefetch_related("tenants")
        .get(pk=destination_id)
    )


def destination_secrets_live(*, destination_id: int, now: datetime | None = None) -> list[dict]:
    """When each live signing secret was made and stops signing, newest first; never the
    secret itself."""
    live = (
        DestinationSecret.objects.filter(destination_id=destination_id)
        .exclude(expires_at__lte=now or timezone.now())
        .order_by("-created_at", "-id")
        .only("created_at", "expires_at")
    )
    return [{"created_at": s.created_at, "expires_at": s.expires_at} for s in live]

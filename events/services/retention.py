"""Events are kept EVENT_RETENTION_DAYS, then purged in batches with their forwarding deliveries
and attempts; an event still being delivered (a pending delivery) or not yet processed stays."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from events.models import ConnectEvent

PURGE_BATCH = 500


def connect_events_purge(
    *, now: datetime | None = None, batch: int = PURGE_BATCH, max_batches: int = 40
) -> int:
    """Delete expired events, one short transaction per batch; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    expired = ConnectEvent.objects.filter(
        received_at__lt=cutoff, processed_at__isnull=False
    ).exclude(deliveries__status="pending")
    purged = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(expired.order_by("received_at").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            # Filtered again: a replay may have made one pending since the ids were read.
            expired.filter(pk__in=ids).delete()
            purged += len(ids)
    return purged

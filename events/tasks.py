"""Celery tasks of the events app: each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from common.leases import DATABASE_ERRORS
from events.services import health, retention
from events.services.processing import connect_event_processing_started


@shared_task(
    name="events.tasks.connect_event_process",
    ignore_result=True,
    # A database blip is retried (the event is claimed in its own transaction, so a retry never
    # counts it twice); past the retries the beat sweep finds it unprocessed.
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=8,
)
def connect_event_process(event_id: int | None = None) -> bool:
    """Process the waiting events (this one first, when given), a batch, and send their first
    attempts (queued by the receiver once an event's row is committed, unless a queued task was
    already on its way: events.services.processing)."""
    connect_event_processing_started()
    return health.connect_event_process(event_id=event_id)


@shared_task(name="events.tasks.connect_events_sweep", ignore_result=True)
def connect_events_sweep() -> int:
    """Beat: enqueue processing for events whose task was lost (the broker was down at commit):
    a task per batch, each starting with its own oldest event."""
    event_ids = health.connect_events_unprocessed()
    for event_id in event_ids[:: health.EVENTS_BATCH_MAX]:
        connect_event_process.delay(event_id)
    return len(event_ids)


@shared_task(name="events.tasks.connect_events_purge", ignore_result=True)
def connect_events_purge() -> int:
    """Beat: delete events past EVENT_RETENTION_DAYS (never one still being delivered)."""
    return retention.connect_events_purge()

"""Celery tasks of forwarding: each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from common.leases import DATABASE_ERRORS
from forwarding.services import deliveries


@shared_task(
    name="forwarding.tasks.destination_deliver",
    ignore_result=True,
    # A database blip is retried with backoff; past the retries the deliveries' leases run out
    # and beat finds them again in PostgreSQL.
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=8,
)
def destination_deliver(destination_id: int) -> int:
    """Send what of the destination may go now, round after round (the leases make a second
    copy of this message claim only what the first did not)."""
    return len(deliveries.destination_deliver(destination_id=destination_id))


@shared_task(name="forwarding.tasks.deliveries_due_enqueue", ignore_result=True)
def deliveries_due_enqueue() -> int:
    """Beat: a sender for every destination with due deliveries no live worker holds (found in
    the database, so a lost broker message or a killed worker costs time, not events)."""
    destination_ids = deliveries.destinations_due()
    deliveries.destinations_deliver_enqueue(destination_ids)
    return len(destination_ids)

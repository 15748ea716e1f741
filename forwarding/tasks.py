"""Celery tasks of forwarding: each takes ids, calls one service, and is safe to run twice."""

from celery import shared_task

from common.leases import DATABASE_ERRORS
from forwarding.services import deliveries


@shared_task(
    name="forwarding.tasks.delivery_attempt",
    ignore_result=True,
    # A database blip is retried with backoff; past the retries the delivery's lease runs out
    # and beat finds it again in PostgreSQL.
    autoretry_for=DATABASE_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    max_retries=8,
)
def delivery_attempt(delivery_id: int) -> str:
    """One attempt of one delivery if it is due and may go now (its lease makes a second copy
    of this message a no-op)."""
    return deliveries.delivery_attempt(delivery_id=delivery_id).status


@shared_task(name="forwarding.tasks.deliveries_due_enqueue", ignore_result=True)
def deliveries_due_enqueue() -> int:
    """Beat: enqueue every due delivery no live worker holds (found in the database, so a lost
    broker message or a killed worker costs time, not events)."""
    delivery_ids = deliveries.deliveries_due()
    for delivery_id in delivery_ids:
        delivery_attempt.delay(delivery_id)
    return len(delivery_ids)

import logging
import socket

from celery import shared_task
from django.utils import timezone

from common.leases import (
    DATABASE_ERRORS,
    MAX_COUNTDOWN_S,
    broker_emptied,
    broker_mark,
    database_backoff_s,
    database_connection_discard,
    lease_seconds,
    retry_backoff_s,
)
from common.models import WorkerHeartbeat

logger = logging.getLogger(__name__)
MAX_TRIES = 8
MAX_DATABASE_TRIES = 8


@shared_task(name="common.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Beat sends this every minute; the row it writes shows staff the workers are alive."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"last_seen_at": timezone.now()}
    )


@shared_task(bind=True, name="common.tasks.bulk_item_run", ignore_result=True, max_retries=None)
def bulk_item_run(self, item_id: int, tries: int = 0, database_tries: int = 0) -> None:
    """One bulk item. Passing problems and database errors retry with backoff, the item's lease
    renewed to cover the wait; only a passing problem that outlasts MAX_TRIES fails the item."""
    from common import bulk

    try:
        bulk.bulk_item_run(item_id=item_id)
    except bulk.BulkItemRetry as exc:
        if tries >= MAX_TRIES:
            bulk.bulk_item_give_up(
                item_id=item_id, message=f"Gave up after {tries + 1} tries: {exc}"
            )
            return
        countdown = exc.retry_after or retry_backoff_s(tries)
        if countdown > MAX_COUNTDOWN_S:
            # Too long to wait in the broker: the bulk sweep picks it up when its lease ends.
            bulk.bulk_item_lease_renew(item_id=item_id, after_s=countdown - lease_seconds())
            return
        bulk.bulk_item_lease_renew(item_id=item_id, after_s=countdown)
        raise self.retry(
            countdown=countdown,
            expires=countdown + lease_seconds(),
            args=(),
            kwargs={"item_id": item_id, "tries": tries + 1, "database_tries": database_tries},
        ) from None
    except DATABASE_ERRORS as exc:
        database_connection_discard()
        logger.warning("bulk item %s: database error, retrying (%s)", item_id, exc)
        if database_tries >= MAX_DATABASE_TRIES:
            return  # its lease runs out and the bulk sweep enqueues it again
        countdown = database_backoff_s(database_tries)
        raise self.retry(
            countdown=countdown,
            expires=countdown + lease_seconds(),
            args=(),
            kwargs={"item_id": item_id, "tries": tries, "database_tries": database_tries + 1},
        ) from None


@shared_task(name="common.tasks.bulk_items_sweep", ignore_result=True)
def bulk_items_sweep() -> int:
    """Beat: re-enqueue pending bulk items whose lease ran out (all of them when the broker was
    emptied since the last run)."""
    from common import bulk

    emptied = broker_emptied(beat_task="bulk_items_sweep")
    requeued = bulk.bulk_items_requeue(all_pending_lost=emptied)
    if emptied:
        broker_mark(beat_task="bulk_items_sweep")
    return requeued

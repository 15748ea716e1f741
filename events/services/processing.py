"""Queueing the processing of stored events: one queued task at a time takes every event waiting
when it starts (a batch, events.services.health), so the receiver does not queue a task per event
while one is already on its way; the task waits EVENTS_BATCH_WINDOW_MS before it starts, so that
under load a batch gathers what arrives meanwhile. The "one is queued" flag lives in the broker's
Redis beside the queue it describes; without Redis (the embedded run) every event queues its task.

Nothing is lost by the flag: it is cleared when a task starts, before that task reads what is
waiting, so an event committed later sets it again and queues the next task. A flag left by a
task that never ran expires after QUEUED_TTL_S; beat's sweep finds any event still waiting."""

import logging

import redis
from django.conf import settings

from common.leases import broker_redis

logger = logging.getLogger(__name__)

QUEUED_KEY = "portal:events:processing-queued"
QUEUED_TTL_S = 10


def connect_event_processing_enqueue(event_id: int | None) -> None:
    """After an event's row committed: queue its processing unless a queued task will take it."""
    from events.tasks import connect_event_process

    client = broker_redis()
    if client is not None:
        try:
            if not client.set(QUEUED_KEY, "1", nx=True, ex=QUEUED_TTL_S):
                return
        except redis.RedisError:
            logger.warning("events: the processing flag could not be read; queueing anyway")
    try:
        connect_event_process.apply_async(
            (event_id,), countdown=settings.EVENTS_BATCH_WINDOW_MS / 1000
        )
    except Exception:
        # Not queued after all: the next event must not count on this task.
        connect_event_processing_started()
        raise


def connect_event_processing_started() -> None:
    """A processing task starts: events stored from now on need a task of their own."""
    client = broker_redis()
    if client is None:
        return
    try:
        client.delete(QUEUED_KEY)
    except redis.RedisError:
        logger.warning("events: the processing flag could not be cleared (it expires by itself)")

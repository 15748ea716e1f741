"""A real Celery worker killed (SIGKILL) while a delivery is in flight: nothing is lost. The
event's one task (processing, fan-out, first attempt) runs in a forwarder worker as the receiver
publishes it; the delivery stays pending in PostgreSQL; once its lease has run out the sweep
finds it and the next attempt delivers it with the same `webhook-id` (a duplicate of the
at-least-once kind only)."""

import os
import signal
from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from events.tasks import connect_event_process
from forwarding.models import Delivery, DeliveryAttempt
from forwarding.services.deliveries import delivery_attempt, destinations_due
from portal.celery import app
from testing.processes import celery_worker_start, child_env


def _purge_broker() -> None:
    if django_settings.REDIS_URL:
        import redis

        redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    else:
        app.control.purge()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_delivery_loses_nothing(
    sink, destination_with_secret, stored_event, settings
):
    _purge_broker()
    sink.hold.clear()  # the endpoint takes the request and does not answer: the worker waits
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    event = stored_event(processed=False)
    try:
        connect_event_process.delay(event.pk)  # as the receiver does once the row is committed
    finally:
        app.conf.task_always_eager = True
    worker = celery_worker_start(
        queues="events",
        concurrency=2,
        env=child_env(DEBUG="true", FORWARDING_READ_TIMEOUT_S="60"),
    )
    try:
        sink.wait_for(1, timeout=120)  # the worker is mid-delivery
        delivery = Delivery.objects.get(event=event)
        assert delivery.leased_until is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        _purge_broker()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # nothing recorded, nothing lost
    assert not DeliveryAttempt.objects.exists()
    # While the dead worker's lease runs, no one else sends it; after, the sweep finds it.
    destination_id = delivery.destination_id
    assert destination_id not in destinations_due(now=delivery.leased_until - timedelta(seconds=1))
    after_lease = delivery.leased_until + timedelta(seconds=1)
    assert destinations_due(now=after_lease) == [destination_id]
    sink.hold.set()
    assert delivery_attempt(delivery_id=delivery.pk, now=after_lease).status == "delivered"

    assert len(sink.received) == 2
    assert {r.headers["webhook-id"] for r in sink.received} == {delivery.webhook_id}
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert DeliveryAttempt.objects.count() == 1

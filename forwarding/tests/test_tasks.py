"""The delivery task treats a database blip as transient: retried with backoff, never a final
failure of the delivery."""

import pytest
from django.db import OperationalError

from forwarding.models import Delivery
from forwarding.services import deliveries
from forwarding.tasks import delivery_attempt
from portal.celery import app

pytestmark = pytest.mark.django_db


def test_a_database_error_in_a_delivery_attempt_is_retried_and_the_event_delivered(
    sink, destination_with_secret, stored_event, monkeypatch
):
    event = stored_event(event="envelope-completed")
    delivery = Delivery.objects.get(event=event)
    real = deliveries.delivery_attempt
    calls = []

    def blip_once(*, delivery_id):
        calls.append(delivery_id)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(delivery_id=delivery_id)

    monkeypatch.setattr(deliveries, "delivery_attempt", blip_once)

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # eager Celery runs each retry at once
    try:
        delivery_attempt.apply(args=(delivery.pk,))
    finally:
        app.conf.task_eager_propagates = propagates

    assert calls == [delivery.pk, delivery.pk]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(sink.received) == 1

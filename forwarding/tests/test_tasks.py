"""The sender task treats a database blip as transient: retried with backoff, never a final
failure of the delivery."""

import pytest
from django.db import OperationalError

from forwarding.models import Delivery
from forwarding.services import deliveries
from forwarding.tasks import destination_deliver
from portal.celery import app

pytestmark = pytest.mark.django_db


def test_a_database_error_in_a_sender_task_is_retried_and_the_event_delivered(
    sink, destination_with_secret, stored_event, monkeypatch
):
    destination, _ = destination_with_secret
    event = stored_event(event="envelope-completed")
    delivery = Delivery.objects.get(event=event)
    real = deliveries.deliveries_claim
    calls = []

    def blip_once(**kwargs):
        calls.append(kwargs["limit"])
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(**kwargs)

    monkeypatch.setattr(deliveries, "deliveries_claim", blip_once)

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # eager Celery runs each retry at once
    try:
        destination_deliver.apply(args=(destination.pk,))
    finally:
        app.conf.task_eager_propagates = propagates

    # The blip, the retry's round, and its claim that found nothing more.
    assert len(calls) == 3
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert len(sink.received) == 1

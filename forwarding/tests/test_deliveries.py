"""Forwarding against a local HTTP sink: what is sent and how it is signed, retries on the
schedule (time injected, never waited), faults recorded as attempts, ordering per envelope, the
concurrency bound, and what the sweep finds again."""

import base64
import hashlib
import hmac
import json
import random
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from forwarding import schedule
from forwarding.models import Delivery, DeliveryAttempt, DestinationSlot
from forwarding.services.deliveries import (
    delivery_attempt,
    destination_deliver,
    destinations_due,
)
from forwarding.services.destinations import destination_create, destination_secret_rotate
from forwarding.tests.sink import Answer

pytestmark = pytest.mark.django_db


def verify(secret: str, headers: dict[str, str], body: bytes) -> int:
    """An independent Standard Webhooks verifier (the specification, not our signing code):
    how many of the v1 signatures match `secret`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return sum(
        1
        for part in headers["webhook-signature"].split(" ")
        if part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
    )


def _delivery(event):
    return Delivery.objects.get(event=event)


def _hold(delivery, *, until):
    """As a worker sending `delivery` right now holds it: its lease and a destination slot."""
    Delivery.objects.filter(pk=delivery.pk).update(leased_until=until)
    slot = DestinationSlot.objects.filter(destination_id=delivery.destination_id, delivery=None)
    slot.filter(pk=slot.order_by("number")[0].pk).update(delivery=delivery, leased_until=until)


def test_event_is_forwarded_wrapped_and_signed_so_an_independent_verifier_accepts_it(
    sink, destination_with_secret, stored_event, tenant
):
    destination, secret = destination_with_secret
    event = stored_event(event="envelope-completed")
    delivery = _delivery(event)
    assert delivery_attempt(delivery_id=delivery.pk).status == "delivered"

    (request,) = sink.received
    assert verify(secret, request.headers, request.body) == 1
    assert request.headers["webhook-id"] == f"msg_{event.pk}_{destination.pk}"
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 300
    sent = json.loads(request.body)
    assert sent["type"] == "envelope-completed"
    assert sent["data"]["docusign"] == event.payload  # unchanged
    assert sent["data"]["event_id"] == event.pk
    assert sent["data"]["tenant"] == {"id": tenant.pk, "slug": tenant.slug}
    assert sent["data"]["integration"]["id"] == tenant.integration_id
    assert sent["data"]["account_id"] == event.account_id
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    (attempt,) = DeliveryAttempt.objects.all()
    assert (attempt.succeeded, attempt.status_code, attempt.response_excerpt) == (True, 200, "ok")
    assert attempt.latency_ms is not None
    # Safe to run twice: the second copy of the task sends nothing.
    assert delivery_attempt(delivery_id=delivery.pk).status == "done"
    assert len(sink.received) == 1


def test_the_standardwebhooks_library_verifies_it_too(sink, destination_with_secret, stored_event):
    from standardwebhooks import Webhook

    _, secret = destination_with_secret
    delivery_attempt(delivery_id=_delivery(stored_event()).pk)
    (request,) = sink.received
    assert Webhook(secret).verify(request.body, request.headers)["type"]


def test_a_rotated_secret_keeps_signing_beside_the_new_one_until_the_overlap_ends(
    sink, destination_with_secret, stored_event, settings
):
    destination, old = destination_with_secret
    new = destination_secret_rotate(destination=destination, actor=None)
    delivery_attempt(delivery_id=_delivery(stored_event()).pk)
    request = sink.received[-1]
    assert request.headers["webhook-signature"].count("v1,") == 2
    assert verify(old, request.headers, request.body) == 1
    assert verify(new, request.headers, request.body) == 1

    later = timezone.now() + timedelta(seconds=settings.FORWARDING_SECRET_OVERLAP_S + 1)
    delivery_attempt(delivery_id=_delivery(stored_event()).pk, now=later)
    request = sink.received[-1]
    assert verify(old, request.headers, request.body) == 0
    assert verify(new, request.headers, request.body) == 1


def test_event_types_and_tenant_filters_choose_the_destinations(sink, tenant, stored_event):
    from tenants.tests.factories import TenantFactory

    other = TenantFactory(integration=tenant.integration)
    completed_only, _ = destination_create(
        integration=tenant.integration,
        name="Completed only",
        url=sink.url,
        event_types=["envelope-completed"],
        tenant_ids=[],
        actor=None,
    )
    other_tenant_only, _ = destination_create(
        integration=tenant.integration,
        name="Other tenant",
        url=sink.url,
        event_types=[],
        tenant_ids=[other.pk],
        actor=None,
    )
    stored_event(event="envelope-sent")
    completed = stored_event(event="envelope-completed")
    assert list(Delivery.objects.values_list("destination_id", "event_id")) == [
        (completed_only.pk, completed.pk)
    ]
    assert not Delivery.objects.filter(destination=other_tenant_only).exists()


def test_failures_are_retried_on_the_schedule_until_the_delivery_is_dead(
    sink, destination_with_secret, stored_event, settings
):
    settings.FORWARDING_PAUSE_AFTER_S = 10 * 86400  # this test is about the schedule only
    sink.default = Answer(500, {"Content-Type": "text/html"}, b"<html>oops</html>")
    delivery = _delivery(stored_event())
    rng = random.Random(7)
    now = delivery.next_attempt_at
    waits = []
    for attempt in range(1, schedule.MAX_ATTEMPTS + 1):
        # Not a moment early: before it is due, nothing is sent.
        early = delivery_attempt(delivery_id=delivery.pk, now=now - timedelta(seconds=1), rng=rng)
        assert early.status == "not_due"
        outcome = delivery_attempt(delivery_id=delivery.pk, now=now, rng=rng).status
        delivery.refresh_from_db()
        if attempt < schedule.MAX_ATTEMPTS:
            assert outcome == "failed"
            wait = (delivery.next_attempt_at - now).total_seconds()
            planned = schedule.RETRY_DELAYS_S[attempt - 1]
            assert planned * (1 - schedule.JITTER) <= wait <= planned * (1 + schedule.JITTER)
            waits.append(wait)
            now = delivery.next_attempt_at
        else:
            assert outcome == "dead"
    assert delivery.status == Delivery.Status.DEAD
    assert len(sink.received) == schedule.MAX_ATTEMPTS
    assert 2.5 <= sum(waits) / 86400 <= 3.8  # about three days
    assert len({r.headers["webhook-id"] for r in sink.received}) == 1
    last = DeliveryAttempt.objects.first()
    assert (last.status_code, last.error) == (500, "HTTP 500 (text/html).")
    assert last.response_excerpt == "<html>oops</html>"


def test_429_waits_at_least_its_retry_after(sink, destination_with_secret, stored_event):
    sink.answers = [Answer(429, {"Retry-After": "900"}, b"slow down")]
    delivery = _delivery(stored_event())
    now = timezone.now()
    assert delivery_attempt(delivery_id=delivery.pk, now=now).status == "failed"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= now + timedelta(seconds=900)
    assert "HTTP 429" in delivery.last_error


def test_a_redirect_is_an_attempt_that_failed_and_is_not_followed(
    sink, destination_with_secret, stored_event
):
    sink.answers = [Answer(302, {"Location": "http://127.0.0.1:1/elsewhere"}, b"")]
    delivery = _delivery(stored_event())
    assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
    assert len(sink.received) == 1
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Redirect 302")


def test_a_timeout_is_an_attempt_with_its_reason(
    sink, destination_with_secret, stored_event, settings
):
    settings.FORWARDING_READ_TIMEOUT_S = 0.3
    sink.hold.clear()  # the endpoint accepts the request and never answers in time
    delivery = _delivery(stored_event())
    try:
        assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
    finally:
        sink.hold.set()
    delivery.refresh_from_db()
    assert delivery.last_error == "Timed out waiting for the destination."
    assert delivery.leased_until is None


def test_a_refused_connection_is_an_attempt_with_its_reason(tenant, stored_event):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    destination_create(
        integration=tenant.integration,
        name="Down",
        url=f"http://127.0.0.1:{port}/hooks",
        event_types=[],
        tenant_ids=[],
        actor=None,
    )
    delivery = _delivery(stored_event())
    assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == (
        "Connection failed: The destination refused the connection: nothing listens on that port."
    )


def test_an_address_that_becomes_private_is_refused_at_delivery_time(
    sink, destination_with_secret, stored_event, settings
):
    # Allowed when saved (a development host); by delivery time the setting no longer allows
    # loopback: the resolved address is checked again on every attempt.
    settings.OUTBOUND_ALLOWED_HOSTS = []
    delivery = _delivery(stored_event())
    assert delivery_attempt(delivery_id=delivery.pk).status == "failed"
    assert sink.received == []
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("Refused")
    assert delivery.status == Delivery.Status.PENDING


def test_deliveries_of_one_envelope_go_in_the_order_the_events_were_received(
    sink, destination_with_secret, stored_event
):
    envelope = "11111111-2222-4333-8444-555555555555"
    first = stored_event(event="envelope-sent", envelope_id=envelope)
    second = stored_event(event="envelope-delivered", envelope_id=envelope)
    third = stored_event(event="envelope-completed", envelope_id=envelope)
    elsewhere = stored_event(event="envelope-sent")
    assert delivery_attempt(delivery_id=_delivery(third).pk).status == "waiting"
    assert delivery_attempt(delivery_id=_delivery(second).pk).status == "waiting"
    # Another envelope does not wait for this one.
    assert delivery_attempt(delivery_id=_delivery(elsewhere).pk).status == "delivered"
    for event in (first, second, third):
        assert delivery_attempt(delivery_id=_delivery(event).pk).status == "delivered"
    order = [json.loads(r.body)["type"] for r in sink.received]
    assert order == ["envelope-sent", "envelope-sent", "envelope-delivered", "envelope-completed"]


def test_an_earlier_event_not_yet_fanned_out_holds_the_later_one_back(
    sink, destination_with_secret, stored_event, tenant
):
    from events.models import ConnectEvent

    envelope = "21111111-2222-4333-8444-555555555555"
    earlier = stored_event(event="envelope-sent", envelope_id=envelope)
    later = stored_event(event="envelope-completed", envelope_id=envelope)
    # As if the earlier event's task had not run yet (processing the later one would take it
    # along in its batch).
    ConnectEvent.objects.filter(pk=earlier.pk).update(processed_at=None)
    Delivery.objects.filter(event=earlier).delete()
    assert delivery_attempt(delivery_id=_delivery(later).pk).status == "waiting"


def test_a_destination_never_has_more_than_its_bound_in_flight(
    sink, destination_with_secret, stored_event, tenant
):
    destination, _ = destination_with_secret
    destination.max_in_flight = 1
    destination.save()
    other, _ = destination_create(
        integration=tenant.integration,
        name="Other",
        url=sink.url,
        event_types=[],
        tenant_ids=[],
        actor=None,
    )
    held = Delivery.objects.filter(destination=destination).get(event=stored_event())
    waiting_event = stored_event()
    now = timezone.now()
    _hold(held, until=now + timedelta(seconds=60))  # a worker is sending it right now
    waiting = Delivery.objects.get(destination=destination, event=waiting_event)
    assert delivery_attempt(delivery_id=waiting.pk, now=now).status == "busy"
    # The slow destination does not hold back another one.
    free = Delivery.objects.get(destination=other, event=waiting_event)
    assert delivery_attempt(delivery_id=free.pk, now=now).status == "delivered"


def test_the_sweep_finds_due_deliveries_and_those_of_a_worker_that_died(
    sink, destination_with_secret, stored_event
):
    destination, _ = destination_with_secret
    now = timezone.now()
    due = _delivery(stored_event())
    Delivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=1))
    orphaned = _delivery(stored_event())  # its worker died holding the lease
    Delivery.objects.filter(pk=orphaned.pk).update(
        next_attempt_at=now - timedelta(minutes=5), leased_until=now - timedelta(seconds=1)
    )
    in_flight = _delivery(stored_event())
    Delivery.objects.filter(pk=in_flight.pk).update(
        next_attempt_at=now - timedelta(minutes=5), leased_until=now + timedelta(seconds=30)
    )
    later = _delivery(stored_event())
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(hours=1))
    assert destinations_due(now=now) == [destination.pk]
    Delivery.objects.filter(pk=due.pk).update(status=Delivery.Status.SUCCEEDED)
    assert destinations_due(now=now) == [destination.pk]  # the orphaned one
    Delivery.objects.filter(pk=orphaned.pk).update(status=Delivery.Status.SUCCEEDED)
    # One in flight with a live worker and one not due yet: nothing for the sweep.
    assert destinations_due(now=now) == []


def test_a_delivery_refused_for_want_of_a_slot_goes_out_when_one_frees(
    sink, destination_with_secret, stored_event
):
    destination, _ = destination_with_secret
    destination.max_in_flight = 1
    destination.save()
    first, second = _delivery(stored_event()), _delivery(stored_event())
    now = timezone.now()
    _hold(first, until=now + timedelta(seconds=60))
    assert delivery_attempt(delivery_id=second.pk, now=now).status == "busy"
    assert sink.received == []
    # The worker holding the slot finishes and claims again: the refused one goes next.
    Delivery.objects.filter(pk=first.pk).update(leased_until=None)
    DestinationSlot.objects.update(delivery=None, leased_until=None)
    outcomes = destination_deliver(destination_id=destination.pk)
    assert [(o.delivery_id, o.status) for o in outcomes] == [
        (first.pk, "delivered"),
        (second.pk, "delivered"),
    ]
    assert [json.loads(r.body)["data"]["event_id"] for r in sink.received] == [
        first.event_id,
        second.event_id,
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_never_exceed_the_bound_and_none_waits_for_another(
    sink, destination_with_secret, stored_event
):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from forwarding.models import Destination
    from testing.wait import wait_until

    destination, _ = destination_with_secret
    destination.max_in_flight = 2
    destination.paused_at = timezone.now()  # the deliveries wait, unsent, until the senders start
    destination.save()
    deliveries = [_delivery(stored_event()) for _ in range(6)]
    Destination.objects.filter(pk=destination.pk).update(paused_at=None)
    sink.hold.clear()  # the endpoint keeps every request it gets waiting

    def send():
        try:
            return destination_deliver(destination_id=destination.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        senders = [pool.submit(send) for _ in range(6)]
        sink.wait_for(2)
        # One sender claimed a round of two; the five others found nothing they could take
        # (the rows and slots of that round are skipped, never waited for) and returned at once.
        wait_until(lambda: sum(f.done() for f in senders) == 5, timeout=30, what="five returns")
        assert all(f.result() == [] for f in senders if f.done())
        assert len(sink.received) == 2
        sink.hold.set()
        # The one holding the slots claims again after each round, two at a time.
        sent = [outcome for f in senders for outcome in f.result(timeout=60)]
    assert sorted(o.delivery_id for o in sent) == [d.pk for d in deliveries]
    assert {o.status for o in sent} == {"delivered"}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert len(sink.received) == 6


def test_a_batch_taken_by_the_last_event_of_an_envelope_still_delivers_it_in_order(
    sink, destination_with_secret, stored_event, django_capture_on_commit_callbacks
):
    from events.tasks import connect_event_process

    envelope = "31111111-2222-4333-8444-555555555555"
    names = ["envelope-sent", "envelope-delivered", "envelope-completed"]
    events = [stored_event(processed=False, event=name, envelope_id=envelope) for name in names]
    # The last event's task runs first and takes the waiting ones in its batch; once that has
    # committed its sender sends them one round each, in the order of the envelope.
    with django_capture_on_commit_callbacks(execute=True):
        assert connect_event_process(events[2].pk) is True
    assert [json.loads(r.body)["type"] for r in sink.received] == names
    # The other events' tasks find them processed and send nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert connect_event_process(events[1].pk) is False
        assert connect_event_process(events[0].pk) is False
    assert len(sink.received) == 3
    assert {_delivery(event).status for event in events} == {Delivery.Status.SUCCEEDED}


def test_a_task_whose_event_another_batch_took_still_takes_the_events_stored_since(
    sink, destination_with_secret, stored_event, django_capture_on_commit_callbacks
):
    from events.models import ConnectEvent
    from events.tasks import connect_event_process

    first, second = stored_event(processed=False), stored_event(processed=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert connect_event_process(first.pk) is True  # takes the second in its batch
    # Stored while the second's task was queued, so it queued no task of its own.
    third = stored_event(processed=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert connect_event_process(second.pk) is True
    assert not ConnectEvent.objects.filter(processed_at__isnull=True).exists()
    sent = {json.loads(r.body)["data"]["event_id"] for r in sink.received}
    assert sent == {first.pk, second.pk, third.pk}


def test_a_failure_queues_its_destination_s_sender_for_when_the_retry_is_due(
    sink, destination_with_secret, stored_event, monkeypatch
):
    from forwarding.tasks import destination_deliver as sender_task

    destination, _ = destination_with_secret
    queued = []
    monkeypatch.setattr(
        sender_task, "apply_async", lambda args, countdown=0: queued.append((args, countdown))
    )
    sink.default = Answer(503)
    delivery = _delivery(stored_event())
    now = timezone.now()
    assert delivery_attempt(delivery_id=delivery.pk, now=now).status == "failed"
    due_in = (Delivery.objects.get(pk=delivery.pk).next_attempt_at - now).total_seconds()
    ((args, countdown),) = queued
    assert args == (destination.pk,)
    # Not a moment before the retry is due (it would find nothing to send), at most a second after.
    assert due_in <= countdown < due_in + 1

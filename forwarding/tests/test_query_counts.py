"""Query ceilings of the forwarding path (counts, not SQL): a forwarded event costs one task and a
fixed number of round trips, however many events came before it and however many destinations it
fans out to; a round of deliveries costs what a round of one does. Savepoints count (they are the
BEGIN and COMMIT of production)."""

import random
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.tasks import connect_event_process
from forwarding.models import Delivery
from forwarding.services.deliveries import delivery_attempt
from forwarding.services.destinations import destination_create
from forwarding.tasks import destination_deliver as destination_deliver_task

pytestmark = pytest.mark.django_db

# The event alone (a batch of one): its lock, the batch read, marking it processed, the fan-out
# (2), the recovery match (1), in a transaction (2); the tenant's counters (2); then its
# destination's sender: claim (4 and a transaction), secrets (1), record (3 and a transaction),
# and the claim after it that finds nothing more (1 and a transaction).
EVENT_TASK_CEILING = 25
# One delivery attempted alone: claim, secrets, record.
ATTEMPT_CEILING = 12
# A delivery more in the same sender, at worst (its answer recorded alone): its record (3 and a
# transaction) and the claim that sent it (4 and a transaction).
PER_DELIVERY_CEILING = 11


@pytest.fixture
def at_most(django_assert_max_num_queries, django_capture_on_commit_callbacks):
    """`with at_most(n):` the block, and the work it starts once committed, runs <= n queries."""

    @contextmanager
    def ceiling(queries: int):
        with (
            django_assert_max_num_queries(queries),
            django_capture_on_commit_callbacks(execute=True),
        ):
            yield

    return ceiling


@pytest.fixture
def published(monkeypatch):
    """Sender tasks published to the broker (none are run)."""
    sent = []
    monkeypatch.setattr(
        destination_deliver_task, "apply_async", lambda args, **kw: sent.append(args)
    )
    return sent


def test_a_forwarded_event_costs_one_task_and_a_fixed_number_of_queries(
    sink, destination_with_secret, stored_event, published, at_most
):
    with at_most(EVENT_TASK_CEILING + 4):  # the tenant's first event also creates its rows
        connect_event_process(stored_event(processed=False).pk)
    event = stored_event(processed=False)
    with at_most(EVENT_TASK_CEILING):
        connect_event_process(event.pk)
    assert Delivery.objects.get(event=event).status == Delivery.Status.SUCCEEDED
    assert len(sink.received) == 2
    assert published == []  # sent from the event's own task: no second task


def test_fanning_out_to_more_destinations_adds_no_query_to_the_event_task(
    sink, tenant, destination_with_secret, stored_event, published
):
    def processing_queries() -> int:
        event = stored_event(processed=False)
        with CaptureQueriesContext(connection) as queries:
            connect_event_process(event.pk)  # the test's transaction holds the sends back
        return len(queries)

    processing_queries()  # the tenant's first event creates its counter rows
    one = processing_queries()
    for n in range(4):
        destination_create(
            integration=tenant.integration,
            name=f"More {n}",
            url=sink.url,
            event_types=[],
            tenant_ids=[],
            actor=None,
        )
    assert processing_queries() == one
    latest = Delivery.objects.order_by("-event_id").values_list("event_id", flat=True)[0]
    assert Delivery.objects.filter(event_id=latest).count() == 5


def test_one_attempt_of_a_due_delivery_stays_under_its_ceiling(
    sink, destination_with_secret, stored_event, published, at_most
):
    stored_event()
    delivery = Delivery.objects.get(event=stored_event())
    with at_most(ATTEMPT_CEILING):
        assert delivery_attempt(delivery_id=delivery.pk).status == "delivered"


def test_a_batch_of_waiting_events_costs_a_fraction_of_its_events_one_by_one(
    sink, destination_with_secret, stored_event, published, django_capture_on_commit_callbacks
):
    def forwarding_queries(n: int) -> int:
        """Queries of one task taking n waiting events in its batch and sending them."""
        events = [stored_event(processed=False) for _ in range(n)]
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            connect_event_process(events[0].pk)
        delivered = Delivery.objects.filter(event__in=events, status=Delivery.Status.SUCCEEDED)
        assert delivered.count() == n
        return len(queries)

    forwarding_queries(1)  # the tenant's first event creates its counter rows
    one = forwarding_queries(1)
    assert one <= EVENT_TASK_CEILING
    # One task, one batch, one sender: however the sink's answers group, at most a record and a
    # claim per delivery beyond the first, not a task per event.
    assert forwarding_queries(10) <= one + 9 * PER_DELIVERY_CEILING < 10 * one / 2
    assert published == []


def test_recording_sends_together_costs_what_recording_one_does(
    sink, destination_with_secret, stored_event, django_assert_num_queries
):
    from forwarding.services.claims import deliveries_claim
    from forwarding.services.recording import Sent, attempts_record

    def record_queries(n: int) -> int:
        for _ in range(n):
            stored_event()  # processed, not sent (the test's transaction holds the sends back)
        now = timezone.now()
        claim = deliveries_claim(
            candidates=Delivery.objects.filter(status=Delivery.Status.PENDING), now=now, limit=n
        )
        assert len(claim.deliveries) == n
        sent = [
            Sent(delivery, slot_id, claim.lease, {"status_code": 200, "latency_ms": 50})
            for delivery, slot_id in zip(claim.deliveries, claim.slot_ids, strict=True)
        ]
        with CaptureQueriesContext(connection) as queries:
            assert attempts_record(sent, now=now, rng=random.Random(1))[0] == ["delivered"] * n
        return len(queries)

    assert record_queries(4) == record_queries(1)

"""Query ceilings of the per-event forwarding path (counts, not SQL): a forwarded event costs one
task and a fixed number of round trips, however many events came before it and however many
destinations it fans out to. Savepoints count (they are the BEGIN and COMMIT of production)."""

from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.tasks import connect_event_process
from forwarding.models import Delivery
from forwarding.services.deliveries import delivery_attempt
from forwarding.services.destinations import destination_create
from forwarding.tasks import delivery_attempt as delivery_attempt_task

pytestmark = pytest.mark.django_db

# The event alone (a batch of one): its lock, the batch read, marking it processed, the fan-out
# (2), the recovery match (1); the tenant's counters (2); its first attempt: claim (2), secrets
# (1), record (3), what to send next (2); 3 transactions (2 each). A later attempt reads its
# delivery first (1). Before this design: two tasks and about 30.
EVENT_TASK_CEILING = 22
ATTEMPT_CEILING = 13
# Queries an event saves when another task's batch took it (its task then reads its lock and its
# deliveries only, 6 fewer than processing it alone: ten waiting events cost 166, not 220).
BATCH_SAVING_AT_LEAST = 5


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
    """Delivery attempts published to the broker (none are run)."""
    sent = []
    monkeypatch.setattr(delivery_attempt_task, "apply_async", lambda args, **kw: sent.append(args))
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


def test_a_batch_of_waiting_events_costs_fewer_queries_than_its_events_one_by_one(
    sink, destination_with_secret, stored_event, published, django_capture_on_commit_callbacks
):
    stored_event()  # the tenant's first event creates its counter rows

    def forwarding_queries(n: int) -> int:
        """Queries of n waiting events' tasks, the first taking them all in its batch, each
        sending its own event."""
        events = [stored_event(processed=False) for _ in range(n)]
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            for event in events:
                connect_event_process(event.pk)
        delivered = Delivery.objects.filter(event__in=events, status=Delivery.Status.SUCCEEDED)
        assert delivered.count() == n
        return len(queries)

    one = forwarding_queries(1)
    assert one <= EVENT_TASK_CEILING
    assert forwarding_queries(10) <= 10 * one - 9 * BATCH_SAVING_AT_LEAST
    assert published == []

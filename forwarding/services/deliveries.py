"""Delivering events to destinations: at least once, after the event's row is committed, retried
on forwarding/schedule.py's schedule, in order per envelope, at most `max_in_flight` at a time per
destination. PostgreSQL holds every delivery's state, so a lost Celery message or a killed worker
costs time only: `destinations_due` finds what is due again (an expired lease included).

A sender works for one destination: it claims (forwarding/services/claims.py: up to the free
slots' number of the oldest deliveries that may go, in one short transaction), sends them at once
(threads, no transaction open, forwarding/services/sending.py), and whenever sends finish records
them together (forwarding/services/recording.py: one short transaction) and claims as many more,
until nothing of the destination may go. A sender that finds every slot taken stops: the senders
holding them claim again after recording, and see its deliveries. The first sender of a fan-out
runs in the task that fanned the events out, once that has committed; every other destination of
the batch gets a task of its own, so a slow endpoint holds back no other.
"""

import math
import random
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.db.models import Q, QuerySet
from django.utils import timezone

from forwarding.models import Delivery, Destination
from forwarding.services.claims import deliveries_claim, unclaimed_reason
from forwarding.services.destinations import destination_signing_secrets
from forwarding.services.recording import Sent, attempts_record
from forwarding.services.sending import delivery_post, sender_pool

# A short wait before the sweep takes a fresh delivery: its own task is normally on its way.
SWEEP_GRACE_S = 5
# Longer waits than this are left to the sweep (a Celery countdown lives in the broker only).
COUNTDOWN_MAX_S = 300
# How long a sender waits, once an answer is back, for others to record with it.
RECORD_LINGER_S = 0.005
# A sender sends for one destination this long at most, then hands the rest to a new
# task (queued behind other destinations' work).
SENDER_BUDGET_S = 30

_rng = random.SystemRandom()


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # "delivered", "failed", "dead", or why nothing was sent: "busy", "waiting", ...
    delivery_id: int


def destinations_deliver_enqueue(destination_ids: list[int], countdown: float = 0) -> None:
    from forwarding.tasks import destination_deliver

    for destination_id in destination_ids:
        destination_deliver.apply_async((destination_id,), countdown=countdown)


def deliveries_send(deliveries: list[Delivery]) -> list[AttemptOutcome]:
    """After a fan-out committed (the deliveries read with their destinations): send to the
    destinations it gave work to until nothing of them may go, the first one here, in the
    caller's task, every other one in a task of its own."""
    destinations: dict[int, Destination] = {}
    for delivery in deliveries:
        destinations.setdefault(delivery.destination_id, delivery.destination)
    if not destinations:
        return []
    first, *others = destinations.values()
    destinations_deliver_enqueue([destination.pk for destination in others])
    return destination_deliver(destination_id=first.pk, max_in_flight=first.max_in_flight)


def destination_deliver(
    *,
    destination_id: int,
    max_in_flight: int | None = None,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> list[AttemptOutcome]:
    """Send the destination's deliveries that may go, oldest first, keeping up to its free slots
    in flight: whenever sends finish, record them together and claim as many more, until
    nothing may go (or SENDER_BUDGET_S is spent: a new task goes on). A slow answer holds its
    own slot only."""
    if max_in_flight is None:
        found = Destination.objects.filter(pk=destination_id).values_list("max_in_flight")
        max_in_flight = next((n for (n,) in found), 0)
    candidates = Delivery.objects.filter(destination_id=destination_id)
    deadline = time.monotonic() + SENDER_BUDGET_S
    signing_secrets: list[str] | None = None
    in_flight: dict[Future, tuple[Delivery, int, datetime]] = {}
    outcomes: list[AttemptOutcome] = []
    free = max_in_flight
    while True:
        if free and time.monotonic() < deadline:
            claim = deliveries_claim(candidates=candidates, now=now or timezone.now(), limit=free)
            if claim.deliveries and signing_secrets is None:
                signing_secrets = destination_signing_secrets(
                    destination_id=destination_id, now=now or timezone.now()
                )
            for delivery, slot_id in zip(claim.deliveries, claim.slot_ids, strict=True):
                future = sender_pool().submit(
                    delivery_post, delivery, signing_secrets=signing_secrets or []
                )
                in_flight[future] = (delivery, slot_id, cast(datetime, claim.lease))
            free -= len(claim.deliveries)
        if not in_flight:
            break
        done, pending = wait(in_flight, return_when=FIRST_COMPLETED)
        if pending:
            # Answers sent together come back together: recorded in one transaction.
            done |= wait(pending, timeout=RECORD_LINGER_S).done
        sent = [Sent(*in_flight.pop(future), result=future.result()) for future in done]
        outcomes += _record(sent, now=now or timezone.now(), rng=rng or _rng)
        free += len(sent)
    if time.monotonic() >= deadline:
        destinations_deliver_enqueue([destination_id])
    return outcomes


def delivery_attempt(
    *, delivery_id: int, now: datetime | None = None, rng: random.Random | None = None
) -> AttemptOutcome:
    """One attempt of one delivery if it is due and may go now; else why not."""
    now = now or timezone.now()
    claim = deliveries_claim(candidates=Delivery.objects.filter(pk=delivery_id), now=now, limit=1)
    if not claim.deliveries:
        reason = "busy" if claim.busy else unclaimed_reason(delivery_id, now=now)
        return AttemptOutcome(reason, delivery_id)
    (delivery,), (slot_id,) = claim.deliveries, claim.slot_ids
    secrets = destination_signing_secrets(destination_id=delivery.destination_id, now=now)
    result = delivery_post(delivery, signing_secrets=secrets)
    sent = Sent(delivery, slot_id, cast(datetime, claim.lease), result=result)
    (outcome,) = _record([sent], now=now, rng=rng or _rng)
    return outcome


def _record(sent: list[Sent], *, now: datetime, rng: random.Random) -> list[AttemptOutcome]:
    """Record what was sent; a retry due within COUNTDOWN_MAX_S gets a task of its own."""
    outcomes, retries_in = attempts_record(sent, now=now, rng=rng)
    destination_id = sent[0].delivery.destination_id
    # Whole seconds, rounded up: a sender that came a moment early would find nothing due.
    for retry_in in sorted({math.ceil(s) for s in retries_in if s <= COUNTDOWN_MAX_S}):
        destinations_deliver_enqueue([destination_id], countdown=max(retry_in, 0))
    return [
        AttemptOutcome(outcome, item.delivery.pk)
        for outcome, item in zip(outcomes, sent, strict=True)
    ]


def _due(*, now: datetime, due_by: datetime | None = None) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=due_by or now,
        destination__paused_at__isnull=True,
    )


def destinations_due(*, now: datetime | None = None) -> list[int]:
    """Beat: destinations with deliveries that are due and held by no live worker (a lost
    message, a killed worker, a retry beyond a countdown, a destination back from a pause)."""
    now = now or timezone.now()
    due = _due(now=now, due_by=now - timedelta(seconds=SWEEP_GRACE_S))
    return list(due.order_by().values_list("destination_id", flat=True).distinct())

"""Delivering events to destinations: at least once, after the event's row is committed, retried
on forwarding/schedule.py's schedule, in order per envelope, at most `max_in_flight` at a time per
destination. PostgreSQL holds every delivery's state, so a lost Celery message or a killed worker
costs time only: `deliveries_due` finds what is due again (an expired lease included).

The first attempt goes out from the event's own task (events.tasks), once the fan-out committed:
one task per event, whether that task fanned its event out or another task's batch did. An
attempt is three steps: claim (one short transaction: a free slot of the destination, taken with
SKIP LOCKED, and one conditional UPDATE of the delivery that also checks the order of its
envelope), send (no transaction open, through common/outbound.py), record (one short transaction:
the attempt row, the next state, the slot freed). No row lock is held across the HTTP call, and
no sender waits for another's lock.
"""

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from common.metrics import FORWARDING_ATTEMPT_SECONDS, FORWARDING_ATTEMPTS
from forwarding import schedule
from forwarding.models import Delivery, DeliveryAttempt, Destination, DestinationSlot
from forwarding.services.destinations import destination_pause
from forwarding.services.fanout import INTEGRATION_SECRETS
from forwarding.services.sending import EXCERPT_BYTES, delivery_send

# A short wait before the sweep takes a fresh delivery: its own task is normally on its way.
SWEEP_GRACE_S = 5
# Longer waits than this are left to the sweep (a Celery countdown lives in the broker only).
COUNTDOWN_MAX_S = 300

_rng = random.SystemRandom()


def connect_events() -> QuerySet[models.Model]:
    """ConnectEvent's rows, named through the relation: this app does not import `events`."""
    model = cast(type[models.Model], Delivery._meta.get_field("event").related_model)
    return model._default_manager.all()


def deliveries_enqueue(delivery_ids: list[int], countdown: float = 0) -> None:
    from forwarding.tasks import delivery_attempt

    for delivery_id in delivery_ids:
        delivery_attempt.apply_async((delivery_id,), countdown=countdown)


# --- one attempt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # "delivered", "failed", "dead", or why nothing was sent: "busy", "waiting", ...
    delivery_id: int


def _with_relations(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """What one attempt reads, in one query: the destination and its integration, the event, the
    tenant."""
    return deliveries.select_related("destination__integration", "event", "tenant").defer(
        *(f"destination__integration__{name}" for name in INTEGRATION_SECRETS)
    )


def deliveries_send(deliveries: list[Delivery]) -> list[AttemptOutcome]:
    """The first attempt of freshly fanned-out deliveries (read with their relations): the first
    one's here, in the caller's task, every other one's in a task of its own (so a slow
    destination holds back no other)."""
    if not deliveries:
        return []
    first, *others = deliveries
    deliveries_enqueue([d.pk for d in others])
    return [_attempt(first, now=timezone.now(), rng=_rng)]


def deliveries_send_for_event(*, event_id: int) -> list[AttemptOutcome]:
    """The first attempts of an event another task's batch fanned out (that batch has committed):
    read with their relations in one query and sent as `deliveries_send` does. Deliveries
    already attempted are left to their retry schedule."""
    deliveries = _with_relations(
        Delivery.objects.filter(
            event_id=event_id, status=Delivery.Status.PENDING, attempt_count=0
        ).order_by("pk")
    )
    return deliveries_send(list(deliveries))


def delivery_attempt(
    *, delivery_id: int, now: datetime | None = None, rng: random.Random | None = None
) -> AttemptOutcome:
    """Claim, send and record one attempt of a delivery, if it is due and may go now."""
    delivery = _with_relations(Delivery.objects.filter(pk=delivery_id)).first()
    if delivery is None:
        return AttemptOutcome("done", delivery_id)
    return _attempt(delivery, now=now or timezone.now(), rng=rng or _rng)


def _attempt(delivery: Delivery, *, now: datetime, rng: random.Random) -> AttemptOutcome:
    refused = _not_now(delivery, now=now) or _claim(delivery, now=now)
    if refused:
        return AttemptOutcome(refused, delivery.pk)
    started = time.monotonic()
    result = delivery_send(delivery, now=now)
    result["latency_ms"] = int((time.monotonic() - started) * 1000)
    status = _record(delivery, result=result, now=now, rng=rng)
    FORWARDING_ATTEMPTS.labels(status).inc()
    FORWARDING_ATTEMPT_SECONDS.labels(status).observe(result["latency_ms"] / 1000)
    return AttemptOutcome(status, delivery.pk)


def _lease_s() -> float:
    return settings.FORWARDING_CONNECT_TIMEOUT_S + settings.FORWARDING_READ_TIMEOUT_S + 30


def _not_now(delivery: Delivery, *, now: datetime) -> str:
    """Why the delivery as read may not go now ("" when it may): no query. The claim's
    conditional UPDATE checks the same again against the committed row."""
    if delivery.status != Delivery.Status.PENDING:
        return "done"
    if delivery.next_attempt_at > now:
        return "not_due"
    if delivery.leased_until is not None and delivery.leased_until > now:
        return "in_flight"
    if delivery.destination.is_paused:
        return "paused"
    return ""


def _claimable(*, now: datetime) -> QuerySet[Delivery]:
    """Deliveries that may be sent now: pending, due, held by no live worker, their destination
    not paused, and no earlier event of their envelope still to be delivered to it (pending, or
    stored and not yet fanned out)."""
    earlier_pending = Delivery.objects.filter(
        destination_id=OuterRef("destination_id"),
        status=Delivery.Status.PENDING,
        envelope_id=OuterRef("envelope_id"),
        event_id__lt=OuterRef("event_id"),
        tenant_id=OuterRef("tenant_id"),
    )
    earlier_unprocessed = connect_events().filter(
        envelope_id=OuterRef("envelope_id"),
        tenant_id=OuterRef("tenant_id"),
        pk__lt=OuterRef("event_id"),
        processed_at__isnull=True,
    )
    paused = Destination.objects.filter(pk=OuterRef("destination_id"), paused_at__isnull=False)
    return Delivery.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
        Q(envelope_id="") | (~Exists(earlier_pending) & ~Exists(earlier_unprocessed)),
        ~Exists(paused),
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
    )


class _NoFreeSlot(Exception):
    pass


def _claim(delivery: Delivery, *, now: datetime) -> str:
    """Lease the delivery and a free slot of its destination, two conditional UPDATEs in one
    transaction; "" when claimed, else why not."""
    destination = delivery.destination
    lease = now + timedelta(seconds=_lease_s())
    claimable = _claimable(now=now).filter(pk=delivery.pk)
    free_slot = (
        DestinationSlot.objects.select_for_update(skip_locked=True)
        .filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            destination_id=destination.pk,
            number__lt=destination.max_in_flight,
        )
        .order_by("number")
        .values("pk")[:1]
    )
    try:
        with transaction.atomic():
            if not claimable.update(leased_until=lease, waiting_for_slot=False):
                return _why_not(delivery.pk, now=now)
            # Slots locked by another claim are skipped, not waited for.
            taken = DestinationSlot.objects.filter(pk__in=free_slot).update(
                delivery_id=delivery.pk, leased_until=lease
            )
            if not taken:
                raise _NoFreeSlot  # undoes the lease
    except _NoFreeSlot:
        # The next attempt of this destination to finish sends the oldest delivery marked so.
        if claimable.update(waiting_for_slot=True):
            return "busy"
        return _why_not(delivery.pk, now=now)
    delivery.leased_until = lease
    return ""


def _why_not(delivery_id: int, *, now: datetime) -> str:
    """Why a delivery the claim did not take may not go (one read, off the usual path)."""
    delivery = Delivery.objects.select_related("destination").filter(pk=delivery_id).first()
    if delivery is None:
        return "done"
    return _not_now(delivery, now=now) or "waiting"


def _record(delivery: Delivery, *, result: dict, now: datetime, rng: random.Random) -> str:
    ok = "error" not in result
    changes: dict = {"leased_until": None, "attempt_count": F("attempt_count") + 1}
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk,
            destination_id=delivery.destination_id,
            attempted_at=now,
            succeeded=ok,
            status_code=result.get("status_code"),
            latency_ms=result.get("latency_ms"),
            response_excerpt=result.get("excerpt", "")[:EXCERPT_BYTES],
            error=result.get("error", "")[:300],
        )
        retry_in = 0.0
        if ok:
            changes.update(status=Delivery.Status.SUCCEEDED, delivered_at=now, last_error="")
            outcome = "delivered"
            # As read when this attempt began; a failure recorded since then is cleared by the
            # next success. Conditional: no lock on the destination unless it was failing.
            if delivery.destination.failing_since is not None:
                Destination.objects.filter(
                    pk=delivery.destination_id, failing_since__isnull=False
                ).update(failing_since=None)
        else:
            error = result["error"][:300]
            retry_at = schedule.next_attempt_at(
                failures=delivery.attempt_count + 1,
                now=now,
                retry_after_s=result.get("retry_after_s"),
                rng=rng,
            )
            changes["last_error"] = error
            if retry_at is None:
                changes["status"], outcome = Delivery.Status.DEAD, "dead"
            else:
                changes["next_attempt_at"], outcome = retry_at, "failed"
                retry_in = (retry_at - now).total_seconds()
            _failure_count_towards_pause(
                destination_id=delivery.destination_id, reason=error, now=now
            )
        # Only while this attempt's lease is the delivery's: past it, another worker owns it.
        Delivery.objects.filter(pk=delivery.pk, leased_until=delivery.leased_until).update(
            **changes
        )
        # Last, so other senders skip the locked slot for one round trip only.
        DestinationSlot.objects.filter(
            destination_id=delivery.destination_id, delivery_id=delivery.pk
        ).update(delivery=None, leased_until=None)
        transaction.on_commit(lambda: _follow_up(delivery, outcome=outcome, retry_in=retry_in))
    return outcome


def _failure_count_towards_pause(*, destination_id: int, reason: str, now: datetime) -> None:
    """Start the pause clock at the first failure after a success; pause (once) when it has run
    FORWARDING_PAUSE_AFTER_S."""
    destinations = Destination.objects.filter(pk=destination_id)
    if destinations.filter(failing_since__isnull=True).update(failing_since=now):
        return
    cutoff = now - timedelta(seconds=settings.FORWARDING_PAUSE_AFTER_S)
    destination = (
        destinations.select_for_update(of=("self",), no_key=True)
        .filter(paused_at__isnull=True, failing_since__lte=cutoff)
        .select_related("integration")
        .first()
    )
    if destination is not None:
        destination_pause(destination=destination, reason=reason, now=now)


def _follow_up(delivery: Delivery, *, outcome: str, retry_in: float) -> None:
    """After an attempt: its retry if soon; the oldest delivery refused for want of the slot just
    freed; and, when this one is finished, the next of its envelope (each one indexed read; the
    attempt each is sent to checks the rest)."""
    if outcome == "failed" and retry_in <= COUNTDOWN_MAX_S:
        deliveries_enqueue([delivery.pk], countdown=max(retry_in, 0))
    pending = Delivery.objects.filter(
        destination_id=delivery.destination_id, status=Delivery.Status.PENDING
    ).order_by("event_id")
    ids = list(pending.filter(waiting_for_slot=True).values_list("pk", flat=True)[:1])
    if ids:
        Delivery.objects.filter(pk__in=ids).update(waiting_for_slot=False)
    if outcome != "failed" and delivery.envelope_id:
        following = pending.filter(
            envelope_id=delivery.envelope_id,
            tenant_id=delivery.tenant_id,
            event_id__gt=delivery.event_id,
        ).values_list("pk", flat=True)[:1]
        ids.extend(pk for pk in following if pk not in ids)
    deliveries_enqueue(ids)


def deliveries_enqueue_backlog(*, destination_id: int, now: datetime, limit: int = 5000) -> int:
    """Every due delivery of a destination, oldest first (after a resume)."""
    ids = list(
        _due(now=now)
        .filter(destination_id=destination_id)
        .order_by("event_id")
        .values_list("pk", flat=True)[:limit]
    )
    deliveries_enqueue(ids)
    return len(ids)


def _due(*, now: datetime, due_by: datetime | None = None) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=due_by or now,
        destination__paused_at__isnull=True,
    )


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Beat: deliveries that are due and held by no live worker (a lost message, a killed worker,
    a retry beyond a countdown, a destination back from a pause), oldest first."""
    now = now or timezone.now()
    return list(
        _due(now=now, due_by=now - timedelta(seconds=SWEEP_GRACE_S))
        .order_by("event_id")
        .values_list("pk", flat=True)[:limit]
    )

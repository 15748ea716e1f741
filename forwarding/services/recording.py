"""Recording attempts: the attempt rows, each delivery's next state, the slots freed, and the
destination's pause clock, in one short transaction whose statements do not grow with the number
of deliveries recorded together (a failure, rare, is one UPDATE of its own: its retry time is its
own)."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from common.metrics import FORWARDING_ATTEMPT_SECONDS, FORWARDING_ATTEMPTS
from forwarding import schedule
from forwarding.models import Delivery, DeliveryAttempt, Destination, DestinationSlot
from forwarding.services.destinations import destination_pause
from forwarding.services.sending import EXCERPT_BYTES


@dataclass(frozen=True)
class Sent:
    """One delivery sent: the slot and lease its claim gave it, and what happened."""

    delivery: Delivery
    slot_id: int
    lease: datetime
    result: dict


def attempts_record(
    sent: list[Sent], *, now: datetime, rng: random.Random
) -> tuple[list[str], list[float]]:
    """Record sent deliveries (all of one destination): the outcome of each, in order
    ("delivered", "failed", "dead"), and when the failed ones are retried, in seconds from
    now. Every row is written only while its lease is still the claim's: past it, another
    worker owns the delivery, and its slot."""
    outcomes: list[str] = []
    retries_in: list[float] = []
    by_lease: dict[datetime, list[Sent]] = {}
    for item in sent:
        by_lease.setdefault(item.lease, []).append(item)
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create([_attempt_row(item, now=now) for item in sent])
        for lease, items in by_lease.items():
            delivered = [item.delivery.pk for item in items if _ok(item.result)]
            if delivered:
                Delivery.objects.filter(pk__in=delivered, leased_until=lease).update(
                    status=Delivery.Status.SUCCEEDED,
                    delivered_at=now,
                    last_error="",
                    leased_until=None,
                    attempt_count=F("attempt_count") + 1,
                )
        last_error = ""
        for item in sent:
            if _ok(item.result):
                outcomes.append("delivered")
                continue
            last_error = item.result["error"][:300]
            retry_at = schedule.next_attempt_at(
                failures=item.delivery.attempt_count + 1,
                now=now,
                retry_after_s=item.result.get("retry_after_s"),
                rng=rng,
            )
            changes: dict = {
                "leased_until": None,
                "attempt_count": F("attempt_count") + 1,
                "last_error": last_error,
            }
            if retry_at is None:
                changes["status"] = Delivery.Status.DEAD
                outcomes.append("dead")
            else:
                changes["next_attempt_at"] = retry_at
                outcomes.append("failed")
                retries_in.append((retry_at - now).total_seconds())
            Delivery.objects.filter(pk=item.delivery.pk, leased_until=item.lease).update(**changes)
        destination = sent[0].delivery.destination
        if "delivered" in outcomes:
            # A destination that took any of them is not failing continuously. As read when
            # claimed; conditional, so no lock unless it was failing.
            if destination.failing_since is not None:
                Destination.objects.filter(pk=destination.pk, failing_since__isnull=False).update(
                    failing_since=None
                )
        elif last_error:
            _failure_count_towards_pause(destination_id=destination.pk, reason=last_error, now=now)
        # Last, so other senders skip the locked slots for one round trip only.
        for lease, items in by_lease.items():
            DestinationSlot.objects.filter(
                pk__in=[item.slot_id for item in items], leased_until=lease
            ).update(delivery=None, leased_until=None)
    for outcome, item in zip(outcomes, sent, strict=True):
        FORWARDING_ATTEMPTS.labels(outcome).inc()
        FORWARDING_ATTEMPT_SECONDS.labels(outcome).observe(item.result["latency_ms"] / 1000)
    return outcomes, retries_in


def _ok(result: dict) -> bool:
    return "error" not in result


def _attempt_row(item: Sent, *, now: datetime) -> DeliveryAttempt:
    delivery, result = item.delivery, item.result
    return DeliveryAttempt(
        delivery_id=delivery.pk,
        destination_id=delivery.destination_id,
        attempted_at=now,
        succeeded=_ok(result),
        status_code=result.get("status_code"),
        latency_ms=result.get("latency_ms"),
        response_excerpt=result.get("excerpt", "")[:EXCERPT_BYTES],
        error=result.get("error", "")[:300],
    )


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

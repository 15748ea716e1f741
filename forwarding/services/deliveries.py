"""Delivering events to destinations: at least once, after the event's row is committed, retried
on forwarding/schedule.py's schedule, in order per envelope, at most `max_in_flight` at a time per
destination. PostgreSQL holds every delivery's state, so a lost Celery message or a killed worker
costs time only: `deliveries_due` finds what is due again (an expired lease included).

One attempt is three steps: claim (a short transaction: the lease), send (no transaction open,
through common/outbound.py), record (a short transaction: the attempt row, the next state).
"""

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, cast

import requests
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from common.metrics import FORWARDING_ATTEMPT_SECONDS, FORWARDING_ATTEMPTS
from common.outbound import OutboundRefused, outbound_post
from forwarding import schedule
from forwarding.models import Delivery, DeliveryAttempt, Destination
from forwarding.services.destinations import destination_pause, destination_signing_secrets
from forwarding.services.signing import signed_headers

EXCERPT_BYTES = 500
# A short wait before the sweep takes a fresh delivery: its own task is normally on its way.
SWEEP_GRACE_S = 5
# Longer waits than this are left to the sweep (a Celery countdown lives in the broker only).
COUNTDOWN_MAX_S = 300

_rng = random.SystemRandom()


class StoredEvent(Protocol):
    """What the fan-out reads of a stored Connect event (events.ConnectEvent)."""

    pk: int
    event: str
    tenant_id: int
    envelope_id: str
    received_at: datetime


def connect_events() -> QuerySet[models.Model]:
    """ConnectEvent's rows, named through the relation: this app does not import `events`."""
    model = cast(type[models.Model], Delivery._meta.get_field("event").related_model)
    return model._default_manager.all()


# --- fan-out ---------------------------------------------------------------------------------


def deliveries_create_for_event(*, event: StoredEvent, integration_id: int) -> list[int]:
    """One pending delivery per destination of the integration that wants this event; each is
    sent once the caller's transaction commits. Call inside the transaction that marks the event
    processed, so an event is fanned out exactly once."""
    destinations = [
        d
        for d in Destination.objects.filter(integration_id=integration_id).prefetch_related(
            "tenants"
        )
        if (not d.event_types or event.event in d.event_types)
        and (not d.tenants.all() or any(t.pk == event.tenant_id for t in d.tenants.all()))
    ]
    if not destinations:
        return []
    created = Delivery.objects.bulk_create(
        [
            Delivery(
                destination=d,
                event_id=event.pk,
                tenant_id=event.tenant_id,
                envelope_id=event.envelope_id,
                next_attempt_at=event.received_at,
            )
            for d in destinations
        ]
    )
    ids = [d.pk for d in created]
    transaction.on_commit(lambda: deliveries_enqueue(ids))
    return ids


def deliveries_enqueue(delivery_ids: list[int], countdown: float = 0) -> None:
    from forwarding.tasks import delivery_attempt

    for delivery_id in delivery_ids:
        delivery_attempt.apply_async((delivery_id,), countdown=countdown)


# --- one attempt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # "delivered", "failed", "dead", or why nothing was sent: "busy", "waiting", ...
    delivery_id: int


def delivery_attempt(
    *, delivery_id: int, now: datetime | None = None, rng: random.Random | None = None
) -> AttemptOutcome:
    """Claim, send and record one attempt of a delivery, if it is due and may go now."""
    now = now or timezone.now()
    claimed = _claim(delivery_id=delivery_id, now=now)
    if isinstance(claimed, str):
        return AttemptOutcome(claimed, delivery_id)
    delivery = claimed
    body, headers = _signed(delivery, now=now)
    started = time.monotonic()
    result = _send(delivery.destination.url, body=body, headers=headers)
    result["latency_ms"] = int((time.monotonic() - started) * 1000)
    status = _record(delivery_id=delivery_id, result=result, now=now, rng=rng or _rng)
    FORWARDING_ATTEMPTS.labels(status).inc()
    FORWARDING_ATTEMPT_SECONDS.labels(status).observe(result["latency_ms"] / 1000)
    return AttemptOutcome(status, delivery_id)


def _lease_s() -> float:
    return settings.FORWARDING_CONNECT_TIMEOUT_S + settings.FORWARDING_READ_TIMEOUT_S + 30


@transaction.atomic
def _claim(*, delivery_id: int, now: datetime) -> str | Delivery:
    # The delivery row only, and NO KEY: a plain FOR UPDATE (on the joined tenant, say) would
    # block every insert whose foreign key points at the row, the receiver's included.
    delivery = (
        Delivery.objects.select_for_update(of=("self",), no_key=True)
        .select_related("destination", "event", "tenant", "destination__integration")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return "done"
    if delivery.next_attempt_at > now:
        return "not_due"
    if delivery.leased_until is not None and delivery.leased_until > now:
        return "in_flight"
    if delivery.destination.is_paused:
        return "paused"
    if _earlier_unfinished(delivery):
        return "waiting"
    # The destination row is the lock that makes the in-flight count exact: taken last, so it is
    # held for this count and the lease only.
    destination = Destination.objects.select_for_update(no_key=True).get(pk=delivery.destination_id)
    in_flight = Delivery.objects.filter(destination=destination, leased_until__gt=now).count()
    if destination.is_paused or in_flight >= destination.max_in_flight:
        delivery.waiting_for_slot = not destination.is_paused
        delivery.save(update_fields=["waiting_for_slot"])
        return "paused" if destination.is_paused else "busy"
    delivery.leased_until = now + timedelta(seconds=_lease_s())
    delivery.waiting_for_slot = False
    delivery.save(update_fields=["leased_until", "waiting_for_slot"])
    return delivery


def _signed(delivery: Delivery, *, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = _body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "DocuSign-Partner-Portal-Forwarding/1",
        **signed_headers(
            msg_id=delivery.webhook_id,
            timestamp=timezone.now(),
            body=body,
            signing_secrets=destination_signing_secrets(
                destination_id=delivery.destination_id, now=now
            ),
        ),
    }
    return body, headers


def _earlier_unfinished(delivery: Delivery) -> bool:
    """An earlier event of the same envelope not yet delivered (or dead) to this destination, or
    not yet fanned out: this one waits for it."""
    if not delivery.envelope_id:
        return False
    earlier_pending = Delivery.objects.filter(
        destination_id=delivery.destination_id,
        envelope_id=delivery.envelope_id,
        tenant_id=delivery.tenant_id,
        status=Delivery.Status.PENDING,
        event_id__lt=delivery.event_id,
    )
    if earlier_pending.exists():
        return True
    return (
        connect_events()
        .filter(
            tenant_id=delivery.tenant_id,
            envelope_id=delivery.envelope_id,
            pk__lt=delivery.event_id,
            processed_at__isnull=True,
        )
        .exists()
    )


def _body(delivery: Delivery) -> bytes:
    """The DocuSign event unchanged, wrapped with who it belongs to (Standard Webhooks' shape:
    type, timestamp, data)."""
    event, tenant = delivery.event, delivery.tenant
    integration = delivery.destination.integration
    envelope = {
        "type": event.event,
        "timestamp": event.received_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "event_id": event.pk,
            "tenant": {"id": tenant.pk, "slug": tenant.slug},
            "integration": {"id": integration.pk, "name": integration.name},
            "account_id": event.account_id,
            "docusign": event.payload,
        },
    }
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")


def _send(url: str, *, body: bytes, headers: dict[str, str]) -> dict:
    """What happened, as the attempt row records it. Never raises for a network problem."""
    timeout = (settings.FORWARDING_CONNECT_TIMEOUT_S, settings.FORWARDING_READ_TIMEOUT_S)
    try:
        response = outbound_post(url, body=body, headers=headers, timeout=timeout)
    except OutboundRefused as exc:
        return {"error": f"Refused: {exc}"}
    except requests.Timeout:
        return {"error": "Timed out waiting for the destination."}
    except requests.exceptions.SSLError as exc:
        return {"error": f"TLS error: {_short(exc)}"}
    except requests.ConnectionError as exc:
        return {"error": f"Connection failed: {_short(exc)}"}
    except requests.RequestException as exc:
        return {"error": f"{type(exc).__name__}: {_short(exc)}"}
    excerpt = response.content[:EXCERPT_BYTES].decode("utf-8", "replace")
    result = {"status_code": response.status_code, "excerpt": excerpt}
    if 200 <= response.status_code < 300:
        return result
    if 300 <= response.status_code < 400:
        location = response.headers.get("Location", "")[:150]
        result["error"] = f"Redirect {response.status_code} to {location!r} (not followed)."
    else:
        kind = response.headers.get("Content-Type", "").split(";")[0] or "no content type"
        result["error"] = f"HTTP {response.status_code} ({kind})."
    if response.status_code == 429:
        result["retry_after_s"] = _retry_after_s(response.headers.get("Retry-After", ""))
    return result


def _short(exc: Exception) -> str:
    return str(exc)[:200]


def _retry_after_s(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


def _record(*, delivery_id: int, result: dict, now: datetime, rng: random.Random) -> str:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(no_key=True).get(pk=delivery_id)
        ok = "error" not in result
        DeliveryAttempt.objects.create(
            delivery=delivery,
            destination_id=delivery.destination_id,
            attempted_at=now,
            succeeded=ok,
            status_code=result.get("status_code"),
            latency_ms=result.get("latency_ms"),
            response_excerpt=result.get("excerpt", "")[:EXCERPT_BYTES],
            error=result.get("error", "")[:300],
        )
        delivery.leased_until = None
        delivery.attempt_count += 1
        if ok:
            delivery.status, delivery.delivered_at, delivery.last_error = "succeeded", now, ""
            # A conditional UPDATE: no lock on the destination unless it was failing.
            Destination.objects.filter(
                pk=delivery.destination_id, failing_since__isnull=False
            ).update(failing_since=None)
            outcome = "delivered"
        else:
            delivery.last_error = result["error"][:300]
            retry_at = schedule.next_attempt_at(
                failures=delivery.attempt_count,
                now=now,
                retry_after_s=result.get("retry_after_s"),
                rng=rng,
            )
            if retry_at is None:
                delivery.status, outcome = Delivery.Status.DEAD, "dead"
            else:
                delivery.next_attempt_at, outcome = retry_at, "failed"
            _failure_count_towards_pause(
                destination_id=delivery.destination_id, reason=delivery.last_error, now=now
            )
        delivery.save()
        retry_in = (delivery.next_attempt_at - now).total_seconds()
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
    """After an attempt: its retry if soon; a slot is free, so the oldest delivery refused for
    want of one; and when this one is finished, the next of its envelope."""
    now = timezone.now()
    if outcome == "failed" and retry_in <= COUNTDOWN_MAX_S:
        deliveries_enqueue([delivery.pk], countdown=max(retry_in, 0))
    ids = _waiting_for_slot_take(destination_id=delivery.destination_id, now=now)
    if outcome != "failed" and delivery.envelope_id:
        following = (
            _due(now=now)
            .filter(
                destination_id=delivery.destination_id,
                envelope_id=delivery.envelope_id,
                tenant_id=delivery.tenant_id,
                event_id__gt=delivery.event_id,
            )
            .order_by("event_id")
            .values_list("pk", flat=True)
            .first()
        )
        if following is not None and following not in ids:
            ids.append(following)
    deliveries_enqueue(ids)


def _waiting_for_slot_take(*, destination_id: int, now: datetime) -> list[int]:
    destination = Destination.objects.filter(pk=destination_id).first()
    if destination is None:
        return []
    free = destination.max_in_flight - (
        Delivery.objects.filter(destination=destination, leased_until__gt=now).count()
    )
    if free <= 0:
        return []
    ids = list(
        _due(now=now)
        .filter(destination=destination, waiting_for_slot=True)
        .order_by("event_id")
        .values_list("pk", flat=True)[:free]
    )
    Delivery.objects.filter(pk__in=ids).update(waiting_for_slot=False)
    return ids


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

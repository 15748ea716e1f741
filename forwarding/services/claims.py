"""Claiming deliveries to send: a round of up to `max_in_flight` deliveries of one destination,
each leased with one of the destination's free slots, in one short transaction of four statements
however many it takes. Nothing is locked across the HTTP calls that follow; the lease and the
slots say who sends what, and an expired lease (a killed worker) frees both again.

Why the deliveries are read before the slots: a claim that finds nothing to send locks no slot,
so a sender that skipped a slot locked by a claim can count on that claim's sender to send, and
then to claim again after recording (which sees every delivery committed before then). A round
that gets no slot leaves its deliveries to the senders holding the slots, for the same reason.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When

from forwarding.models import Delivery, Destination, DestinationSlot

# Never read on the forwarding path: not loaded, so not decrypted for every round.
INTEGRATION_SECRETS = ("secret_key", "rsa_private_key")


def connect_events() -> QuerySet[models.Model]:
    """ConnectEvent's rows, named through the relation: this app does not import `events`."""
    model = cast(type[models.Model], Delivery._meta.get_field("event").related_model)
    return model._default_manager.all()


@dataclass
class Claim:
    """A round: the deliveries leased (in event order) and the slots holding them, all until
    `lease` (the same instant for every row, so recording can check the rows are still ours)."""

    deliveries: list[Delivery] = field(default_factory=list)
    slot_ids: list[int] = field(default_factory=list)
    lease: datetime | None = None
    # Set when deliveries could go but every slot was taken: their senders send them next.
    busy: bool = False


def _lease_s() -> float:
    return settings.FORWARDING_CONNECT_TIMEOUT_S + settings.FORWARDING_READ_TIMEOUT_S + 30


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


def _with_relations(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """What sending reads, in the same query: the destination and its integration, the event, the
    tenant (the integration's DocuSign secrets are never loaded here)."""
    return deliveries.select_related("destination__integration", "event", "tenant").defer(
        *(f"destination__integration__{name}" for name in INTEGRATION_SECRETS)
    )


@transaction.atomic
def deliveries_claim(*, candidates: QuerySet[Delivery], now: datetime, limit: int) -> Claim:
    """Lease up to `limit` claimable deliveries among `candidates` (all of one destination), the
    oldest first, with as many free slots of their destination. Rows another claim holds are
    skipped, never waited for."""
    found = list(
        _with_relations(_claimable(now=now) & candidates)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("event_id")[:limit]
    )
    if not found:
        return Claim()
    destination = found[0].destination
    free_slots = (
        DestinationSlot.objects.select_for_update(skip_locked=True)
        .filter(
            Q(leased_until__isnull=True) | Q(leased_until__lte=now),
            destination_id=destination.pk,
            number__lt=destination.max_in_flight,
        )
        .order_by("number")
    )
    slot_ids = list(free_slots.values_list("pk", flat=True)[: len(found)])
    if not slot_ids:
        return Claim(busy=True)
    deliveries = found[: len(slot_ids)]
    lease = now + timedelta(seconds=_lease_s())
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(leased_until=lease)
    DestinationSlot.objects.filter(pk__in=slot_ids).update(
        leased_until=lease,
        delivery_id=Case(
            *(When(pk=s, then=Value(d.pk)) for s, d in zip(slot_ids, deliveries, strict=True)),
            output_field=models.BigIntegerField(),
        ),
    )
    for delivery in deliveries:
        delivery.leased_until = lease
    return Claim(deliveries=deliveries, slot_ids=slot_ids, lease=lease)


def _not_now_reason(delivery: Delivery, *, now: datetime) -> str:
    """Why the delivery as read may not go now ("" when it may): no query."""
    if delivery.status != Delivery.Status.PENDING:
        return "done"
    if delivery.next_attempt_at > now:
        return "not_due"
    if delivery.leased_until is not None and delivery.leased_until > now:
        return "in_flight"
    if delivery.destination.is_paused:
        return "paused"
    return ""


def unclaimed_reason(delivery_id: int, *, now: datetime) -> str:
    """Why a delivery a claim did not take may not go (one read, off the usual path)."""
    delivery = Delivery.objects.select_related("destination").filter(pk=delivery_id).first()
    if delivery is None:
        return "done"
    return _not_now_reason(delivery, now=now) or "waiting"

"""Fan-out: the deliveries of stored events, one per event and destination that wants it, created
in the transaction that marks the events processed (events.services.health), for a batch of
events in the same few queries as for one."""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from django.db.models import Exists, OuterRef

from forwarding.models import Delivery, Destination


class StoredEvent(Protocol):
    """What the fan-out reads of a stored Connect event (events.ConnectEvent)."""

    pk: int
    event: str
    tenant_id: int
    envelope_id: str
    received_at: datetime


def deliveries_create_for_events(
    *, events: Sequence[StoredEvent], integration_id: int
) -> list[Delivery]:
    """One pending delivery per event and destination of the integration that wants it, in event
    order, each with its destination attached (for `deliveries_send`). The same few queries for
    one event or a batch: the destinations (one query), the tenants they chose (one more, only
    when one has a tenant filter), one INSERT.
    Call inside the transaction that marks the events processed, so an event is fanned out
    exactly once; send them once it has committed (the sweep finds any that were not)."""
    if not events:
        return []
    tenant_ids = {event.tenant_id for event in events}
    chosen = Destination.tenants.through.objects.filter(destination_id=OuterRef("pk"))
    candidates = list(
        Destination.objects.filter(integration_id=integration_id)
        # No tenant chosen means every tenant of the integration.
        .filter(~Exists(chosen) | Exists(chosen.filter(tenant_id__in=tenant_ids)))
        .annotate(has_tenant_filter=Exists(chosen))
        .order_by("pk")
    )
    if not candidates:
        return []
    filtered = [d.pk for d in candidates if d.has_tenant_filter]
    tenants_of: dict[int, set[int]] = {pk: set() for pk in filtered}
    if filtered:
        for destination_id, tenant_id in Destination.tenants.through.objects.filter(
            destination_id__in=filtered, tenant_id__in=tenant_ids
        ).values_list("destination_id", "tenant_id"):
            tenants_of[destination_id].add(tenant_id)

    def wants(destination: Destination, event: StoredEvent) -> bool:
        # Event types are compared here: a JSON containment lookup is PostgreSQL's only.
        if destination.event_types and event.event not in destination.event_types:
            return False
        return destination.pk not in tenants_of or event.tenant_id in tenants_of[destination.pk]

    pairs = [(event, d) for event in events for d in candidates if wants(d, event)]
    if not pairs:
        return []
    return Delivery.objects.bulk_create(
        [
            Delivery(
                destination=destination,
                event_id=event.pk,
                tenant_id=event.tenant_id,
                envelope_id=event.envelope_id,
                next_attempt_at=event.received_at,
            )
            for event, destination in pairs
        ]
    )

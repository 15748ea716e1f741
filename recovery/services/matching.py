"""Match a stored Connect event to the failed deliveries it recovers.

Called from the events app's processing task (after the receiver stored the event), never on the
receiver's hot path. Only a received event marks a failure recovered.
"""

from collections.abc import Sequence

from django.db.models import Q
from django.utils import timezone

from events.models import ConnectEvent
from recovery.models import DeliveryFailure

ENVELOPE_EVENT_STATUS = {
    "envelope-sent": "sent",
    "envelope-resent": "sent",
    "envelope-delivered": "delivered",
    "envelope-completed": "completed",
    "envelope-declined": "declined",
    "envelope-voided": "voided",
    "envelope-created": "created",
}


def delivery_failures_match_event(*, event_id: int) -> int:
    """Mark recovered the tenant's unrecovered failures this event answers: same envelope, and the
    same envelope status when the failure names one. Returns how many. Safe to run twice."""
    event = (
        ConnectEvent.objects.filter(pk=event_id)
        .only("tenant_id", "envelope_id", "event", "received_at")
        .first()
    )
    if event is None:
        return 0
    return delivery_failures_match_events(events=[event])


def delivery_failures_match_events(*, events: Sequence[ConnectEvent]) -> int:
    """`delivery_failures_match_event` for a batch of events (read with their tenant_id,
    envelope_id, event and received_at): one query finds which of their envelopes have an
    unrecovered failure (usually none), then one UPDATE per event of those. Safe to run twice."""
    with_envelope = [event for event in events if event.envelope_id]
    if not with_envelope:
        return 0
    failing = set(
        DeliveryFailure.objects.filter(
            tenant_id__in={event.tenant_id for event in with_envelope},
            envelope_id__in={event.envelope_id for event in with_envelope},
        )
        .exclude(state__in=[DeliveryFailure.State.RECOVERED])
        .values_list("tenant_id", "envelope_id")
        .distinct()
    )
    return sum(
        _match(event) for event in with_envelope if (event.tenant_id, event.envelope_id) in failing
    )


def _match(event: ConnectEvent) -> int:
    status = ENVELOPE_EVENT_STATUS.get(event.event)
    # A failure that names no status is answered by any event of its envelope sent after it.
    matches = Q(envelope_status="", docusign_created_at__lte=event.received_at) & ~Q(
        source=DeliveryFailure.Source.COMPLETENESS
    )
    if status:
        matches |= Q(envelope_status=status)
    return (
        DeliveryFailure.objects.filter(tenant_id=event.tenant_id, envelope_id=event.envelope_id)
        .exclude(state__in=[DeliveryFailure.State.RECOVERED])
        .filter(matches)
        .update(
            state=DeliveryFailure.State.RECOVERED,
            state_reason="",
            recovered_at=timezone.now(),
            recovered_event_id=event.pk,
        )
    )

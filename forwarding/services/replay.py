"""Staff replays: one delivery, every dead delivery of a destination, or every event of a tenant
in a time range. Each starts a new round of attempts (the old attempt rows stay) and is audited.
Sent with the same `webhook-id` as before, so a receiver that already has the event can tell."""

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.services import audit_record
from forwarding.errors import ForwardingError
from forwarding.models import Delivery, Destination
from forwarding.services.claims import connect_events
from forwarding.services.deliveries import destinations_deliver_enqueue
from tenants.models import Tenant

MAX_REPLAY = 10_000


def _restart(queryset: QuerySet[Delivery], *, now: datetime) -> list[int]:
    rows = list(queryset.order_by("event_id").values_list("pk", "destination_id")[:MAX_REPLAY])
    ids = [pk for pk, _ in rows]
    destination_ids = sorted({destination_id for _, destination_id in rows})
    Delivery.objects.filter(pk__in=ids).update(
        status=Delivery.Status.PENDING,
        attempt_count=0,
        next_attempt_at=now,
        leased_until=None,
        delivered_at=None,
    )
    transaction.on_commit(lambda: destinations_deliver_enqueue(destination_ids))
    return ids


@transaction.atomic
def delivery_replay(
    *, delivery: Delivery, actor: User | None, request: HttpRequest | None = None
) -> None:
    if delivery.status == Delivery.Status.PENDING:
        raise ForwardingError("This delivery is still pending; it goes out on its own.")
    _restart(Delivery.objects.filter(pk=delivery.pk), now=timezone.now())
    audit_record(
        action="forwarding.replay.one",
        actor=actor,
        target=delivery.destination.integration,
        message=f"Replayed event {delivery.event_id} to '{delivery.destination.name}'",
        request=request,
    )


@transaction.atomic
def deliveries_replay_dead(
    *, destination: Destination, actor: User | None, request: HttpRequest | None = None
) -> int:
    ids = _restart(
        Delivery.objects.filter(destination=destination, status=Delivery.Status.DEAD),
        now=timezone.now(),
    )
    audit_record(
        action="forwarding.replay.dead",
        actor=actor,
        target=destination.integration,
        message=f"Replayed {len(ids)} dead deliveries to '{destination.name}'",
        request=request,
    )
    return len(ids)


@transaction.atomic
def tenant_events_replay(
    *,
    destination: Destination,
    tenant: Tenant,
    since: datetime,
    until: datetime,
    actor: User | None,
    request: HttpRequest | None = None,
) -> int:
    """Every stored event of `tenant` received in [since, until) sent to `destination` again,
    including events it never had (received before it existed or outside its filter)."""
    if tenant.integration_id != destination.integration_id:
        raise ForwardingError("That tenant belongs to another integration.")
    if since >= until:
        raise ForwardingError("The start of the range must be before its end.")
    now = timezone.now()
    events = connect_events().filter(tenant=tenant, received_at__gte=since, received_at__lt=until)
    event_ids = list(events.order_by("pk").values_list("pk", flat=True)[:MAX_REPLAY])
    existing = set(
        Delivery.objects.filter(destination=destination, event_id__in=event_ids).values_list(
            "event_id", flat=True
        )
    )
    envelopes = dict(events.filter(pk__in=event_ids).values_list("pk", "envelope_id"))
    Delivery.objects.bulk_create(
        [
            Delivery(
                destination=destination,
                event_id=event_id,
                tenant=tenant,
                envelope_id=envelopes[event_id],
                status=Delivery.Status.DEAD,  # restarted just below, with the others
            )
            for event_id in event_ids
            if event_id not in existing
        ],
        ignore_conflicts=True,
    )
    ids = _restart(
        Delivery.objects.filter(destination=destination, event_id__in=event_ids).exclude(
            status=Delivery.Status.PENDING
        ),
        now=now,
    )
    audit_record(
        action="forwarding.replay.tenant_range",
        actor=actor,
        target=tenant,
        message=(
            f"Replayed {len(ids)} events of {tenant.slug} received {since:%Y-%m-%d %H:%M} to "
            f"{until:%Y-%m-%d %H:%M} UTC to '{destination.name}'"
        ),
        request=request,
    )
    return len(ids)

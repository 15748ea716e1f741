"""Destinations of an integration's events: create, change, rotate the signing secret, pause and
resume. Secrets go in and come out once (the caller shows a new secret a single time); the audit
rows name destinations and URLs only."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.outbound import OutboundRefused, outbound_url_check
from common.services import audit_record
from forwarding.errors import ForwardingError
from forwarding.models import Delivery, Destination, DestinationSecret
from forwarding.services.signing import signing_secret_new
from tenants.models import Integration, Tenant
from tenants.services.staff_alerts import staff_alert_on_commit

MAX_EVENT_TYPES = 50


def _clean(
    *, integration: Integration, name: str, url: str, event_types: list[str], tenant_ids: list[int]
) -> tuple[str, str, list[str], list[int]]:
    name, url = name.strip(), url.strip()
    if not name:
        raise ForwardingError("Give the destination a name.")
    try:
        outbound_url_check(url)
    except OutboundRefused as exc:
        raise ForwardingError(str(exc)) from None
    types = sorted({t.strip() for t in event_types if t.strip()})
    if len(types) > MAX_EVENT_TYPES or any(len(t) > 64 for t in types):
        raise ForwardingError("List at most 50 event names, each up to 64 characters.")
    found = set(
        Tenant.objects.filter(integration=integration, pk__in=tenant_ids).values_list(
            "pk", flat=True
        )
    )
    if len(found) != len(set(tenant_ids)):
        raise ForwardingError("Only tenants of this integration can be chosen.")
    return name, url, types, sorted(found)


@transaction.atomic
def destination_create(
    *,
    integration: Integration,
    name: str,
    url: str,
    event_types: list[str],
    tenant_ids: list[int],
    max_in_flight: int = 4,
    actor: User | None,
    request: HttpRequest | None = None,
) -> tuple[Destination, str]:
    """The new destination and its first signing secret (show it once; it is stored encrypted)."""
    name, url, types, tenants = _clean(
        integration=integration, name=name, url=url, event_types=event_types, tenant_ids=tenant_ids
    )
    destination = Destination.objects.create(
        integration=integration,
        name=name[:100],
        url=url,
        event_types=types,
        max_in_flight=max(1, min(max_in_flight, 32)),
    )
    destination.tenants.set(tenants)
    secret = signing_secret_new()
    DestinationSecret.objects.create(destination=destination, secret=secret)
    audit_record(
        action="forwarding.destination.create",
        actor=actor,
        target=integration,
        message=f"Forwarding destination '{destination.name}' added ({url})",
        request=request,
    )
    return destination, secret


@transaction.atomic
def destination_update(
    *,
    destination: Destination,
    name: str,
    url: str,
    event_types: list[str],
    tenant_ids: list[int],
    max_in_flight: int,
    actor: User | None,
    request: HttpRequest | None = None,
) -> Destination:
    name, url, types, tenants = _clean(
        integration=destination.integration,
        name=name,
        url=url,
        event_types=event_types,
        tenant_ids=tenant_ids,
    )
    destination.name, destination.url, destination.event_types = name[:100], url, types
    destination.max_in_flight = max(1, min(max_in_flight, 32))
    destination.save(update_fields=["name", "url", "event_types", "max_in_flight"])
    destination.tenants.set(tenants)
    audit_record(
        action="forwarding.destination.update",
        actor=actor,
        target=destination.integration,
        message=f"Forwarding destination '{destination.name}' changed ({url})",
        request=request,
    )
    return destination


@transaction.atomic
def destination_secret_rotate(
    *,
    destination: Destination,
    actor: User | None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> str:
    """A new signing secret; the current one keeps signing too for FORWARDING_SECRET_OVERLAP_S
    (both signatures on every message), older ones stop now."""
    now = now or timezone.now()
    live = DestinationSecret.objects.select_for_update().filter(destination=destination)
    live.filter(expires_at__isnull=False, expires_at__gt=now).update(expires_at=now)
    live.filter(expires_at__isnull=True).update(
        expires_at=now + timedelta(seconds=settings.FORWARDING_SECRET_OVERLAP_S)
    )
    secret = signing_secret_new()
    DestinationSecret.objects.create(destination=destination, secret=secret, created_at=now)
    audit_record(
        action="forwarding.destination.rotate_secret",
        actor=actor,
        target=destination.integration,
        message=f"Signing secret of forwarding destination '{destination.name}' rotated",
        request=request,
    )
    return secret


def destination_signing_secrets(*, destination_id: int, now: datetime) -> list[str]:
    """The live secrets, newest first (at most two while a rotation overlaps)."""
    return list(
        DestinationSecret.objects.filter(destination_id=destination_id)
        .exclude(expires_at__lte=now)
        .order_by("-created_at", "-id")
        .values_list("secret", flat=True)[:2]
    )


@transaction.atomic
def destination_delete(
    *, destination: Destination, actor: User | None, request: HttpRequest | None = None
) -> None:
    audit_record(
        action="forwarding.destination.delete",
        actor=actor,
        target=destination.integration,
        message=f"Forwarding destination '{destination.name}' removed ({destination.url})",
        request=request,
    )
    destination.delete()


def destination_pause(*, destination: Destination, reason: str, now: datetime) -> None:
    """Called inside the recording transaction, with the destination row locked."""
    destination.paused_at = now
    destination.pause_reason = reason[:300]
    destination.save(update_fields=["paused_at", "pause_reason"])
    audit_record(
        action="forwarding.destination.pause",
        actor=None,
        actor_label="forwarding",
        target=destination.integration,
        outcome="failure",
        message=f"Forwarding destination '{destination.name}' paused: {reason}"[:500],
    )
    subject = f"Forwarding to '{destination.name}' paused"
    body = (
        f"Deliveries to {destination.url} have failed continuously since "
        f"{destination.failing_since:%Y-%m-%d %H:%M} UTC ({reason}). They are kept; resume the "
        "destination on the integration's forwarding page once the endpoint works again."
    )
    staff_alert_on_commit(subject=subject, body=body)


@transaction.atomic
def destination_pause_on_request(
    *,
    destination: Destination,
    reason: str,
    actor: User | None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Destination:
    """Paused by a person or the partner (not for failing): nothing is sent until it is resumed;
    new events keep queueing. No alert: whoever paused it knows."""
    row = (
        Destination.objects.select_for_update(of=("self",), no_key=True)
        .select_related("integration")
        .get(pk=destination.pk)
    )
    if row.is_paused:
        raise ForwardingError("This destination is already paused.")
    row.paused_at = now or timezone.now()
    row.pause_reason = (reason.strip() or "Paused on request.")[:300]
    row.save(update_fields=["paused_at", "pause_reason"])
    audit_record(
        action="forwarding.destination.pause",
        actor=actor,
        target=row.integration,
        message=f"Forwarding destination '{row.name}' paused: {row.pause_reason}"[:500],
        request=request,
    )
    return row


@transaction.atomic
def destination_resume(
    *,
    destination: Destination,
    actor: User | None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> int:
    """Unpause; every pending delivery becomes due now and goes out oldest first (in order per
    envelope, within the destination's concurrency). Returns the backlog size."""
    from forwarding.services.deliveries import destinations_deliver_enqueue

    now = now or timezone.now()
    row = Destination.objects.select_for_update(no_key=True).get(pk=destination.pk)
    row.paused_at, row.pause_reason, row.failing_since = None, "", None
    row.save(update_fields=["paused_at", "pause_reason", "failing_since"])
    backlog = Delivery.objects.filter(destination=row, status=Delivery.Status.PENDING)
    backlog.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
    count = backlog.count()
    audit_record(
        action="forwarding.destination.resume",
        actor=actor,
        target=row.integration,
        message=f"Forwarding destination '{row.name}' resumed; {count} deliveries pending",
        request=request,
    )
    # Its sender takes the backlog oldest first, as many at once as the slots allow.
    transaction.on_commit(lambda: destinations_deliver_enqueue([row.pk]))
    return count

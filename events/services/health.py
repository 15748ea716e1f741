"""Each tenant's delivery health: counts per day, the last event, and the "send test event" round
trip. (DocuSign's failure log is read by the recovery app, within the account's budget.)"""

import logging
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.services import audit_record
from events.errors import EventsError
from events.models import ConnectEvent, TenantEventDay, TenantEventHealth
from events.services.processing import connect_event_processing_enqueue
from forwarding.models import Delivery
from forwarding.services.deliveries import deliveries_send
from forwarding.services.fanout import deliveries_create_for_events
from recovery.services.matching import delivery_failures_match_events
from tenants.models import Integration, Tenant, TenantAccount

logger = logging.getLogger(__name__)

# Events one task processes at most: a bound on one transaction, not a wait for a batch to fill.
EVENTS_BATCH_MAX = 50

TEST_EVENTS = ["envelope-completed", "envelope-sent", "envelope-delivered", "recipient-completed"]


def _health_row_ensure(tenant_id: int) -> None:
    TenantEventHealth.objects.bulk_create(
        [TenantEventHealth(tenant_id=tenant_id)], ignore_conflicts=True
    )


def connect_event_process(*, event_id: int | None = None) -> bool:
    """Hand stored events to their forwarding destinations, match them to the delivery failures
    they recover, and count them into their tenants' health: the event `event_id` (when given)
    and every other one still waiting, oldest first, up to EVENTS_BATCH_MAX, in the same few
    set-based queries, so that a task costs less per event the faster events arrive (at low
    rates a batch is one event). Then send the batch's first attempts, destination by
    destination (forwarding.services.deliveries.deliveries_send).

    Safe to run twice: the first run claims the rows by setting `processed_at`; a later run, or
    the task of an event another task's batch took, takes only events still waiting (stored
    while it was queued) and returns False when there are none."""
    events, deliveries = _events_claim(event_id=event_id)
    if not events:
        return False
    if len(events) == EVENTS_BATCH_MAX:
        # More may be waiting: another task takes them while this one sends.
        transaction.on_commit(lambda: connect_event_processing_enqueue(None), robust=True)
    _events_count(events)
    # The first attempts, once committed (at once in the task: no second task per event).
    transaction.on_commit(lambda: deliveries_send(deliveries))
    return True


# What the counters, the fan-out and the recovery match read of each event of a batch (not the
# payload: the sender reads it with the deliveries it claims).
_EVENT_FIELDS = (
    *("tenant_id", "event", "envelope_id", "received_at"),
    *("tenant__integration_id", "tenant__event_health__test_envelope_id"),
)


@transaction.atomic
def _events_claim(*, event_id: int | None) -> tuple[list[ConnectEvent], list[Delivery]]:
    """Mark up to EVENTS_BATCH_MAX waiting events processed (`event_id` first, when given),
    create their deliveries and recover the failures they answer, in one transaction: an event
    is fanned out exactly once. ([], []) when nothing (or not `event_id`) was waiting. No row
    shared by other events is written here, and no lock is waited for but the given event's
    own, taken first while nothing else is held (so two batches cannot deadlock). The locks are
    FOR NO KEY UPDATE, what PostgreSQL's own UPDATE of processed_at takes: rows pointing at the
    events (a delivery, a recovered failure) are written by others meanwhile without waiting."""
    order: list = ["pk"]
    if event_id is not None:
        # Waits while another task's batch holds the event (a plain indexed read, no join):
        # once that commits, the event is processed, and that batch's task sends it.
        mine = ConnectEvent.objects.select_for_update(no_key=True).filter(
            pk=event_id, processed_at__isnull=True
        )
        if list(mine.values_list("pk", flat=True)):
            # This event first (its lock is ours, so SKIP LOCKED keeps it), then the oldest.
            order.insert(0, Case(When(pk=event_id, then=Value(0)), default=Value(1)))
    # Even when its own event was taken: events stored since did not queue a task of their
    # own while this one was queued (events.services.processing).
    batch = list(
        ConnectEvent.objects.select_related("tenant__event_health")
        .select_for_update(of=("self",), skip_locked=True, no_key=True)
        .only(*_EVENT_FIELDS)
        .filter(processed_at__isnull=True)
        .order_by(*order)[:EVENTS_BATCH_MAX]
    )
    if not batch:
        return [], []
    ConnectEvent.objects.filter(pk__in=[event.pk for event in batch]).update(
        processed_at=timezone.now()
    )
    by_integration: dict[int, list[ConnectEvent]] = {}
    for event in batch:
        by_integration.setdefault(event.tenant.integration_id, []).append(event)
    deliveries = []
    for integration_id, events_of in by_integration.items():
        deliveries += deliveries_create_for_events(events=events_of, integration_id=integration_id)
    delivery_failures_match_events(events=batch)
    return batch, deliveries


def _events_count(events: list[ConnectEvent]) -> None:
    """The tenants' counters, after the claim committed: one UPDATE per tenant and day and one
    per tenant for the batch, each its own statement, so a tenant's day and health rows, which
    every event of the tenant writes, are locked for one statement and never across another
    round trip. At worst (the worker dies between the claim and here) events go uncounted; none
    is counted twice."""
    per_day = Counter(
        (event.tenant_id, event.received_at.astimezone(UTC).date()) for event in events
    )
    for (tenant_id, day), count in per_day.items():
        days = TenantEventDay.objects.filter(tenant_id=tenant_id, day=day)
        if not days.update(count=F("count") + count):
            TenantEventDay.objects.bulk_create(
                [TenantEventDay(tenant_id=tenant_id, day=day, count=0)], ignore_conflicts=True
            )
            days.update(count=F("count") + count)
    per_tenant: dict[int, list[ConnectEvent]] = {}
    for event in events:
        per_tenant.setdefault(event.tenant_id, []).append(event)
    for tenant_id, of_tenant in per_tenant.items():
        _tenant_health_count(tenant_id, of_tenant)


def _tenant_health_count(tenant_id: int, events: list[ConnectEvent]) -> None:
    health = getattr(events[0].tenant, "event_health", None)
    if health is None:
        _health_row_ensure(tenant_id)
    newest = max(events, key=lambda event: (event.received_at, event.pk))
    received = Value(newest.received_at)
    is_newest = Q(last_event_at__isnull=True) | Q(last_event_at__lt=newest.received_at)
    TenantEventHealth.objects.filter(tenant_id=tenant_id).update(
        events_total=F("events_total") + len(events),
        last_event_at=Greatest(Coalesce("last_event_at", received), received),
        last_event_id=Case(
            When(is_newest, then=Value(newest.pk)),
            default=F("last_event_id"),
            output_field=TenantEventHealth._meta.get_field("last_event_id"),
        ),
    )
    if health is None or not health.test_envelope_id:
        return
    for event in events:
        if event.envelope_id == health.test_envelope_id:
            with transaction.atomic():
                _test_arrival_record(event)


def _test_arrival_record(event: ConnectEvent) -> None:
    health = (
        TenantEventHealth.objects.select_for_update()
        .filter(tenant_id=event.tenant_id, test_envelope_id=event.envelope_id)
        .first()
    )
    if health is None:
        return
    ConnectEvent.objects.filter(pk=event.pk).update(is_test=True)
    if health.test_arrived_at is None:
        health.test_arrived_at = event.received_at
        health.test_arrival_ms = test_arrival_ms(health.test_requested_at, event.received_at)
        health.save(update_fields=["test_arrived_at", "test_arrival_ms"])


def test_arrival_ms(requested_at: datetime | None, received_at: datetime) -> int | None:
    if requested_at is None:
        return None
    return max(0, int((received_at - requested_at).total_seconds() * 1000))


def connect_events_unprocessed(*, older_than_s: int = 120, limit: int = 1000) -> list[int]:
    """Events stored but never counted (their task was lost with the broker)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return list(
        ConnectEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- send test event --------------------------------------------------------------------------


def tenant_test_event_send(
    *,
    tenant: Tenant,
    actor: User | None,
    event: str = "envelope-completed",
    request: HttpRequest | None = None,
) -> TenantEventHealth:
    """Ask the emulator to publish one event for the tenant's account and remember the envelope id,
    so the panel can show when it arrived. Real DocuSign has no such call: a test envelope is
    needed there, and this raises EventsError saying so."""
    if event not in TEST_EVENTS:
        raise EventsError("Choose one of the offered events.")
    integration = tenant.integration
    if integration.environment != Integration.Environment.EMULATOR:
        raise EventsError(
            "DocuSign cannot publish an event on request: send a test envelope from the "
            "client's account and watch it arrive here."
        )
    account = TenantAccount.objects.filter(tenant=tenant).first()
    if account is None:
        raise EventsError("The tenant has not linked a DocuSign account yet.")
    envelope_id = str(uuid.uuid4())
    _health_row_ensure(tenant.pk)
    # Remember the envelope before asking: the emulator delivers during the call itself.
    requested_at = timezone.now()
    TenantEventHealth.objects.filter(tenant_id=tenant.pk).update(
        test_envelope_id=envelope_id,
        test_event=event,
        test_requested_at=requested_at,
        test_arrived_at=None,
        test_arrival_ms=None,
        test_error="",
    )
    error = _emulator_publish(
        auth_base_url=integration.auth_base_url,
        account_id=account.account_id,
        event=event,
        envelope_id=envelope_id,
    )
    if error:
        TenantEventHealth.objects.filter(tenant_id=tenant.pk, test_envelope_id=envelope_id).update(
            test_error=error[:300]
        )
    audit_record(
        action="events.test_event.send",
        actor=actor,
        target=tenant,
        outcome="success" if not error else "failure",
        message=f"{event} for envelope {envelope_id}" + (f": {error}" if error else ""),
        request=request,
    )
    return TenantEventHealth.objects.get(tenant_id=tenant.pk)


def _emulator_publish(*, auth_base_url: str, account_id: str, event: str, envelope_id: str) -> str:
    """The emulator's control plane (docs/contracts.md 1); returns "" or what went wrong."""
    url = f"{auth_base_url.rstrip('/')}/_emulator/accounts/{account_id}/events"
    try:
        resp = requests.post(
            url,
            json={"event": event, "envelope_id": envelope_id},
            timeout=(settings.DOCUSIGN_CONNECT_TIMEOUT_S, 60),
            verify=settings.DOCUSIGN_CA_BUNDLE or True,
        )
    except requests.RequestException as exc:
        return f"The emulator could not be reached ({type(exc).__name__})."
    if resp.status_code != 200:
        return f"The emulator refused the request (HTTP {resp.status_code})."
    try:
        deliveries = resp.json()
    except ValueError:
        return "The emulator answered something that is not JSON."
    if not deliveries:
        return (
            f"No Connect configuration of this account publishes '{event}': push a configuration "
            "that includes it, then try again."
        )
    failed = [d for d in deliveries if d.get("status") != "delivered"]
    if len(failed) == len(deliveries):
        return "Every delivery failed: " + "; ".join(
            f"{d.get('url', '')} → {d.get('error') or 'failed'}" for d in failed
        )
    return ""

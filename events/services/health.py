"""Each tenant's delivery health: counts per day, the last event, and the "send test event" round
trip. (DocuSign's failure log is read by the recovery app, within the account's budget.)"""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from common.services import audit_record
from events.errors import EventsError
from events.models import ConnectEvent, TenantEventDay, TenantEventHealth
from forwarding.services.deliveries import deliveries_create_for_event
from tenants.models import Integration, Tenant, TenantAccount

logger = logging.getLogger(__name__)

TEST_EVENTS = ["envelope-completed", "envelope-sent", "envelope-delivered", "recipient-completed"]


def _health_row_ensure(tenant_id: int) -> None:
    TenantEventHealth.objects.bulk_create(
        [TenantEventHealth(tenant_id=tenant_id)], ignore_conflicts=True
    )


@transaction.atomic
def connect_event_process(*, event_id: int) -> bool:
    """Count a stored event into its tenant's health and hand it to its forwarding destinations.
    Safe to run twice: the first run claims the row by setting `processed_at`; later runs find
    nothing to do and return False."""
    now = timezone.now()
    claimed = ConnectEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
        processed_at=now
    )
    if not claimed:
        return False
    event = (
        ConnectEvent.objects.select_related("tenant")
        .only("tenant__integration_id", "received_at", "envelope_id", "event")
        .get(pk=event_id)
    )
    # In the claiming transaction: an event is fanned out to its destinations exactly once.
    deliveries_create_for_event(event=event, integration_id=event.tenant.integration_id)
    day = event.received_at.astimezone(UTC).date()
    TenantEventDay.objects.bulk_create(
        [TenantEventDay(tenant_id=event.tenant_id, day=day, count=0)], ignore_conflicts=True
    )
    TenantEventDay.objects.filter(tenant_id=event.tenant_id, day=day).update(count=F("count") + 1)
    _health_row_ensure(event.tenant_id)
    health = TenantEventHealth.objects.filter(tenant_id=event.tenant_id)
    health.update(events_total=F("events_total") + 1)
    health.filter(Q(last_event_at__isnull=True) | Q(last_event_at__lt=event.received_at)).update(
        last_event_at=event.received_at, last_event_id=event.pk
    )
    if event.envelope_id:
        _test_arrival_record(event)
    return True


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

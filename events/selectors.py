"""Reads of the events app: the event browser, the tenant panel and the dashboard count."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from common.charts import bar_chart
from events.models import (
    ConnectEvent,
    ListenerSettings,
    PartnerHmacKey,
    TenantEventDay,
    TenantEventHealth,
)
from events.services.health import TEST_EVENTS, test_arrival_ms
from events.webhook_auth import delivery_failure_explain
from recovery.selectors import delivery_failures_reported
from tenants.models import Integration, Tenant

CHART_DAYS = 14
# The panel polls while a test event is on its way, for at most this long.
TEST_POLL_WINDOW = timedelta(minutes=2)
# Base64 document bytes: large, and nothing staff should read in a browser.
_DOCUMENT_BYTES_KEY = re.compile(r"^(pdfbytes|documentbase64|.*base64)$", re.IGNORECASE)
_SECRET_KEY = re.compile(r"secret|password|token|authorization|hmac|signature", re.IGNORECASE)


def connect_event_list(
    *, tenant_id: int | None = None, event: str = "", envelope_id: str = ""
) -> QuerySet[ConnectEvent]:
    events = ConnectEvent.objects.select_related("tenant").defer("payload")
    if tenant_id:
        events = events.filter(tenant_id=tenant_id)
    if event:
        events = events.filter(event=event)
    if envelope_id:
        events = events.filter(envelope_id=envelope_id.strip())
    return events.order_by("-received_at", "-id")


def connect_event_names() -> list[str]:
    return list(
        ConnectEvent.objects.order_by("event").values_list("event", flat=True).distinct()[:200]
    )


def connect_event_detail(*, event_id: int) -> dict | None:
    """The event with its payload as pretty JSON, without document bytes or secret-looking
    values (the template escapes it)."""
    event = ConnectEvent.objects.select_related("tenant").filter(pk=event_id).first()
    if event is None:
        return None
    return {
        "event": event,
        "payload_display": json.dumps(payload_for_display(event.payload), indent=2),
    }


def payload_for_display(value: Any) -> Any:
    if isinstance(value, dict):
        shown = {}
        for key, item in value.items():
            if isinstance(item, str) and _DOCUMENT_BYTES_KEY.match(str(key)):
                shown[key] = f"[{len(item)} characters of base64 document bytes removed]"
            elif _SECRET_KEY.search(str(key)) and not isinstance(item, dict | list):
                shown[key] = "[redacted]"
            else:
                shown[key] = payload_for_display(item)
        return shown
    if isinstance(value, list):
        return [payload_for_display(item) for item in value]
    return value


# --- the tenant panel -------------------------------------------------------------------------


def events_tenant_panel(*, tenant: Tenant) -> dict:
    """Everything `templates/events/_tenant_panel.html` shows, finished."""
    now = timezone.now()
    health = TenantEventHealth.objects.filter(tenant_id=tenant.pk).first()
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=CHART_DAYS - 1)
    counts = dict(
        TenantEventDay.objects.filter(tenant_id=tenant.pk, day__gte=first_day).values_list(
            "day", "count"
        )
    )
    days = [first_day + timedelta(days=offset) for offset in range(CHART_DAYS)]
    test = _test_status(tenant, health, now)
    # The figures are counters kept by each event's task: a test event shown as arrived may not
    # be in them yet, and the panel says so rather than "0 events" beside "arrived".
    test_uncounted = test is not None and test["event_id"] is not None and not test["counted"]
    chart = bar_chart(
        title=f"Connect events per day, last {CHART_DAYS} days",
        labels=[f"{day:%d %b}" for day in days],
        values=[counts.get(day, 0) for day in days],
        css_class="s-info",
        series_name="events stored",
        y_label="events",
        x_label="day (UTC)",
        empty_text=f"No events counted yet in the last {CHART_DAYS} days"
        if test_uncounted
        else f"No events in the last {CHART_DAYS} days",
    )
    is_emulator = tenant.integration.environment == Integration.Environment.EMULATOR
    last_event_at = health.last_event_at if health else None
    last_event_id = health.last_event_id if health else None
    if test and test["event_id"] and (last_event_at is None or test["arrived_at"] > last_event_at):
        # Stored, not yet counted by its task: the panel must not say "none yet" beside it.
        last_event_at, last_event_id = test["arrived_at"], test["event_id"]
    return {
        "tenant": tenant,
        "last_event_at": last_event_at,
        "last_event_id": last_event_id,
        "events_total": health.events_total if health else 0,
        "events_14_days": sum(counts.values()),
        "test_uncounted": test_uncounted,
        # Test events are stored and counted like any other: say so once one has been.
        "counts_include_tests": bool(health and health.test_arrived_at),
        "chart": chart,
        # The failure log is read by the recovery app (shown in its panel); the partner API's
        # status reads it here with the rest of the delivery figures.
        **delivery_failures_reported(tenant=tenant),
        "can_send_test": is_emulator and hasattr(tenant, "account"),
        "send_test_explanation": ""
        if is_emulator
        else (
            "DocuSign publishes events only for real envelope activity: send a test envelope "
            "from the client's account and watch it arrive here."
        ),
        "test_events": TEST_EVENTS,
        "test": test,
        "poll": test is not None and (test["waiting"] or (test_uncounted and test["recent"])),
    }


def _test_status(tenant: Tenant, health: TenantEventHealth | None, now: datetime) -> dict | None:
    if health is None or not health.test_envelope_id:
        return None
    arrived_at, arrival_ms = health.test_arrived_at, health.test_arrival_ms
    event_id = None
    if arrived_at is None:
        # The row may be stored while its processing task still waits in the queue.
        row = (
            ConnectEvent.objects.filter(tenant_id=tenant.pk, envelope_id=health.test_envelope_id)
            .order_by("received_at")
            .values_list("pk", "received_at")
            .first()
        )
        if row is not None:
            event_id, arrived_at = row
            arrival_ms = test_arrival_ms(health.test_requested_at, arrived_at)
    else:
        event_id = (
            ConnectEvent.objects.filter(tenant_id=tenant.pk, envelope_id=health.test_envelope_id)
            .values_list("pk", flat=True)
            .first()
        )
    recent = (
        health.test_requested_at is not None and now - health.test_requested_at < TEST_POLL_WINDOW
    )
    waiting = arrived_at is None and not health.test_error and recent
    return {
        "event": health.test_event,
        "envelope_id": health.test_envelope_id,
        "requested_at": health.test_requested_at,
        "arrived_at": arrived_at,
        "arrival_ms": arrival_ms,
        "event_id": event_id,
        "error": health.test_error,
        "explanation": delivery_failure_explain(
            integration=tenant.integration, error=health.test_error
        )
        if health.test_error
        else None,
        "waiting": waiting,
        "recent": recent,
        # Counted into the figures by the event's task (which records the arrival).
        "counted": health.test_arrived_at is not None,
        "lost": arrived_at is None and not waiting and not health.test_error,
    }


def tenants_silent_count(*, days: int = 7) -> int:
    """Tenants with a Connect configuration on their account (per the Connect area's state) that
    stored no event in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    recent = ConnectEvent.objects.filter(tenant_id=OuterRef("pk"), received_at__gte=since)
    return (
        Tenant.objects.filter(archived_at__isnull=True, account__isnull=False)
        .exclude(status=Tenant.Status.OFFBOARDED)
        .filter(connect_state__isnull=False)
        .exclude(Q(connect_state__connect_ids={}) | Q(connect_state__connect_ids__isnull=True))
        .filter(~Exists(recent))
        .count()
    )


# --- the integration's listener page ----------------------------------------------------------


def integration_listener_page(*, integration: Integration) -> dict:
    """Key labels and "set"/"not set" states: never a secret value."""
    listener = ListenerSettings.objects.filter(integration=integration).first()
    keys = list(
        PartnerHmacKey.objects.filter(integration=integration).only(
            "label", "created_at", "created_by_label", "deactivated_at", "deactivated_by_label"
        )
    )
    return {
        "integration": integration,
        "keys": keys,
        "active_key_count": sum(1 for k in keys if k.deactivated_at is None),
        "listener": listener,
        "require_hmac": listener.require_hmac if listener else True,
        "basic_username": listener.basic_username if listener else "",
        "basic_password_set": bool(listener and listener.basic_password),
        "oauth_enabled": bool(listener and listener.oauth_enabled),
        "oauth_client_id": listener.oauth_client_id if listener else "",
        "oauth_client_secret_set": bool(listener and listener.oauth_client_secret),
        "oauth_ready": bool(listener and listener.has_oauth),
        "oauth_token_ttl_s": listener.oauth_token_ttl_s if listener else 900,
    }

"""The integration page's webhook authentication "check": send one test event through a real
Connect configuration of the emulator and say what happened, on both sides."""

from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from events.models import ConnectEvent
from events.services.health import TEST_EVENTS, tenant_test_event_send
from events.webhook_auth import delivery_failure_explain
from tenants.models import Integration, Tenant

NO_CONFIGURATION = "No Connect configuration"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    sentence: str
    tenant: Tenant | None = None
    event_id: int | None = None
    # How many signatures DocuSign (the emulator) put on the message; None when unknown.
    signatures: int | None = None
    fix_url: str = ""
    fix_label: str = ""


def _check_tenant(integration: Integration) -> Tenant | None:
    """A tenant whose account carries a configuration of ours: the one the event goes through."""
    return (
        Tenant.objects.filter(
            integration=integration,
            archived_at__isnull=True,
            account__isnull=False,
            status__in=(Tenant.Status.CONSENTED, Tenant.Status.ACTIVE, Tenant.Status.ERROR),
            connect_state__isnull=False,
        )
        .exclude(connect_state__connect_ids={})
        .order_by("pk")
        .first()
    )


def _signature_count(integration: Integration, envelope_id: str) -> int | None:
    """Signature headers on the emulator's delivery of this envelope (its control plane)."""
    url = f"{integration.auth_base_url.rstrip('/')}/_emulator/deliveries"
    try:
        resp = requests.get(
            url,
            timeout=(settings.DOCUSIGN_CONNECT_TIMEOUT_S, settings.DOCUSIGN_READ_TIMEOUT_S),
            verify=settings.DOCUSIGN_CA_BUNDLE or True,
        )
        deliveries = resp.json() if resp.status_code == 200 else []
    except (requests.RequestException, ValueError):
        return None
    for delivery in reversed(deliveries):
        if delivery.get("envelopeId") == envelope_id:
            headers = delivery.get("headers") or {}
            return sum(1 for name in headers if name.startswith("X-DocuSign-Signature-"))
    return None


def webhook_auth_check(
    *, integration: Integration, actor: Any, request: HttpRequest | None = None
) -> CheckResult:
    if integration.environment != Integration.Environment.EMULATOR:
        return CheckResult(
            False,
            "DocuSign cannot publish an event on request: send a test envelope from a client's "
            "account and watch it arrive on the tenant's page.",
        )
    tenant = _check_tenant(integration)
    if tenant is None:
        return CheckResult(
            False,
            "No tenant of this integration has a Connect configuration yet: consent a tenant and "
            "push a template first.",
            fix_url=reverse("connect-template-list"),
            fix_label="Connect templates",
        )
    # The first event some configuration of the account publishes.
    health = tenant_test_event_send(
        tenant=tenant, actor=actor, event=TEST_EVENTS[0], request=request
    )
    for event in TEST_EVENTS[1:]:
        if not health.test_error.startswith(NO_CONFIGURATION):
            break
        health = tenant_test_event_send(tenant=tenant, actor=actor, event=event, request=request)
    signatures = _signature_count(integration, health.test_envelope_id)
    if health.test_error:
        why = delivery_failure_explain(integration=integration, error=health.test_error)
        return CheckResult(
            False, why.sentence, tenant, None, signatures, why.fix_url, why.fix_label
        )
    event_id = (
        ConnectEvent.objects.filter(tenant=tenant, envelope_id=health.test_envelope_id)
        .values_list("pk", flat=True)
        .first()
    )
    if event_id is None:
        return CheckResult(
            False,
            "DocuSign reported the delivery, but the event is not stored: the web process's log "
            "says why.",
            tenant,
            None,
            signatures,
        )
    return CheckResult(
        True,
        f"A test {health.test_event} event went through “{tenant.name}”'s configuration and was "
        "verified and stored.",
        tenant,
        event_id,
        signatures,
    )

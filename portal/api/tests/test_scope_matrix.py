"""Every API operation against every scope: a key without the operation's scope gets a 403 naming
it (and nothing changes); a key with only that scope gets past the gate; no key is a 401.

The operations are read from `portal.api.urls` itself, so an endpoint added later is covered
without editing this file; a URL keyword this file cannot fill fails loudly."""

import pytest
from django.apps import apps
from django.urls import URLPattern, get_resolver, reverse

from apikeys.models import Scope
from common.models import AuditEvent, BulkOperation
from connect.models import ConnectTemplate
from connect.tests.factories import ConnectTemplateFactory
from events.models import ConnectEvent
from forwarding.models import Delivery, Destination
from portal.api.base import ApiView
from tenants.models import Tenant
from tenants.tests.factories import IntegrationFactory, TenantFactory

API_PATTERNS = sorted(
    (
        p
        for p in get_resolver("portal.api.urls").url_patterns
        if isinstance(p, URLPattern)
        and issubclass(getattr(p.callback, "view_class", object), ApiView)
    ),
    key=lambda p: p.name,
)
OPERATIONS = [
    (pattern, method, scope)
    for pattern in API_PATTERNS
    for method, scope in sorted(pattern.callback.view_class.required_scopes.items())
]


def _id(operation) -> str:
    pattern, method, _ = operation
    return f"{method} {pattern.name}"


@pytest.fixture
def world(db):
    integration = IntegrationFactory()
    tenant = TenantFactory(integration=integration)
    template = ConnectTemplateFactory(
        integration=integration, applies_to=ConnectTemplate.AppliesTo.CHOSEN
    )
    event = ConnectEvent.objects.create(
        tenant=tenant,
        account_id="acct",
        configuration_id="1",
        event="envelope-sent",
        generated_date_time="2026-01-01T00:00:00Z",
        payload={"event": "envelope-sent"},
        auth_method=ConnectEvent.AuthMethod.HMAC,
    )
    operation = BulkOperation.objects.create(kind=BulkOperation.Kind.CONNECT_RESYNC)
    destination = Destination.objects.create(
        integration=integration, name="Back office", url="https://hooks.partner.example/ds"
    )
    delivery = Delivery.objects.create(
        destination=destination, event=event, tenant=tenant, status=Delivery.Status.DEAD
    )
    return {
        "destination_id": destination.pk,
        "delivery_id": delivery.pk,
        "tenant_id": tenant.pk,
        "integration_id": integration.pk,
        "template_id": template.pk,
        "event_id": event.pk,
        "operation_id": operation.pk,
    }


def _url(pattern: URLPattern, kwargs: dict) -> str:
    names = list(pattern.pattern.converters)
    missing = [n for n in names if n not in kwargs]
    assert not missing, f"{pattern.name}: teach this test to fill {missing}"
    return reverse(f"api:{pattern.name}", kwargs={n: kwargs[n] for n in names})


def _call(client, method: str, url: str):
    return getattr(client, method.lower())(url, {}, format="json")


def _snapshot() -> dict:
    counts = {}
    for label in ("apikeys", "common", "tenants", "connect", "events", "forwarding"):
        for model in apps.get_app_config(label).get_models():
            if model is not AuditEvent and model._meta.model_name not in (
                "apiratewindow",
                "idempotentrequest",
                "apikey",
            ):
                counts[model._meta.label] = model.objects.count()
    counts["tenants"] = sorted(
        Tenant.objects.values_list("pk", "status", "archived_at", "name", "updated_at")
    )
    counts["destinations"] = sorted(
        Destination.objects.values_list("pk", "name", "url", "event_types", "paused_at")
    )
    counts["deliveries"] = sorted(Delivery.objects.values_list("pk", "status", "next_attempt_at"))
    return counts


def test_every_scope_guards_some_operation_and_every_operation_names_a_scope():
    assert len(OPERATIONS) >= 20
    assert {scope for _, _, scope in OPERATIONS} == set(Scope.values)


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_a_key_without_the_scope_gets_a_403_naming_it_and_nothing_changes(api, world, operation):
    pattern, method, scope = operation
    client = api(scopes=[s for s in Scope.values if s != scope])
    url = _url(pattern, world)
    before = _snapshot()

    response = _call(client, method, url)

    assert response.status_code == 403, (method, url, response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["missing_scope"] == scope
    assert scope in response.json()["detail"]
    assert _snapshot() == before


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_a_key_with_only_the_scope_gets_past_the_gate(api, world, operation):
    pattern, method, scope = operation
    client = api(scopes=[scope])

    response = _call(client, method, _url(pattern, world))

    assert response.status_code not in (401, 403, 405), (method, pattern.name, response.content)
    assert response.status_code < 500


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_no_key_is_a_401(client, world, operation):
    pattern, method, _ = operation

    response = getattr(client, method.lower())(_url(pattern, world))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Type"] == "application/problem+json"

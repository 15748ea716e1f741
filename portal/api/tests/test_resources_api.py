"""Integrations, Connect templates and assignments, a tenant's sync, events and bulk operations
through the API."""

import pytest

from common.models import BulkOperation
from connect.models import ConnectAssignment, ConnectTemplate, TenantConnectState
from connect.tests.factories import ConnectTemplateFactory
from events.models import ConnectEvent
from tenants.models import Tenant
from tenants.tests.factories import IntegrationFactory, TenantFactory

pytestmark = pytest.mark.django_db


def _event(tenant, n: int, **fields) -> ConnectEvent:
    return ConnectEvent.objects.create(
        tenant=tenant,
        account_id="acct",
        configuration_id="1",
        event=fields.pop("event", "envelope-sent"),
        envelope_id=fields.pop("envelope_id", f"env-{n}"),
        generated_date_time=f"2026-01-01T00:00:{n:02d}.0000000Z",
        payload={"event": "envelope-sent", "data": {"hmacSecret": "s3cret", "n": n}},
        auth_method=ConnectEvent.AuthMethod.HMAC,
        **fields,
    )


def test_integrations_are_listed_without_secrets(api):
    integration = IntegrationFactory()

    listed = api().get("/api/v1/integrations/").json()
    one = api().get(f"/api/v1/integrations/{integration.pk}/")

    assert [i["id"] for i in listed["results"]] == [integration.pk]
    assert one.json()["has_secret_key"] is True
    assert one.json()["has_rsa_private_key"] is True
    assert integration.secret_key not in one.content.decode()
    assert "PRIVATE KEY" not in one.content.decode()
    assert api().get("/api/v1/integrations/999999/").status_code == 404


def test_templates_and_their_settings(api):
    template = ConnectTemplateFactory()

    listed = api().get("/api/v1/connect/templates/").json()["results"]
    one = api().get(f"/api/v1/connect/templates/{template.pk}/").json()

    assert [t["slug"] for t in listed] == [template.slug]
    assert one["config_name"] == f"PartnerPortal: {template.slug}"
    assert one["settings"]["delivery_mode"] == "SIM"


def test_assign_and_unassign_a_chosen_template(api):
    client = api()
    template = ConnectTemplateFactory(applies_to=ConnectTemplate.AppliesTo.CHOSEN)
    tenant = TenantFactory(integration=template.integration)
    stranger = TenantFactory()
    url = f"/api/v1/connect/templates/{template.pk}/assignments/"

    added = client.post(url, {"tenant": tenant.pk}, format="json")
    twice = client.post(url, {"tenant": tenant.pk}, format="json")
    listed = client.get(url).json()["results"]
    wrong_integration = client.post(url, {"tenant": stranger.pk}, format="json")
    unknown = client.post(url, {"tenant": 999999}, format="json")
    removed = client.delete(f"{url}{tenant.pk}/")
    again = client.delete(f"{url}{tenant.pk}/")

    assert added.status_code == twice.status_code == 201
    assert [a["tenant_slug"] for a in listed] == [tenant.slug]
    assert wrong_integration.status_code == 409
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "tenant"
    assert removed.status_code == 204
    assert again.status_code == 404
    assert not ConnectAssignment.objects.exists()


def test_an_all_tenants_template_takes_no_assignment(api):
    template = ConnectTemplateFactory(applies_to=ConnectTemplate.AppliesTo.ALL)
    tenant = TenantFactory(integration=template.integration)

    response = api().post(
        f"/api/v1/connect/templates/{template.pk}/assignments/",
        {"tenant": tenant.pk},
        format="json",
    )

    assert response.status_code == 409
    assert not ConnectAssignment.objects.exists()


def test_sync_is_queued_and_refused_for_an_archived_tenant(api, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # queued, not run: the queue mark is the answer
    tenant = TenantFactory(status=Tenant.Status.CONSENTED)
    TenantConnectState.objects.create(tenant=tenant)
    archived = TenantFactory(archived_at="2026-01-01T00:00Z")

    queued = api().post(f"/api/v1/tenants/{tenant.pk}/sync/")
    refused = api().post(f"/api/v1/tenants/{archived.pk}/sync/")

    assert queued.status_code == 202
    assert queued.json() == {"tenant": tenant.pk, "queued": True}
    assert TenantConnectState.objects.get(tenant=tenant).queued_at is not None
    assert refused.status_code == 409


def test_events_filter_page_and_hide_secrets(api):
    client = api()
    tenant, other = TenantFactory(), TenantFactory()
    for n in range(3):
        _event(tenant, n)
    _event(other, 9, event="envelope-completed", envelope_id="env-x")

    first = client.get("/api/v1/events/", {"tenant": tenant.pk, "limit": 2}).json()
    second = client.get(
        "/api/v1/events/", {"tenant": tenant.pk, "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    by_event = client.get("/api/v1/events/", {"event": "envelope-completed"}).json()["results"]
    by_envelope = client.get("/api/v1/events/", {"envelope_id": "env-1"}).json()["results"]
    detail = client.get(f"/api/v1/events/{first['results'][0]['id']}/")

    assert len(first["results"]) + len(second["results"]) == 3
    assert second["next_cursor"] is None
    assert [e["envelope_id"] for e in by_event] == ["env-x"]
    assert [e["envelope_id"] for e in by_envelope] == ["env-1"]
    assert detail.json()["payload"]["data"]["hmacSecret"] == "[redacted]"
    assert "s3cret" not in detail.content.decode()
    assert client.get("/api/v1/events/", {"tenant": "x"}).status_code == 400


def test_bulk_start_by_ids_or_by_filter_and_read_progress(api, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = api()
    integration = IntegrationFactory()
    tenants = [TenantFactory(integration=integration, name=f"T{i}") for i in range(3)]
    TenantFactory(name="Elsewhere")

    by_ids = client.post(
        "/api/v1/bulk-operations/",
        {"kind": "connect_resync", "tenant_ids": [tenants[0].pk, tenants[1].pk]},
        format="json",
    )
    by_filter = client.post(
        "/api/v1/bulk-operations/",
        {"kind": "connect_push", "filter": {"integration": integration.pk}},
        format="json",
    )
    empty = client.post(
        "/api/v1/bulk-operations/", {"kind": "connect_push", "tenant_ids": []}, format="json"
    )
    progress = client.get(f"/api/v1/bulk-operations/{by_filter.json()['id']}/")

    assert by_ids.status_code == 202
    assert by_ids.json()["total"] == 2
    assert by_filter.json()["total"] == 3
    assert progress.json()["kind"] == "connect_push"
    assert progress.json()["done"] == 0
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "tenant_ids"
    assert BulkOperation.objects.count() == 2


def test_unknown_api_addresses_are_problem_documents(api):
    response = api().get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_an_id_larger_than_any_row_s_is_a_field_error_or_a_404_never_a_server_error(api):
    too_large = 2**63  # one past PostgreSQL's bigint and SQLite's integer

    listed = api().get(f"/api/v1/events/?tenant={too_large}")
    assert listed.status_code == 400
    assert [e["field"] for e in listed.json()["errors"]] == ["tenant"]
    for path in (f"/api/v1/events/{too_large}/", f"/api/v1/tenants/{too_large * 10**3}/"):
        missing = api().get(path)
        assert missing.status_code == 404, path
        assert missing["Content-Type"].startswith("application/problem+json")
    # The largest id a row could have is still a valid id that merely does not exist.
    assert api().get(f"/api/v1/events/{too_large - 1}/").status_code == 404
    assert api().get(f"/api/v1/events/?tenant={too_large - 1}").json()["results"] == []

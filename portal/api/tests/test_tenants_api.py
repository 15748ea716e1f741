"""Tenants through the API: create, list with filters and cursors, get, update, archive,
unarchive, offboard, invite and status; bad input is a problem document and writes nothing."""

import pytest
from django.core import mail

from common.models import AuditEvent
from tenants.models import Invite, Tenant
from tenants.tests.factories import IntegrationFactory, TenantAccountFactory, TenantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tenants/"


def _body(integration_row, **over):
    return {
        "name": "Northwind Traders",
        "slug": "northwind",
        "admin_email": "nora@northwind.example",
        "integration": integration_row.pk,
        **over,
    }


def test_create_registers_the_tenant_and_audits_it_under_the_key(api):
    client = api()
    integration = IntegrationFactory()

    response = client.post(URL, _body(integration), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["slug"] == "northwind"
    assert data["status"] == "registered"
    assert data["integration"] == integration.pk
    assert data["account"] is None
    tenant = Tenant.objects.get(slug="northwind")
    assert response["Location"] == f"/api/v1/tenants/{tenant.pk}/"
    row = AuditEvent.objects.get(action="tenant.create", target_id=str(tenant.pk))
    assert row.actor_label == client.api_key.label


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"slug": "Not a slug!"}, "slug"),
        ({"admin_email": "not-an-email"}, "admin_email"),
        ({"name": ["a", "list"]}, "name"),
        ({"integration": "one"}, "integration"),
        ({"integration": 999999}, "integration"),
        ({"grant_mode": "implicit"}, "grant_mode"),
        ({"colour": "blue"}, "colour"),
        ({"notes": "x" * 5001}, "notes"),
    ],
)
def test_bad_fields_are_422_naming_the_field_and_write_nothing(api, override, field):
    client = api()
    integration = IntegrationFactory()

    response = client.post(URL, _body(integration, **override), format="json")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]
    assert not Tenant.objects.exists()


def test_a_colliding_slug_is_422_naming_slug(api):
    client = api()
    existing = TenantFactory(slug="northwind")

    response = client.post(URL, _body(existing.integration), format="json")

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["slug"]
    assert Tenant.objects.count() == 1


def test_malformed_and_oversized_bodies_are_400_naming_the_body(api, settings):
    client = api()
    settings.API_MAX_BODY_BYTES = 1000

    broken = client.post(URL, data=b"{not json", content_type="application/json")
    huge = client.post(URL, {"name": "x" * 2000}, format="json")
    not_an_object = client.post(URL, [1, 2], format="json")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    beyond_django = client.post(URL, {"name": "x" * 2000}, format="json")

    assert broken.status_code == 400
    assert broken.json()["errors"][0]["field"] == "body"
    assert huge.status_code == 400
    assert huge.json()["errors"][0]["field"] == "body"
    assert "larger" in huge.json()["detail"]
    assert not_an_object.status_code == 422
    assert beyond_django.status_code == 400
    assert not Tenant.objects.exists()


def test_list_filters_like_the_staff_list_and_pages_with_a_cursor(api):
    client = api()
    integration = IntegrationFactory()
    other = IntegrationFactory()
    for i in range(5):
        TenantFactory(name=f"Acme {i}", slug=f"acme-{i}", integration=integration)
    TenantFactory(name="Zeta", slug="zeta", integration=other, status=Tenant.Status.INVITED)
    TenantFactory(
        name="Gone", slug="gone", integration=integration, archived_at="2026-01-01T00:00Z"
    )

    first = client.get(URL, {"limit": 2, "integration": integration.pk}).json()
    second = client.get(
        URL, {"limit": 2, "integration": integration.pk, "cursor": first["next_cursor"]}
    ).json()
    third = client.get(
        URL, {"limit": 2, "integration": integration.pk, "cursor": second["next_cursor"]}
    ).json()

    names = [t["name"] for page in (first, second, third) for t in page["results"]]
    assert names == ["Acme 0", "Acme 1", "Acme 2", "Acme 3", "Acme 4"]
    assert third["next_cursor"] is None
    assert [t["slug"] for t in client.get(URL, {"status": "invited"}).json()["results"]] == ["zeta"]
    assert [t["slug"] for t in client.get(URL, {"status": "archived"}).json()["results"]] == [
        "gone"
    ]
    assert [t["slug"] for t in client.get(URL, {"q": "zet"}).json()["results"]] == ["zeta"]
    newest = client.get(URL, {"sort": "-created", "limit": 1}).json()["results"]
    assert newest[0]["slug"] == "zeta"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"status": "sleeping"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "forged"}, "cursor"),
        ({"sort": "secret_key"}, "sort"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(api, params, field):
    response = api().get(URL, params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_a_cursor_of_another_sort_is_refused(api):
    client = api()
    TenantFactory.create_batch(3)
    cursor = client.get(URL, {"limit": 1}).json()["next_cursor"]

    response = client.get(URL, {"limit": 1, "sort": "-name", "cursor": cursor})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"


def test_get_update_archive_unarchive(api):
    client = api()
    tenant = TenantFactory(name="Before")
    url = f"{URL}{tenant.pk}/"

    assert client.get(url).json()["name"] == "Before"
    updated = client.patch(url, {"name": "After"}, format="json")
    archived = client.post(f"{url}archive/")
    listed = [t["id"] for t in client.get(URL).json()["results"]]
    unarchived = client.post(f"{url}unarchive/")

    assert updated.status_code == 200
    assert updated.json()["name"] == "After"
    assert archived.json()["archived"] is True
    assert tenant.pk not in listed
    assert unarchived.json()["archived"] is False
    assert client.get(f"{URL}999999/").status_code == 404


def test_update_refuses_unknown_fields_and_changes_nothing(api):
    client = api()
    tenant = TenantFactory(name="Before")

    response = client.patch(
        f"{URL}{tenant.pk}/", {"name": "After", "status": "active"}, format="json"
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["status"]
    tenant.refresh_from_db()
    assert (tenant.name, tenant.status) == ("Before", Tenant.Status.REGISTERED)


def test_archiving_a_linked_tenant_is_a_409(api):
    account = TenantAccountFactory()

    response = api().post(f"{URL}{account.tenant.pk}/archive/")

    assert response.status_code == 409
    assert "offboard" in response.json()["detail"]


def test_offboard_forgets_the_link(api):
    account = TenantAccountFactory()

    response = api().post(f"{URL}{account.tenant.pk}/offboard/", {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["tenant"]["status"] == "offboarded"
    assert response.json()["tenant"]["account"] is None


def test_invite_returns_the_link_and_expiry_and_emails_it(api):
    client = api()
    tenant = TenantFactory()

    first = client.post(f"{URL}{tenant.pk}/invites/", {}, format="json")
    second = client.post(f"{URL}{tenant.pk}/invites/", {"kind": "consent"}, format="json")

    assert first.status_code == 201
    data = second.json()
    assert data["link"].startswith("http")
    assert "/consent/" in data["link"]
    assert data["expires_at"]
    assert data["emailed"] is True
    assert len(mail.outbox) == 2
    assert Invite.objects.filter(tenant=tenant, superseded_at__isnull=True).count() == 1
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.INVITED
    # The link grants consent: it is in the answer, never in the audit log.
    assert not AuditEvent.objects.filter(message__contains=data["link"]).exists()
    change = tenant.status_changes.get()
    assert change.actor_label == client.api_key.label


def test_invite_for_an_archived_tenant_is_a_409_and_creates_nothing(api):
    tenant = TenantFactory(archived_at="2026-01-01T00:00Z")

    response = api().post(f"{URL}{tenant.pk}/invites/", {}, format="json")

    assert response.status_code == 409
    assert not Invite.objects.exists()


def test_status_reports_consent_token_connect_delivery_and_needs_a_human(api):
    client = api()
    tenant = TenantFactory(status=Tenant.Status.NEEDS_RECONSENT, status_reason="Grant refused")
    client.post(f"{URL}{tenant.pk}/invites/", {"kind": "reconsent"}, format="json")

    response = client.get(f"{URL}{tenant.pk}/status/")

    assert response.status_code == 200
    data = response.json()
    assert data["consent"]["status"] == "needs_reconsent"
    assert data["consent"]["invite"]["kind"] == "reconsent"
    assert data["consent"]["invite"]["usable"] is True
    assert data["token"]["has_tokens"] is False
    assert data["connect"]["status"] == "never"
    assert data["delivery"]["events_total"] == 0
    assert [n["key"] for n in data["needs_human"]] == ["needs_reconsent"]
    assert data["needs_human"][0]["reason"] == "Grant refused"

"""The staff pages for API keys, and the wall between keys and everything that is not the API."""

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from accounts.roles import Role
from apikeys.models import ApiKey, Scope
from apikeys.tests.factories import api_key_issue
from common.models import AuditEvent
from portal.tests.test_role_matrix import ALL_PATTERNS, _is_public

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_key_sees_the_secret_once_and_only_its_hash_is_kept(staff_client):
    client = staff_client(Role.ADMIN)

    response = client.post(
        reverse("api-key-list"),
        {"name": "Sign-up service", "scopes": ["tenants:read", "tenants:write"]},
    )

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = response.context["issued"].secret
    assert secret.encode() in response.content
    key = ApiKey.objects.get()
    assert key.scopes == ["tenants:read", "tenants:write"]
    assert secret.startswith(f"ppk_{key.prefix}_")
    assert secret not in key.secret_hash
    assert key.created_by_label == client.user.username
    # Shown once: the list never shows it again, and the audit row never held it.
    assert secret.encode() not in client.get(reverse("api-key-list")).content
    audit = AuditEvent.objects.get(action="api_key.create")
    assert secret not in str(audit.after) + audit.message
    assert audit.after["prefix"] == key.prefix


def test_the_forwarding_scopes_are_offered_and_granted(staff_client):
    client = staff_client(Role.ADMIN)

    page = client.get(reverse("api-key-list"))
    response = client.post(
        reverse("api-key-list"),
        {"name": "Webhook ops", "scopes": ["forwarding:read", "forwarding:write"]},
    )

    assert b'value="forwarding:read"' in page.content
    assert b'value="forwarding:write"' in page.content
    assert response.status_code == 201
    assert ApiKey.objects.get().scopes == ["forwarding:read", "forwarding:write"]


def test_bad_input_is_a_form_error_and_creates_nothing(staff_client):
    client = staff_client(Role.OWNER)

    response = client.post(
        reverse("api-key-list"), {"name": "", "scopes": ["everything"], "expires_on": "1999-01-01"}
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "scopes", "expires_on"}
    assert not ApiKey.objects.exists()


def test_revoking_stops_the_key_and_its_later_use_is_audited(staff_client):
    client = staff_client(Role.OWNER)
    issued = api_key_issue(scopes=[Scope.TENANTS_READ])
    api = Client(headers={"authorization": f"Bearer {issued.secret}"})
    assert api.get("/api/v1/tenants/").status_code == 200

    client.post(reverse("api-key-revoke", kwargs={"key_id": issued.api_key.pk}))
    first = api.get("/api/v1/tenants/")
    second = api.get("/api/v1/tenants/")

    assert first.status_code == 401
    assert second.status_code == 401
    assert "revoked" in first.json()["detail"]
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1
    # Audited, at most once a minute per key: a client retrying a dead key does not flood the log.
    refused = AuditEvent.objects.filter(action="api_key.revoked_use")
    assert refused.count() == 1
    assert refused.get().outcome == AuditEvent.Outcome.DENIED
    assert all(issued.secret not in (e.message + str(e.after)) for e in AuditEvent.objects.all())


def test_operators_and_support_cannot_manage_keys(staff_client):
    for role in (Role.OPERATOR, Role.SUPPORT):
        client = staff_client(role, username=f"u-{role}")
        assert client.get(reverse("api-key-list")).status_code == 403
        response = client.post(reverse("api-key-list"), {"name": "x", "scopes": ["tenants:read"]})
        assert response.status_code == 403
    assert not ApiKey.objects.exists()


def _staff_urls() -> list[str]:
    """Every staff and self-service page (the role matrix's list), with its ids filled."""
    ids = {"tenant_id", "integration_id", "user_id", "operation_id", "template_id", "event_id"}
    ids |= {"key_id", "destination_id", "pk"}
    urls = set()
    for pattern in ALL_PATTERNS:
        if _is_public(pattern.name):
            continue
        names = list(pattern.pattern.converters)
        # allauth's security-key pages name the key by `pk` in an enclosing route.
        if "pk" in str(get_resolver().reverse_dict.getlist(pattern.name)):
            names.append("pk")
        missing = [n for n in names if n not in ids]
        assert not missing, f"{pattern.name}: teach this test to fill {missing}"
        urls.add(reverse(pattern.name, kwargs={n: 1 for n in names} or None))
    return sorted(urls)


def test_a_key_reaches_no_staff_page_no_admin_and_no_key_management():
    issued = api_key_issue()
    client = Client(headers={"authorization": f"Bearer {issued.secret}"})
    urls = [*_staff_urls(), "/admin/", "/admin/apikeys/apikey/"]
    assert reverse("api-key-list") in urls

    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            # Sent to the staff sign-in page (or refused): a key is not a staff session.
            assert response.status_code in (302, 403, 404, 405), (method, url)
            if response.status_code == 302:
                assert "/login/" in response["Location"], (method, url)
    assert ApiKey.objects.get().revoked_at is None

"""Integration keys: secrets write-only and encrypted, key pairs generated, access by role."""

import pytest
from django.db import connection
from django.urls import reverse

from accounts.roles import Role
from common.models import AuditEvent
from docusign_emulator.testing import TEST_PRIVATE_KEY_PEM
from tenants.models import Integration
from tenants.tests.factories import IntegrationFactory

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "name": "Demo",
        "environment": "demo",
        "auth_base_url": "https://account-d.docusign.com",
        "integration_key": "abc-123",
        "secret_key": "s3cret-value-123",
        "rsa_private_key": "",
        "redirect_uri": "https://portal.example/consent/callback/",
        "partner_account_id": "",
        "partner_user_id": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_admin_creates_an_integration_with_an_encrypted_secret(staff_client):
    response = staff_client(Role.ADMIN).post(reverse("integration-create"), form_data())

    assert response.status_code == 302
    integration = Integration.objects.get()
    assert integration.secret_key == "s3cret-value-123"
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_key FROM tenants_integration WHERE id = %s", [integration.pk])
        (raw,) = cursor.fetchone()
    assert "s3cret" not in raw
    event = AuditEvent.objects.get(action="integration.create")
    assert "s3cret" not in f"{event.message}{event.after}"


def test_edit_page_never_shows_secrets_and_blank_keeps_them(staff_client):
    integration = IntegrationFactory(secret_key="keep-me-secret")
    client = staff_client(Role.ADMIN)
    url = reverse("integration-edit", kwargs={"integration_id": integration.pk})

    page = client.get(url).content.decode()
    assert "keep-me-secret" not in page
    assert "PRIVATE KEY" not in page.replace("PRIVATE KEY-----)", "")
    client.post(
        url,
        form_data(
            name=integration.name,
            environment="emulator",
            auth_base_url="http://127.0.0.1:8765",
            secret_key="",
        ),
    )

    integration.refresh_from_db()
    assert integration.secret_key == "keep-me-secret"
    assert integration.rsa_private_key == TEST_PRIVATE_KEY_PEM.decode()


def test_a_bad_private_key_is_a_field_error(staff_client):
    response = staff_client(Role.ADMIN).post(
        reverse("integration-create"), form_data(rsa_private_key="-----BEGIN PRIVATE KEY-----\nxx")
    )

    assert response.status_code == 400
    assert "rsa_private_key" in response.context["form"].errors
    assert not Integration.objects.exists()


def test_generate_key_pair_stores_the_private_key_and_shows_the_public_one(staff_client):
    integration = IntegrationFactory(rsa_private_key="", rsa_public_key="")
    client = staff_client(Role.ADMIN)

    client.post(reverse("integration-generate-key", kwargs={"integration_id": integration.pk}))

    integration.refresh_from_db()
    assert integration.rsa_private_key.startswith("-----BEGIN PRIVATE KEY-----")
    page = client.get(reverse("integration-edit", kwargs={"integration_id": integration.pk}))
    assert integration.rsa_public_key.strip() in page.content.decode()
    assert AuditEvent.objects.filter(action="integration.keypair").exists()


def test_operator_cannot_manage_integrations(staff_client):
    integration = IntegrationFactory()
    client = staff_client(Role.OPERATOR)

    assert client.post(reverse("integration-create"), form_data()).status_code == 403
    assert (
        client.get(
            reverse("integration-edit", kwargs={"integration_id": integration.pk})
        ).status_code
        == 403
    )
    assert client.get(reverse("integration-list")).status_code == 200
    assert Integration.objects.count() == 1


def test_emulator_integration_allows_its_own_http_host_for_base_uris():
    integration = IntegrationFactory.build(auth_base_url="http://127.0.0.1:8765")

    assert integration.allowed_base_uri_hosts == ["http://127.0.0.1:8765"]

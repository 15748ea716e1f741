"""Envelope-level Connect: the tenant's eventNotification block rendered from a template, used in
an envelope-create call at the emulator, and the deliveries attributed to the tenant."""

import json

import pytest
import requests
from django.urls import reverse

from connect.selectors.desired import connect_event_notifications_for_tenant
from events.models import ConnectEvent
from events.tests.helpers import HOOK_PATH, envelope_hooks_tenant
from tenants.services.tokens import token_get_valid

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(consented_tenant, emulator, emulator_integration, live_server):
    return envelope_hooks_tenant(
        consented_tenant,
        emulator=emulator,
        integration=emulator_integration,
        listener_url=live_server.url + HOOK_PATH,
    )


def test_the_rendered_block_makes_docusign_deliver_that_envelope_to_the_tenant(
    tenant, staff_client
):
    [block] = connect_event_notifications_for_tenant(tenant=tenant)
    notification = json.loads(block["json"])["eventNotification"]
    assert notification["integratorManaged"] == "true"
    assert notification["includeHMAC"] == "true"
    assert notification["requireAcknowledgment"] == "true"
    assert "urlToPublishTo" not in notification

    token = token_get_valid(tenant_id=tenant.pk)
    created = requests.post(
        f"{token.base_uri}/restapi/v2.1/accounts/{token.account_id}/envelopes",
        json={"emailSubject": "Sign", "status": "sent", "eventNotification": notification},
        headers={"Authorization": f"Bearer {token.token}"},
        timeout=30,
    )

    assert created.status_code == 201, created.text
    event = ConnectEvent.objects.get()
    assert event.tenant_id == tenant.pk
    assert event.envelope_id == created.json()["envelopeId"]
    assert event.auth_method == ConnectEvent.AuthMethod.HMAC
    page = staff_client().get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk}))
    assert "requireAcknowledgment" in page.content.decode()

"""A tenant's envelope-level eventNotification through the partner API (issue 21)."""

import pytest
import requests

from apikeys.models import Scope
from events.models import ConnectEvent
from events.tests.helpers import HOOK_PATH, envelope_hooks_tenant
from tenants.services.tokens import token_get_valid
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_block_from_the_api_makes_docusign_deliver_that_envelope_to_the_tenant(
    api, consented_tenant, emulator, emulator_integration, live_server
):
    tenant = envelope_hooks_tenant(
        consented_tenant,
        emulator=emulator,
        integration=emulator_integration,
        listener_url=live_server.url + HOOK_PATH,
    )

    response = api(scopes=[Scope.CONNECT_READ]).get(
        f"/api/v1/tenants/{tenant.pk}/event-notification/"
    )

    assert response.status_code == 200, response.content
    [block] = response.json()
    assert block["template"] == "Hooks"
    assert block["error"] == ""
    notification = block["event_notification"]
    assert notification["integratorManaged"] == "true"
    token = token_get_valid(tenant_id=tenant.pk)
    created = requests.post(
        f"{token.base_uri}/restapi/v2.1/accounts/{token.account_id}/envelopes",
        json={"emailSubject": "Sign", "status": "sent", "eventNotification": notification},
        headers={"Authorization": f"Bearer {token.token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    assert ConnectEvent.objects.get().tenant_id == tenant.pk


def test_a_tenant_without_an_account_has_no_blocks_and_an_unknown_one_is_a_404(api):
    tenant = TenantFactory()
    client = api(scopes=[Scope.CONNECT_READ])

    assert client.get(f"/api/v1/tenants/{tenant.pk}/event-notification/").json() == []
    missing = client.get("/api/v1/tenants/999999/event-notification/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/problem+json")

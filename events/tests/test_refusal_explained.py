"""A refused test delivery is explained on the tenant page in a sentence, with the page that fixes
it; the integration's webhook authentication check says the same, and passes once the keys match.
The emulator publishes to the portal under `live_server` (no mocks)."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from connect.models import TenantConnectState
from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_PARTNER_ACCOUNT_ID
from events.models import PartnerHmacKey
from events.tests.helpers import HOOK_PATH, KEY_NEW, KEY_OLD
from tenants.models import Tenant
from tenants.tests.factories import TenantAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(emulator, emulator_integration, live_server):
    account = TenantAccountFactory(
        tenant__integration=emulator_integration,
        tenant__status=Tenant.Status.ACTIVE,
        account_id=TEST_ACCOUNT_1_ID,
    )
    config = emulator.drift_create(
        TEST_ACCOUNT_1_ID,
        {
            "name": "PartnerPortal: hooks",
            "configurationType": "custom",
            "urlToPublishTo": live_server.url + HOOK_PATH,
            "allowEnvelopePublish": "true",
            "deliveryMode": "SIM",
            "eventData": {"version": "restv2.1"},
            "events": ["envelope-completed"],
            "integratorManaged": "true",
            "includeHMAC": "true",
        },
    )
    TenantConnectState.objects.create(
        tenant=account.tenant, status="in_sync", connect_ids={"hooks": config["connectId"]}
    )
    return account.tenant


def _send_test_event(client, tenant) -> str:
    client.post(reverse("tenant-send-test-event", kwargs={"tenant_id": tenant.pk}))
    return client.get(reverse("tenant-detail", kwargs={"tenant_id": tenant.pk})).content.decode()


def test_no_key_on_the_portal_is_explained_with_the_keys_page(emulator, tenant, staff_client):
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    client = staff_client(Role.OWNER)
    keys_url = reverse("integration-hmac-keys", kwargs={"integration_id": tenant.integration_id})

    page = _send_test_event(client, tenant)

    assert "no partner HMAC key is stored" in page
    assert f'href="{keys_url}">Add the partner HMAC key</a>' in page
    check = client.post(keys_url, {"action": "check"}).context["check"]
    assert not check.ok
    assert check.fix_url == keys_url
    assert check.signatures == 1  # DocuSign's side does sign: the portal's side is missing


def test_a_different_key_is_explained_then_the_check_passes_once_they_match(
    emulator, tenant, staff_client
):
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_NEW])
    PartnerHmacKey.objects.create(
        integration=tenant.integration, label="old", secret=KEY_OLD, created_by_label="t"
    )
    client = staff_client(Role.OWNER)

    page = _send_test_event(client, tenant)
    assert "matches none of the 1 HMAC key stored" in page

    PartnerHmacKey.objects.create(
        integration=tenant.integration, label="new", secret=KEY_NEW, created_by_label="t"
    )
    keys_url = reverse("integration-hmac-keys", kwargs={"integration_id": tenant.integration_id})
    check = client.post(keys_url, {"action": "check"}).context["check"]
    assert check.ok, check.sentence
    assert check.event_id is not None

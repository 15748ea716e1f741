import pytest

from docusign_emulator.testing import TEST_ACCOUNT_1_ID, TEST_PARTNER_ACCOUNT_ID
from events.models import PartnerHmacKey
from events.tests.helpers import HOOK_PATH, KEY_OLD
from portal.api.tests.conftest import api  # noqa: F401  (the partner API client fixture)

DOWN_URL = "http://127.0.0.1:9/hooks/docusign/connect/"  # discard port: connection refused
EVENTS = ["envelope-sent", "envelope-delivered", "envelope-completed"]


@pytest.fixture(autouse=True)
def _fresh_budget(settings):
    """The account's budget counters start at zero (they live in Redis across tests)."""
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"connect:budget:*:{TEST_ACCOUNT_1_ID}:*"):
            client.delete(key)


@pytest.fixture
def tenant(consented_tenant):
    tenant = consented_tenant(account_id=TEST_ACCOUNT_1_ID)
    PartnerHmacKey.objects.create(
        integration=tenant.integration, label="current", secret=KEY_OLD, created_by_label="tests"
    )
    return tenant


@pytest.fixture
def listener(emulator, live_server, tenant):
    """The account's Connect configuration, pointing at the portal under `live_server`; `down()`
    and `up()` move it to a dead address and back (the outage)."""
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    config = emulator.drift_create(
        TEST_ACCOUNT_1_ID,
        {
            "name": "PartnerPortal: recovery test",
            "configurationType": "custom",
            "urlToPublishTo": live_server.url + HOOK_PATH,
            "allowEnvelopePublish": "true",
            "allUsers": "true",
            "enableLog": "true",
            "requiresAcknowledgement": "true",
            "deliveryMode": "SIM",
            "eventData": {"version": "restv2.1"},
            "events": EVENTS,
            "integratorManaged": "true",
            "includeHMAC": "true",
        },
    )

    class Listener:
        connect_id = config["connectId"]

        def down(self):
            emulator.drift_edit(TEST_ACCOUNT_1_ID, self.connect_id, urlToPublishTo=DOWN_URL)

        def up(self):
            url = live_server.url + HOOK_PATH
            emulator.drift_edit(TEST_ACCOUNT_1_ID, self.connect_id, urlToPublishTo=url)

    return Listener()

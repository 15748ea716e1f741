"""Building Connect messages the way DocuSign does (API.md 3.1, 3.4), for crafting bad cases."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

from docusign_emulator.testing import TEST_ACCOUNT_1_ID

HOOK_PATH = "/hooks/docusign/connect/"
KEY_OLD = "partner-hmac-key-old-0123456789abcdef"
KEY_NEW = "partner-hmac-key-new-fedcba9876543210"


def generated_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S") + f".{now.microsecond * 10:07d}Z"


def message(
    *,
    account_id: str = TEST_ACCOUNT_1_ID,
    event: str = "envelope-completed",
    envelope_id: str | None = None,
    configuration_id: int = 10001,
    retry_count: int = 0,
    generated: str | None = None,
    **data,
) -> dict:
    envelope_id = envelope_id or str(uuid.uuid4())
    return {
        "event": event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{account_id}/envelopes/{envelope_id}",
        "retryCount": retry_count,
        "configurationId": configuration_id,
        "generatedDateTime": generated or generated_now(),
        "data": {
            "accountId": account_id,
            "userId": str(uuid.uuid4()),
            "envelopeId": envelope_id,
            **data,
        },
    }


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, *keys: str, account_id: str = TEST_ACCOUNT_1_ID) -> dict:
    """Django test client keyword arguments: one X-DocuSign-Signature-N per key."""
    headers = {"HTTP_X_DOCUSIGN_ACCOUNTID": account_id, "HTTP_X_AUTHORIZATION_DIGEST": "HMACSHA256"}
    for i, key in enumerate(keys, start=1):
        headers[f"HTTP_X_DOCUSIGN_SIGNATURE_{i}"] = sign(key, body)
    return headers


def post(client, body: bytes, **headers):
    return client.generic("POST", HOOK_PATH, body, content_type="application/json", **headers)


def envelope_hooks_tenant(consented_tenant, *, emulator, integration, listener_url: str):
    """A consented tenant "acme" whose integration has a Connect template "Hooks" publishing
    envelope-sent to `listener_url`, with the partner HMAC key on both sides (the setup of the
    envelope-level eventNotification tests)."""
    from connect.tests.factories import ConnectTemplateFactory
    from docusign_emulator.testing import TEST_PARTNER_ACCOUNT_ID
    from events.models import PartnerHmacKey

    tenant = consented_tenant(slug="acme")
    ConnectTemplateFactory(
        integration=integration,
        name="Hooks",
        slug="hooks",
        settings={"url_to_publish_to": listener_url, "events": ["envelope-sent"]},
    )
    PartnerHmacKey.objects.create(
        integration=integration, label="current", secret=KEY_OLD, created_by_label="t"
    )
    emulator.set_partner_hmac_keys(TEST_PARTNER_ACCOUNT_ID, [KEY_OLD])
    return tenant

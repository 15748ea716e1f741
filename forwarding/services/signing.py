"""Standard Webhooks signatures (https://www.standardwebhooks.com/): `webhook-id`,
`webhook-timestamp`, and `webhook-signature` holding `v1,<base64 HMAC-SHA256 of id.timestamp.body>`
for every live secret of the destination (two while a rotation overlaps)."""

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the format's prefix, not a secret)


def signing_secret_new() -> str:
    """A fresh secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signed_headers(
    *, msg_id: str, timestamp: datetime, body: bytes, signing_secrets: list[str]
) -> dict[str, str]:
    text = body.decode("utf-8")
    signatures = [
        Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=text)
        for secret in signing_secrets
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }

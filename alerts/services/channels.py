"""Where a notice goes: email (Django's email backend) to the tenant's owner or the staff alert
list, and, when configured, a Slack-compatible incoming webhook and a generic webhook signed the
Standard Webhooks way. Webhooks leave only through common.outbound (STYLE habit 17)."""

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import send_mail

from common.outbound import OutboundRefused, outbound_post

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    kind: str  # "alert.opened", "alert.resolved" or "alert.digest"
    subject: str
    text: str
    recipients: list[str]
    # The generic webhook's JSON body (never a secret).
    data: dict
    message_id: str


def notice_send(notice: Notice) -> list[str]:
    """Send on every configured channel; returns what failed ("" list when all went out). One
    channel failing never stops the others."""
    errors = []
    if notice.recipients:
        try:
            send_mail(
                subject=notice.subject,
                message=notice.text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=notice.recipients,
            )
        except Exception as exc:  # any backend's failure; the notice still goes elsewhere
            errors.append(f"email: {type(exc).__name__}")
    if settings.ALERT_SLACK_WEBHOOK_URL:
        body = json.dumps({"text": f"*{notice.subject}*\n{notice.text}"}).encode()
        errors += _post("slack", settings.ALERT_SLACK_WEBHOOK_URL, body, {})
    if settings.ALERT_WEBHOOK_URL:
        body = json.dumps({"type": notice.kind, "data": notice.data}).encode()
        errors += _post(
            "webhook", settings.ALERT_WEBHOOK_URL, body, webhook_headers(notice.message_id, body)
        )
    for error in errors:
        logger.warning("alert notice %s: %s", notice.message_id, error)
    return errors


def webhook_headers(message_id: str, body: bytes, *, timestamp: int | None = None) -> dict:
    """Standard Webhooks: `v1,` + base64 HMAC-SHA256 of "id.timestamp.body" under the secret (a
    `whsec_` secret is base64 after the prefix; any other is used as UTF-8 bytes)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = settings.ALERT_WEBHOOK_SECRET
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


def _post(channel: str, url: str, body: bytes, headers: dict) -> list[str]:
    try:
        resp = outbound_post(
            url, body=body, headers={"Content-Type": "application/json", **headers}
        )
    except OutboundRefused as exc:
        return [f"{channel}: refused ({exc})"]
    except requests.RequestException as exc:
        return [f"{channel}: {type(exc).__name__}"]
    if not 200 <= resp.status_code < 300:
        return [f"{channel}: HTTP {resp.status_code}"]
    return []

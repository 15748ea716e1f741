"""A Connect message as DocuSign would send it (API.md 3): the JSON SIM payload, its envelope
summary, the HMAC signatures and the listener authentication it carries, gathered into a
`Delivery` ready to POST.

Separate from `publisher.py`, which decides when to send (publish, retry queue, background loop)
and records the outcome: building reads the store and changes nothing, so the publisher and the
republish endpoint (`envelope_api.py`) both call `delivery_spec` under the store lock.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field

from docusign_emulator.envelopes import EVENT_STATUS
from docusign_emulator.models import ConnectConfig
from docusign_emulator.state import Store


def generated_date_time(ts: float) -> str:
    """`2026-01-13T07:09:58.9584687Z`: seven fractional digits and Z (API.md 3.4)."""
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    ticks = round((ts % 1) * 10_000_000) % 10_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ticks:07d}Z"


def sign(keys: list[str], body: bytes) -> list[str]:
    """base64(HMAC-SHA256(key as UTF-8, raw body)), one per active key (API.md 3.1)."""
    return [
        base64.b64encode(hmac.new(k.encode("utf-8"), body, hashlib.sha256).digest()).decode()
        for k in keys
    ]


@dataclass
class Delivery:
    account_id: str
    connect_id: str
    url: str
    event: str
    envelope_id: str
    recipient_id: str | None
    body: bytes
    headers: dict[str, str]
    timeout: float
    requires_ack: bool
    enable_log: bool
    oauth: dict | None = None
    oauth_missing: bool = False
    basic: tuple[str, str] | None = None
    mutual_tls: bool = False
    failure_id: str | None = None
    retry_count: int = 0
    generated_at: float = 0.0
    result: dict = field(default_factory=dict)


def message_payload(
    store: Store,
    cfg_wire: dict,
    account_id: str,
    event: str,
    envelope_id: str,
    recipient_id: str | None,
    user_id: str,
    retry_count: int,
    generated_at: float,
) -> dict:
    """The JSON SIM message (API.md 3.4); `envelopeSummary` only with `eventData.includeData`."""
    data: dict = {"accountId": account_id, "userId": user_id, "envelopeId": envelope_id}
    if event.startswith("recipient-"):
        data["recipientId"] = recipient_id or "1"
    include = (cfg_wire.get("eventData") or {}).get("includeData") or []
    if include:
        data["envelopeSummary"] = envelope_summary(
            store, account_id, event, envelope_id, user_id, include, generated_at
        )
    return {
        "event": event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{account_id}/envelopes/{envelope_id}",
        "retryCount": retry_count,
        "configurationId": int(cfg_wire["connectId"]),  # a JSON number here (API.md 3.4)
        # A retry resends the same message: only retryCount changes, so a listener can tell a
        # redelivery from a new event by the message's identity.
        "generatedDateTime": generated_date_time(generated_at),
        "data": data,
    }


def envelope_summary(
    store: Store,
    account_id: str,
    event: str,
    envelope_id: str,
    user_id: str,
    include: list[str],
    generated_at: float,
) -> dict:
    """`data.envelopeSummary` with the parts `include` asks for (recipients, documents, ...)."""
    now = generated_date_time(generated_at)
    user = store.users.get(user_id)
    email = user.email if user else "sender@example.com"
    name = user.name if user else "Sender"
    status = EVENT_STATUS.get(event, "sent")
    summary: dict = {
        "status": status,
        "emailSubject": "Please DocuSign: Agreement.pdf",
        "emailBlurb": "",
        "envelopeId": envelope_id,
        "sentDateTime": now,
        "statusChangedDateTime": now,
        "sender": {
            "userName": name,
            "userId": user_id,
            "accountId": account_id,
            "email": email,
            "ipAddress": "127.0.0.1",
        },
    }
    if status == "completed":
        summary["completedDateTime"] = now
    if "recipients" in include:
        summary["recipients"] = {
            "signers": [
                {
                    "recipientId": "1",
                    "name": "Client Signer",
                    "email": "signer@example.com",
                    "status": "completed" if status == "completed" else "sent",
                    "routingOrder": "1",
                    "recipientIdGuid": str(
                        uuid.uuid5(uuid.NAMESPACE_URL, f"{envelope_id}/recipients/1")
                    ),
                }
            ],
            "carbonCopies": [],
            "recipientCount": "1",
            "currentRoutingOrder": "1",
        }
    if "custom_fields" in include:
        summary["customFields"] = {"textCustomFields": [], "listCustomFields": []}
    if "documents" in include:
        summary["envelopeDocuments"] = [
            {
                "documentId": "1",
                "name": "Agreement.pdf",
                "type": "content",
                "order": "1",
                "pages": "1",
                "PDFBytes": base64.b64encode(b"%PDF-1.4 emulator").decode(),
            }
        ]
    if "folders" in include:
        summary["folders"] = []
    return summary


def delivery_spec(
    store: Store,
    cfg: ConnectConfig,
    event: str,
    envelope_id: str,
    recipient_id: str | None,
    user_id: str,
    retry_count: int = 0,
    failure_id: str | None = None,
    generated_at: float | None = None,
) -> Delivery:
    """Everything needed to POST one message for `cfg`; call it holding the store lock."""
    wire = cfg.wire
    account_id = cfg.account_id
    generated_at = store.now() if generated_at is None else generated_at
    payload = message_payload(
        store,
        wire,
        account_id,
        event,
        envelope_id,
        recipient_id,
        user_id,
        retry_count,
        generated_at,
    )
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json", "X-DocuSign-AccountId": account_id}
    integrator = wire.get("integratorManaged") == "true"
    partner_id = store.partner_account_id(cfg.client_id) if integrator else None
    if wire.get("includeHMAC") == "true":
        # API.md 2.4: integrator-managed configs sign with the partner account's keys.
        owner = store.accounts.get(partner_id or "") if integrator else None
        if owner is None:
            owner = store.accounts.get(account_id)
        keys = owner.hmac_keys if owner else []
        for i, signature in enumerate(sign(keys, body), start=1):
            headers[f"X-DocuSign-Signature-{i}"] = signature
        if keys:
            headers["X-Authorization-Digest"] = "HMACSHA256"
    oauth = None
    oauth_missing = False
    if wire.get("includeOAuth") == "true":
        if wire.get("enableOAuthPerConfiguration") == "true" and wire.get("oAuthConfiguration"):
            oauth = wire["oAuthConfiguration"]
        else:
            source = store.accounts.get(partner_id or account_id)
            oauth = source.connect_oauth if source else None
        oauth_missing = oauth is None
    basic = None
    if wire.get("userName") or wire.get("password"):
        # API.md 3.3: userName/password as Basic credentials is UNCONFIRMED.
        basic = (wire.get("userName", ""), wire.get("password", ""))
    # API.md 3.3: with mutual TLS required, DocuSign presents a client certificate.
    mutual_tls = "true" in (
        wire.get("requireMutualTls"),
        wire.get("signMessageWithX509Certificate"),
    )
    return Delivery(
        mutual_tls=mutual_tls,
        account_id=account_id,
        connect_id=cfg.connect_id,
        url=wire["urlToPublishTo"],
        event=event,
        envelope_id=envelope_id,
        recipient_id=recipient_id,
        body=body,
        headers=headers,
        timeout=float(store.config["connect_timeout_s"]),
        requires_ack=wire.get("requiresAcknowledgement") == "true",
        enable_log=wire.get("enableLog") == "true",
        oauth=dict(oauth) if oauth else None,
        oauth_missing=oauth_missing,
        basic=basic,
        failure_id=failure_id,
        retry_count=retry_count,
        generated_at=generated_at,
    )

"""`POST /envelopes` with an envelope-level `eventNotification` (API.md 2.1, 2.4).

The envelope's notification uses other names than an account-level configuration (`url`,
`loggingEnabled`, `requireAcknowledgment`, `signMessageWithX509Cert`, ...). It is stored as an
account-level wire configuration under a connectId of its own, so the publisher signs (including
`integratorManaged` with the partner's keys) and delivers it exactly like one. Which
`configurationId` DocuSign puts in such messages is UNCONFIRMED; this id stands in for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from docusign_emulator import connect
from docusign_emulator import errors as e
from docusign_emulator.state import ConnectConfig, Envelope, Store, Token
from docusign_emulator.wire import Request, Response, json_response

# eventNotification member -> ConnectCustomConfiguration member (BAL EventNotification).
RENAMED = {
    "url": "urlToPublishTo",
    "loggingEnabled": "enableLog",
    "requireAcknowledgment": "requiresAcknowledgement",
    "signMessageWithX509Cert": "signMessageWithX509Certificate",
    "includeTimeZone": "includeTimeZoneInformation",
    "includeSenderAccountAsCustomField": "includeSenderAccountasCustomField",
    "soapNameSpace": "soapNamespace",
}
SAME = {
    "deliveryMode", "events", "eventData", "envelopeEvents", "recipientEvents", "includeHMAC",
    "includeOAuth", "integratorManaged", "includeDocuments", "includeCertificateOfCompletion",
    "includeDocumentFields", "includeEnvelopeVoidReason", "useSoapInterface",
    "includeCertificateWithSoap",
}  # fmt: skip
STATUSES = {"created", "sent"}


def notification_fields(value: Any) -> dict:
    """The eventNotification as account-level fields, or a 400 naming the envelope-level field."""
    if not isinstance(value, dict):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    data: dict[str, Any] = {}
    for name, item in value.items():
        if name in RENAMED:
            data[RENAMED[name]] = item
        elif name in SAME and name != "includeCertificateWithSoap":
            data[name] = item
    fields = connect.coerce_fields(data, reject_unknown=False)
    if not fields.get("urlToPublishTo"):
        raise connect.bad("eventNotification.url is required.")
    return fields


def create(store: Store, req: Request, account_id: str, token: Token) -> tuple[Response, str, str]:
    """Store the envelope (and its notification); returns (response, envelope id, status). The
    caller publishes `envelope-sent` outside the store lock."""
    body = connect._body(req)
    status = str(body.get("status") or "created").lower()
    if status not in STATUSES:
        raise connect.bad("status must be created or sent.")
    envelope_id = str(uuid.uuid4())
    notification = None
    if body.get("eventNotification") is not None:
        fields = notification_fields(body["eventNotification"])
        # Delivered for this envelope whatever the account-level filters say.
        fields.update(
            name=f"Envelope {envelope_id}",
            configurationType="custom",
            allUsers="true",
            allowEnvelopePublish="true",
        )
        wire = connect.build_wire(fields, "0")
        try:
            connect.validate(wire)
        except e.RestError as err:
            raise connect.bad(_envelope_names(err.body().get("message", ""))) from None
        wire["connectId"] = store.allocate_connect_id()
        notification = ConnectConfig(
            account_id=account_id, wire=wire, client_id=token.client_id, user_id=token.user_id
        )
    envelope = Envelope(
        envelope_id=envelope_id,
        account_id=account_id,
        status=status,
        created=store.now(),
        user_id=token.user_id,
        notification=notification,
    )
    store.envelopes[envelope.envelope_id] = envelope
    store.touch()
    answer = {
        "envelopeId": envelope.envelope_id,
        "uri": f"/envelopes/{envelope.envelope_id}",
        "statusDateTime": connect.iso(envelope.created),
        "status": status,
    }
    return json_response(201, answer), envelope.envelope_id, status


def _envelope_names(message: str) -> str:
    for envelope_name, account_name in RENAMED.items():
        message = message.replace(account_name, f"eventNotification.{envelope_name}")
    return message

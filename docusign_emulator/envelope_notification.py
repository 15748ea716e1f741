"""The envelope-level `eventNotification` of `POST /envelopes` (API.md 2.1, 2.4).

The envelope's notification uses other names than an account-level configuration (`url`,
`loggingEnabled`, `requireAcknowledgment`, `signMessageWithX509Cert`, ...). It is stored as an
account-level wire configuration under a connectId of its own, so the publisher signs (including
`integratorManaged` with the partner's keys) and delivers it exactly like one. Which
`configurationId` DocuSign puts in such messages is UNCONFIRMED; this id stands in for it.
"""

from __future__ import annotations

from typing import Any

from docusign_emulator import errors as e
from docusign_emulator.connect_wire import build_wire, coerce_fields, validate
from docusign_emulator.models import ConnectConfig, Token
from docusign_emulator.rest import bad
from docusign_emulator.state import Store

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
    fields = coerce_fields(data, reject_unknown=False)
    if not fields.get("urlToPublishTo"):
        raise bad("eventNotification.url is required.")
    return fields


def notification_config(
    store: Store, body: dict, *, account_id: str, envelope_id: str, token: Token
) -> ConnectConfig | None:
    """The envelope's eventNotification as a wire configuration of its own (None without one),
    or a 400 naming the envelope-level field. Call with the store lock held."""
    if body.get("eventNotification") is None:
        return None
    fields = notification_fields(body["eventNotification"])
    # Delivered for this envelope whatever the account-level filters say.
    fields.update(
        name=f"Envelope {envelope_id}",
        configurationType="custom",
        allUsers="true",
        allowEnvelopePublish="true",
    )
    wire = build_wire(fields, "0")
    try:
        validate(wire)
    except e.RestError as err:
        raise bad(_envelope_names(err.body().get("message", ""))) from None
    wire["connectId"] = store.allocate_connect_id()
    return ConnectConfig(
        account_id=account_id, wire=wire, client_id=token.client_id, user_id=token.user_id
    )


def _envelope_names(message: str) -> str:
    for envelope_name, account_name in RENAMED.items():
        message = message.replace(account_name, f"eventNotification.{envelope_name}")
    return message

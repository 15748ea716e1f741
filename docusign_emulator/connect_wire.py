"""A Connect configuration on the wire (API.md 2.1, 2.2): DocuSign's key order and defaults, input
coerced to wire types (every scalar a string), and the checks DocuSign applies on POST/PUT."""

from __future__ import annotations

from typing import Any

from docusign_emulator import errors as e
from docusign_emulator.rest import bad

# Key order of a POST/PUT response as recorded on a demo account (API.md 2.1).
RECORDED_ORDER = [
    "connectId", "configurationType", "urlToPublishTo", "name", "allowEnvelopePublish",
    "deliveryMode", "enableLog", "includeDocuments", "includeCertificateOfCompletion",
    "requiresAcknowledgement", "signMessageWithX509Certificate", "useSoapInterface",
    "includeTimeZoneInformation", "includeOAuth", "includeHMAC", "integratorManaged",
    "includeEnvelopeVoidReason", "includeSenderAccountasCustomField", "envelopeEvents",
    "recipientEvents", "soapNamespace", "allUsers", "allUsersExcept", "includeCertSoapHeader",
    "requireMutualTls", "includeDocumentFields", "pausePublish", "eventData",
    "enableOAuthPerConfiguration",
]  # fmt: skip
# Defaults the recorded responses show for unset fields.
DEFAULTS: dict[str, Any] = {
    "allowEnvelopePublish": "false",
    "deliveryMode": "",
    "enableLog": "false",
    "includeDocuments": "false",
    "includeCertificateOfCompletion": "false",
    "requiresAcknowledgement": "true",
    "signMessageWithX509Certificate": "false",
    "useSoapInterface": "false",
    "includeTimeZoneInformation": "false",
    "includeOAuth": "false",
    "includeHMAC": "false",
    "integratorManaged": "false",
    "includeEnvelopeVoidReason": "false",
    "includeSenderAccountasCustomField": "false",
    "soapNamespace": "",
    "allUsers": "false",
    "allUsersExcept": "false",
    "includeCertSoapHeader": "false",
    "requireMutualTls": "false",
    "includeDocumentFields": "false",
    "pausePublish": "false",
    "enableOAuthPerConfiguration": "false",
}
# Present only when set (API.md 2.1: userIds, events, password and userName were absent).
OPTIONAL_ORDER = [
    "envelopeEvents", "recipientEvents", "userIds", "groupIds", "events", "userName", "password",
    "disabledBy", "oAuthConfiguration", "externalFolderId", "externalFolderLabel",
    "senderOverride", "senderSelectableItems", "salesforceApiVersion", "salesforceAuthcode",
    "salesforceCallBackUrl", "salesforceDocumentsAsContentFiles", "allowSalesforcePublish",
    "sfObjects",
]  # fmt: skip
STRING_LISTS = {
    "envelopeEvents", "recipientEvents", "userIds", "groupIds", "events", "senderSelectableItems",
}  # fmt: skip
OBJECT_LISTS = {"sfObjects"}
OBJECTS = {"eventData", "oAuthConfiguration"}
# Every member of the SDK's ConnectCustomConfiguration.attribute_map.
KNOWN_FIELDS = set(RECORDED_ORDER) | set(OPTIONAL_ORDER)
READ_ONLY = {"connectId", "disabledBy"}

CONFIGURATION_TYPES = {"custom", "customrecipient", "salesforce", "eOriginal"}
DELIVERY_MODES = {"", "SIM", "Aggregate"}
# API.md 2.2.
EVENTS = {
    "envelope-created", "envelope-sent", "envelope-resent", "envelope-delivered",
    "envelope-completed", "envelope-declined", "envelope-voided", "envelope-corrected",
    "envelope-purge", "envelope-deleted", "envelope-discard", "envelope-removed",
    "recipient-sent", "recipient-resent", "recipient-delivered", "recipient-completed",
    "recipient-declined", "recipient-authenticationfailed", "recipient-autoresponded",
    "recipient-reassign", "recipient-delegate", "recipient-finish-later",
    "template-created", "template-modified", "template-deleted", "click-agreed", "click-declined",
}  # fmt: skip
INCLUDE_DATA = {
    "attachments", "custom_fields", "documents", "extensions", "folders", "payment_tabs",
    "powerform", "prefill_tabs", "recipients", "tabs",
}  # fmt: skip
MAX_URL_BYTES = 4096
OAUTH_ORDER = ["authorizationServerUrl", "clientId", "clientSecret", "scope", "customParameters"]


def _flag(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise e.rest(400, e.INVALID_REQUEST_BODY)


def coerce_fields(data: dict, *, reject_unknown: bool) -> dict:
    """Input members converted to their wire types; unknown members dropped (or rejected)."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name not in KNOWN_FIELDS:
            if reject_unknown:
                raise bad(f"Unknown field: {name}")
            continue
        if value is None:
            continue
        if name in STRING_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise e.rest(400, e.INVALID_REQUEST_BODY)
            out[name] = list(value)
        elif name in OBJECT_LISTS:
            if not isinstance(value, list):
                raise e.rest(400, e.INVALID_REQUEST_BODY)
            out[name] = value
        elif name == "eventData":
            out[name] = _event_data(value)
        elif name == "oAuthConfiguration":
            out[name] = coerce_oauth(value, require=False)
        else:
            out[name] = _flag(value)
    return out


def _event_data(value: Any) -> dict:
    if not isinstance(value, dict):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    include = value.get("includeData") or []
    if not isinstance(include, list) or not all(isinstance(v, str) for v in include):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    out: dict[str, Any] = {"version": _flag(value.get("version") or "")}
    if value.get("format") is not None:
        out["format"] = _flag(value["format"])
    out["includeData"] = list(include)
    return out


def build_wire(fields: dict, connect_id: str) -> dict:
    """Assemble a configuration in DocuSign's key order with its defaults filled in."""
    wire: dict[str, Any] = {"connectId": connect_id}
    for name in RECORDED_ORDER[1:]:
        if name in fields:
            wire[name] = fields[name]
        elif name == "eventData":
            wire[name] = {"version": "", "includeData": []}
        elif name in DEFAULTS:
            wire[name] = DEFAULTS[name]
    for name in OPTIONAL_ORDER:
        if name in fields:
            wire[name] = fields[name]
    return wire


def validate(wire: dict) -> None:
    """The checks DocuSign applies on POST/PUT /connect (API.md 2.1, 2.2)."""
    if not wire.get("name"):
        raise bad("The Connect configuration name is required.")
    url = wire.get("urlToPublishTo") or ""
    if not url:
        raise bad("urlToPublishTo is required.")
    if len(url.encode("utf-8")) > MAX_URL_BYTES:
        raise bad("urlToPublishTo exceeds the maximum length of 4096.")
    if not url.lower().startswith(("https://", "http://")):
        raise bad("urlToPublishTo must be an absolute http(s) URL.")
    if wire.get("configurationType") not in CONFIGURATION_TYPES:
        raise bad("configurationType must be custom, customrecipient, salesforce or eOriginal.")
    if wire.get("deliveryMode", "") not in DELIVERY_MODES:
        raise bad("deliveryMode must be SIM or Aggregate.")
    events = wire.get("events") or []
    if events:
        # A third-party production note (API.md 2.2): events need SIM and restv2.1.
        if wire.get("deliveryMode") != "SIM" or wire["eventData"].get("version") != "restv2.1":
            raise bad("events requires deliveryMode SIM and eventData.version restv2.1.")
        unknown = [ev for ev in events if ev not in EVENTS]
        if unknown:
            raise bad(f"Invalid event: {unknown[0]}")
    unknown_data = [v for v in wire["eventData"].get("includeData", []) if v not in INCLUDE_DATA]
    if unknown_data:
        raise bad(f"Invalid includeData value: {unknown_data[0]}")
    if wire.get("allUsers") != "true" and not wire.get("userIds"):
        raise bad("userIds must list at least one user when allUsers is false.")


def coerce_oauth(value: Any, *, require: bool) -> dict:
    if not isinstance(value, dict):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    out: dict[str, Any] = {}
    for name in OAUTH_ORDER:
        if value.get(name) is None:
            continue
        if name == "customParameters":
            params = value[name]
            if not isinstance(params, dict):
                raise e.rest(400, e.INVALID_REQUEST_BODY)
            out[name] = {str(k): _flag(v) for k, v in params.items()}
        else:
            out[name] = _flag(value[name])
    if require:
        for name in ("authorizationServerUrl", "clientId", "clientSecret"):
            if not out.get(name):
                raise bad(f"{name} is required.")
    return out

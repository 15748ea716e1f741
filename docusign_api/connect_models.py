"""Frozen dataclasses of Connect (configurations, OAuth for Connect, failure and log entries, the
retry queue's answers), and their conversion from/to DocuSign's wire format (API.md 2)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .models import wire_bool, wire_str_bool, wire_tuple


@dataclass(frozen=True)
class ConnectOAuthConfig:
    """OAuth for Connect: the token URL DocuSign uses (client credentials) to get a Bearer token
    for its deliveries to the listener (API.md 2.3, 3.2)."""

    authorization_server_url: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    scope: str = ""
    custom_parameters: dict[str, str] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "authorizationServerUrl": self.authorization_server_url,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
        }
        if self.scope:
            wire["scope"] = self.scope
        if self.custom_parameters:
            wire["customParameters"] = dict(self.custom_parameters)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ConnectOAuthConfig:
        params = data.get("customParameters") or {}
        if isinstance(params, str):
            # Older specs type customParameters as a string holding JSON (API.md 2.3).
            try:
                params = json.loads(params)
            except ValueError:
                params = {}
        return cls(
            authorization_server_url=str(data.get("authorizationServerUrl") or ""),
            client_id=str(data.get("clientId") or ""),
            client_secret=str(data.get("clientSecret") or ""),
            scope=str(data.get("scope") or ""),
            custom_parameters={str(k): str(v) for k, v in dict(params).items()},
        )

    def managed_fields(self) -> dict[str, Any]:
        """Everything but the secret, which DocuSign may mask on read (API.md 2.3)."""
        return {
            "authorization_server_url": self.authorization_server_url,
            "client_id": self.client_id,
            "scope": self.scope,
            "custom_parameters": dict(sorted(self.custom_parameters.items())),
        }


@dataclass(frozen=True)
class EventData:
    """``eventData``: use ``version="restv2.1"`` with ``deliveryMode="SIM"`` for JSON SIM."""

    version: str = ""
    format: str = ""
    include_data: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "include_data", wire_tuple(self.include_data))

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = dict(self.extra)
        wire["version"] = self.version
        if self.format:
            wire["format"] = self.format
        wire["includeData"] = list(self.include_data)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> EventData:
        data = dict(data or {})
        return cls(
            version=str(data.pop("version", "") or ""),
            format=str(data.pop("format", "") or ""),
            include_data=wire_tuple(data.pop("includeData", None)),
            extra=data,
        )


# (attribute, wire name, default) of every boolean flag the portal models. Order follows the
# recorded DocuSign responses (API.md 2.1) so wire bodies read like DocuSign's own.
_BOOL_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("allow_envelope_publish", "allowEnvelopePublish", False),
    ("enable_log", "enableLog", False),
    ("include_documents", "includeDocuments", False),
    ("include_certificate_of_completion", "includeCertificateOfCompletion", False),
    # DocuSign's observed default is "true" (API.md 2.1).
    ("requires_acknowledgement", "requiresAcknowledgement", True),
    ("sign_message_with_x509_certificate", "signMessageWithX509Certificate", False),
    ("use_soap_interface", "useSoapInterface", False),
    ("include_time_zone_information", "includeTimeZoneInformation", False),
    ("include_oauth", "includeOAuth", False),
    ("include_hmac", "includeHMAC", False),
    ("integrator_managed", "integratorManaged", False),
    ("include_envelope_void_reason", "includeEnvelopeVoidReason", False),
    # Lower-case "a" in "Accountas" is DocuSign's spelling (API.md 2.1).
    ("include_sender_account_as_custom_field", "includeSenderAccountasCustomField", False),
    ("all_users", "allUsers", False),
    ("all_users_except", "allUsersExcept", False),
    ("include_cert_soap_header", "includeCertSoapHeader", False),
    ("require_mutual_tls", "requireMutualTls", False),
    ("include_document_fields", "includeDocumentFields", False),
    ("pause_publish", "pausePublish", False),
    ("enable_oauth_per_configuration", "enableOAuthPerConfiguration", False),
)
_STR_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("configuration_type", "configurationType", "custom"),
    ("url_to_publish_to", "urlToPublishTo", ""),
    ("name", "name", ""),
    ("delivery_mode", "deliveryMode", ""),
    ("soap_namespace", "soapNamespace", ""),
)
_LIST_FIELDS: tuple[tuple[str, str], ...] = (
    ("envelope_events", "envelopeEvents"),
    ("recipient_events", "recipientEvents"),
    ("events", "events"),
    ("user_ids", "userIds"),
    ("group_ids", "groupIds"),
)
_OPTIONAL_STR_FIELDS: tuple[tuple[str, str], ...] = (
    ("user_name", "userName"),
    ("password", "password"),
)
# Assigned by DocuSign; never sent back, never compared.
_SERVER_ONLY_FIELDS: tuple[tuple[str, str], ...] = (
    ("connect_id", "connectId"),
    ("disabled_by", "disabledBy"),
)
_KNOWN_WIRE_NAMES = frozenset(
    [w for _, w, _ in _BOOL_FIELDS]
    + [w for _, w, _ in _STR_FIELDS]
    + [w for _, w in _LIST_FIELDS + _OPTIONAL_STR_FIELDS + _SERVER_ONLY_FIELDS]
    + ["eventData", "oAuthConfiguration"]
)
# Not compared for drift: server-assigned, or write-only secrets DocuSign may not echo.
_UNMANAGED = frozenset({"connect_id", "disabled_by", "extra", "password"})


@dataclass(frozen=True, kw_only=True)
class ConnectConfiguration:
    """An account-level Connect configuration (``ConnectCustomConfiguration``, API.md 2.1).

    ``extra`` keeps wire fields this class does not model (Salesforce presets, fields DocuSign
    adds later), so a read-modify-``update()`` does not drop them.
    """

    name: str
    url_to_publish_to: str
    configuration_type: str = "custom"
    connect_id: str | None = None
    allow_envelope_publish: bool = False
    all_users: bool = False
    all_users_except: bool = False
    user_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    delivery_mode: str = ""
    events: tuple[str, ...] = ()
    envelope_events: tuple[str, ...] = ()
    recipient_events: tuple[str, ...] = ()
    event_data: EventData = field(default_factory=EventData)
    include_hmac: bool = False
    include_oauth: bool = False
    integrator_managed: bool = False
    enable_oauth_per_configuration: bool = False
    oauth_configuration: ConnectOAuthConfig | None = None
    requires_acknowledgement: bool = True
    enable_log: bool = False
    pause_publish: bool = False
    require_mutual_tls: bool = False
    sign_message_with_x509_certificate: bool = False
    include_documents: bool = False
    include_certificate_of_completion: bool = False
    include_document_fields: bool = False
    include_envelope_void_reason: bool = False
    include_sender_account_as_custom_field: bool = False
    include_time_zone_information: bool = False
    include_cert_soap_header: bool = False
    use_soap_interface: bool = False
    soap_namespace: str = ""
    user_name: str | None = None
    password: str | None = field(default=None, repr=False)
    disabled_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr, _ in _LIST_FIELDS:
            object.__setattr__(self, attr, wire_tuple(getattr(self, attr)))
        for attr, _, _ in _BOOL_FIELDS:
            if not isinstance(getattr(self, attr), bool):
                raise TypeError(f"{attr} must be a bool")

    def to_wire(self) -> dict[str, Any]:
        """DocuSign's body: flags as ``"true"``/``"false"``, ``connectId`` when known."""
        wire: dict[str, Any] = {}
        if self.connect_id is not None:
            wire["connectId"] = self.connect_id
        for attr, key, _ in _STR_FIELDS:
            wire[key] = getattr(self, attr)
        for attr, key, _ in _BOOL_FIELDS:
            wire[key] = wire_str_bool(getattr(self, attr))
        for attr, key in _LIST_FIELDS:
            wire[key] = list(getattr(self, attr))
        wire["eventData"] = self.event_data.to_wire()
        if self.oauth_configuration is not None:
            wire["oAuthConfiguration"] = self.oauth_configuration.to_wire()
        for attr, key in _OPTIONAL_STR_FIELDS:
            if getattr(self, attr) is not None:
                wire[key] = getattr(self, attr)
        for key, value in self.extra.items():
            wire.setdefault(key, value)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ConnectConfiguration:
        kwargs: dict[str, Any] = {}
        for attr, key, default in _STR_FIELDS:
            value = data.get(key)
            kwargs[attr] = default if value is None else str(value)
        for attr, key, flag_default in _BOOL_FIELDS:
            kwargs[attr] = wire_bool(data.get(key), default=flag_default)
        for attr, key in _LIST_FIELDS:
            kwargs[attr] = wire_tuple(data.get(key))
        for attr, key in _OPTIONAL_STR_FIELDS + _SERVER_ONLY_FIELDS:
            value = data.get(key)
            kwargs[attr] = None if value in (None, "") else str(value)
        kwargs["event_data"] = EventData.from_wire(data.get("eventData"))
        oauth = data.get("oAuthConfiguration")
        # An unset per-configuration OAuth block comes back empty rather than absent.
        if oauth and any(oauth.values()):
            kwargs["oauth_configuration"] = ConnectOAuthConfig.from_wire(oauth)
        kwargs["extra"] = {k: v for k, v in data.items() if k not in _KNOWN_WIRE_NAMES}
        return cls(**kwargs)

    def managed_fields(self) -> dict[str, Any]:
        """The normalised fields the portal manages, for drift detection.

        ``desired.managed_fields() == actual.managed_fields()`` means in sync. Server-assigned
        fields (``connect_id``, ``disabled_by``), unknown wire fields (``extra``) and write-only
        secrets (``password``, the OAuth ``client_secret``) are left out; list order is ignored.
        """
        managed: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name in _UNMANAGED:
                continue
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = sorted(value)
            elif isinstance(value, EventData):
                value = {
                    "version": value.version,
                    "format": value.format,
                    "include_data": sorted(value.include_data),
                }
            elif isinstance(value, ConnectOAuthConfig):
                value = value.managed_fields()
            managed[name] = value
        return managed

    def drift(self, actual: ConnectConfiguration) -> dict[str, tuple[Any, Any]]:
        """``{field: (desired, actual)}`` for every managed field that differs."""
        mine, theirs = self.managed_fields(), actual.managed_fields()
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}


@dataclass(frozen=True)
class ConnectLogEntry:
    """One entry of ``/connect/logs`` or ``/connect/failures`` (``ConnectLog``); ``raw`` has all."""

    log_id: str | None
    failure_id: str | None
    connect_id: str | None
    envelope_id: str | None
    status: str | None
    error: str | None
    created: str | None
    last_try: str | None
    retry_count: int | None
    config_url: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ConnectLogEntry:
        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value in (None, "") else str(value)

        retry_count = text("retryCount")
        return cls(
            log_id=text("logId"),
            failure_id=text("failureId"),
            connect_id=text("connectId"),
            envelope_id=text("envelopeId"),
            status=text("status"),
            error=text("error"),
            created=text("created"),
            last_try=text("lastTry"),
            retry_count=int(retry_count) if retry_count and retry_count.isdigit() else None,
            config_url=text("configUrl"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class RetryQueueEntry:
    """One member of ``retryQueue`` in a ``retry_queue`` answer (``ConnectFailureResult``).

    DocuSign documents no status values; the emulator answers ``Success``, ``Failed`` or
    ``Queued``, and ``ok`` treats anything but a failure as accepted.
    """

    envelope_id: str
    config_id: str | None
    config_url: str | None
    status: str
    status_message: str

    @property
    def ok(self) -> bool:
        return self.status.lower() not in ("failed", "failure", "error")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RetryQueueEntry:
        return cls(
            envelope_id=str(data.get("envelopeId") or ""),
            config_id=str(data["configId"]) if data.get("configId") else None,
            config_url=str(data["configUrl"]) if data.get("configUrl") else None,
            status=str(data.get("status") or ""),
            status_message=str(data.get("statusMessage") or ""),
        )

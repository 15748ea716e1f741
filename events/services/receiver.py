"""The Connect receiver: authenticate a raw message, route it to its tenant, store it once.

Order matters: the body is bounded and parsed with a depth limit before anything else, the tenant
comes from the signed body (the `X-DocuSign-AccountId` header must agree), and the credentials are
checked against that tenant's integration, read afresh for every message, before a row is written.
The row is taken through the unique constraint `connect_event_once`, and the caller answers 200
only once `connect_event_receive` has returned, that is after the row is committed; its
processing is handed to Celery once the commit has happened.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import FilteredRelation, Q, UniqueConstraint
from django.utils import timezone

from connect.selectors.templates import connect_template_basic_verify
from events.errors import EventRejected
from events.models import ConnectEvent, ListenerSettings
from events.services.listener import listener_basic_verify, listener_bearer_verify
from events.services.processing import connect_event_processing_enqueue
from tenants.models import TenantAccount

MAX_JSON_DEPTH = 32
MAX_SIGNATURE_HEADERS = 100
_SIGNATURE_META = re.compile(r"^HTTP_X_DOCUSIGN_SIGNATURE_(\d{1,3})$")
_DATETIME_7 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?$")


@dataclass(frozen=True)
class Received:
    event_id: int | None  # None for a duplicate
    tenant_id: int
    duplicate: bool


@dataclass
class _Route:
    """Where an account's events go and what authenticates them, as the database says now."""

    tenant_id: int
    integration_id: int
    keys: list[tuple[int, bytes]]  # (key id, secret) of every active HMAC key
    _listener: ListenerSettings | None = None
    _listener_read: bool = False

    @property
    def listener(self) -> ListenerSettings | None:
        # Read only when a message needs it (no signature, or an Authorization header).
        if not self._listener_read:
            self._listener = ListenerSettings.objects.filter(
                integration_id=self.integration_id
            ).first()
            self._listener_read = True
        return self._listener


def connect_event_receive(*, body: bytes, meta: Mapping[str, str]) -> Received:
    """Verify and store one Connect message. Raises EventRejected (400/401/413) for bad input;
    database errors propagate (the caller answers 503 so DocuSign retries)."""
    if len(body) > settings.CONNECT_EVENT_MAX_BYTES:
        raise EventRejected("The message is larger than this listener accepts.", status=413)
    payload = _parse(body)
    account_id = _account_id(payload, meta)
    route = _route(account_id)
    if route is None:
        raise EventRejected(f"Account {account_id} is not linked to any tenant.", status=400)
    auth_method = _authenticate(body=body, meta=meta, route=route)
    event = ConnectEvent(
        tenant_id=route.tenant_id,
        payload=payload,
        body_bytes=len(body),
        auth_method=auth_method,
        received_at=timezone.now(),
        **_identity(payload, account_id),
    )
    event_id = _store_once(event)
    return Received(event_id=event_id, tenant_id=route.tenant_id, duplicate=event_id is None)


def _route(account_id: str) -> _Route | None:
    """The account's tenant and its integration's active keys, in one query (a row per active
    key, or one row without a key); None when the account is not linked to a tenant."""
    rows = list(
        TenantAccount.objects.filter(account_id=account_id)
        .annotate(
            active_key=FilteredRelation(
                "tenant__integration__connect_hmac_keys",
                condition=Q(tenant__integration__connect_hmac_keys__deactivated_at__isnull=True),
            )
        )
        .values_list("tenant_id", "tenant__integration_id", "active_key__pk", "active_key__secret")
    )
    if not rows:
        return None
    tenant_id, integration_id = rows[0][:2]
    keys = [(key_id, secret.encode("utf-8")) for _, _, key_id, secret in rows if key_id]
    return _Route(tenant_id=tenant_id, integration_id=integration_id, keys=keys)


def _store_once(event: ConnectEvent) -> int | None:
    """Insert the event and hand its processing to Celery once committed; None when the unique
    identity says it is stored already (a redelivery, or a concurrent duplicate)."""

    def processing_enqueue() -> None:
        connect_event_processing_enqueue(event.pk)

    try:
        # In autocommit the INSERT is its own transaction (one round trip); inside a caller's
        # transaction a savepoint keeps a duplicate from aborting it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            event.save(force_insert=True)
    except IntegrityError:
        if ConnectEvent.objects.filter(**_identity_lookup(event)).exists():
            return None
        raise  # not the identity (the tenant went away meanwhile): 503, DocuSign retries
    # After the commit (at once in autocommit). robust: a broker outage must not turn a stored
    # event into an error answer; the row stays unprocessed and connect_events_sweep enqueues it.
    transaction.on_commit(processing_enqueue, robust=True)
    return event.pk


def _identity_lookup(event: ConnectEvent) -> dict:
    (constraint,) = (
        c
        for c in ConnectEvent._meta.constraints
        if isinstance(c, UniqueConstraint) and c.name == "connect_event_once"
    )
    return {name: getattr(event, name) for name in constraint.fields}


# --- parsing ---------------------------------------------------------------------------------


def _parse(body: bytes) -> dict:
    if not body.strip():
        raise EventRejected("The message body is empty.", status=400)
    try:
        payload = _DECODER.decode(body.decode("utf-8"))
    except RecursionError:
        raise EventRejected("The JSON is nested too deeply.", status=400) from None
    except ValueError:
        raise EventRejected("The message body is not valid UTF-8 JSON.", status=400) from None
    if not isinstance(payload, dict):
        raise EventRejected("The message must be a JSON object.", status=400)
    # Nesting cannot exceed the number of opening brackets: most messages skip the walk.
    brackets = body.count(b"{") + body.count(b"[")
    if brackets > MAX_JSON_DEPTH and _depth_exceeds(payload, MAX_JSON_DEPTH):
        raise EventRejected(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.", status=400)
    # PostgreSQL's jsonb cannot hold U+0000; refused here rather than failing at the insert.
    if b"\\u0000" in body and _holds_nul(payload):
        raise EventRejected("The message contains a U+0000 character.", status=400)
    return payload


def _no_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser accepts them.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


# One decoder for every message (json.loads with options builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _holds_nul(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth_exceeds(value: object, limit: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _account_id(payload: dict, meta: Mapping[str, str]) -> str:
    data = payload.get("data")
    account_id = data.get("accountId") if isinstance(data, dict) else None
    if not isinstance(account_id, str) or not account_id or len(account_id) > 64:
        raise EventRejected("The message has no data.accountId.", status=400)
    header = meta.get("HTTP_X_DOCUSIGN_ACCOUNTID")
    # The header is unsigned, the body is signed: route by the body, refuse a disagreement.
    if header is not None and header.strip().lower() != account_id.lower():
        raise EventRejected(
            "X-DocuSign-AccountId does not match data.accountId in the message.", status=400
        )
    return account_id


def _identity(payload: dict, account_id: str) -> dict:
    data = payload["data"]
    event = payload.get("event")
    if not isinstance(event, str) or not event or len(event) > 64:
        raise EventRejected("The message has no event name.", status=400)
    configuration_id = payload.get("configurationId")
    if isinstance(configuration_id, bool) or not isinstance(configuration_id, int | str):
        raise EventRejected("The message has no configurationId.", status=400)
    configuration_id = str(configuration_id)
    if not configuration_id or len(configuration_id) > 32:
        raise EventRejected("The message has no configurationId.", status=400)
    generated = payload.get("generatedDateTime")
    match = _DATETIME_7.match(generated) if isinstance(generated, str) else None
    if match is None:
        raise EventRejected("The message has no valid generatedDateTime.", status=400)
    retry_count = payload.get("retryCount", 0)
    if isinstance(retry_count, str) and retry_count.isdigit():
        retry_count = int(retry_count)
    if isinstance(retry_count, bool) or not isinstance(retry_count, int) or retry_count < 0:
        raise EventRejected("retryCount must be a non-negative integer.", status=400)
    envelope_id = data.get("envelopeId") or ""
    recipient_id = data.get("recipientId") or ""
    if not isinstance(envelope_id, str) or len(envelope_id) > 64:
        raise EventRejected("data.envelopeId is malformed.", status=400)
    if not isinstance(recipient_id, str | int) or len(str(recipient_id)) > 64:
        raise EventRejected("data.recipientId is malformed.", status=400)
    return {
        "account_id": account_id,
        "configuration_id": configuration_id,
        "event": event,
        "envelope_id": envelope_id,
        "recipient_id": str(recipient_id),
        "generated_date_time": generated,
        "generated_at": _generated_at(match),
        "retry_count": min(retry_count, 2**31 - 1),
    }


def _generated_at(match: re.Match) -> datetime | None:
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = match.group(3) or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.fromisoformat(f"{match.group(1)}.{fraction}{zone}")
    except ValueError:
        return None


# --- authentication --------------------------------------------------------------------------


def _authenticate(*, body: bytes, meta: Mapping[str, str], route: _Route) -> str:
    """Every credential presented must verify and at least one must; with `require_hmac` a valid
    signature is required whatever else is presented. Returns the strongest method that passed."""
    signatures = _signatures(meta)
    hmac_ok = False
    if signatures:
        keys = route.keys
        if not keys:
            raise EventRejected(
                "No active Connect HMAC key is stored for this integration.", status=401
            )
        hmac_ok = bool(_hmac_matching_key_ids(body, signatures, keys))
        if not hmac_ok:
            raise EventRejected(
                "No X-DocuSign-Signature header matches an active HMAC key.", status=401
            )
    elif route.listener is None or route.listener.require_hmac:
        raise EventRejected("An X-DocuSign-Signature header is required.", status=401)

    authorization = meta.get("HTTP_AUTHORIZATION", "")
    header_method = None
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            listener = route.listener
            if listener is None or not listener_bearer_verify(listener=listener, token=credentials):
                raise EventRejected("The Bearer token is not valid.", status=401)
            header_method = ConnectEvent.AuthMethod.BEARER
        elif scheme == "basic" and credentials:
            username, password = _basic_credentials(credentials)
            listener = route.listener
            listener_ok = listener is not None and listener_basic_verify(
                listener=listener, username=username, password=password
            )
            # Or the credentials a Connect template pushes with its configuration.
            if not listener_ok and not connect_template_basic_verify(
                integration_id=route.integration_id, username=username, password=password
            ):
                raise EventRejected("The Basic credentials are not valid.", status=401)
            header_method = ConnectEvent.AuthMethod.BASIC
        else:
            raise EventRejected("The Authorization header is not Bearer or Basic.", status=401)
    if hmac_ok:
        return ConnectEvent.AuthMethod.HMAC
    if header_method is None:
        raise EventRejected("The message carries no credentials.", status=401)
    return header_method


def _signatures(meta: Mapping[str, str]) -> list[bytes]:
    found = []
    for name, value in meta.items():
        if name.startswith("HTTP_X_DOCUSIGN_SIGNATURE_") and _SIGNATURE_META.match(name):
            found.append(value.strip().encode("ascii", "replace"))
            if len(found) >= MAX_SIGNATURE_HEADERS:
                break
    return found


def _hmac_matching_key_ids(
    body: bytes, signatures: list[bytes], keys: list[tuple[int, bytes]]
) -> list[int]:
    """The ids of the keys whose base64(HMAC-SHA256(key, raw body)) (API.md 3.1) equals one of
    the signatures, compared in constant time."""
    matching = []
    for key_id, key in keys:
        digest = base64.b64encode(hmac.digest(key, body, hashlib.sha256))
        matched = False
        for signature in signatures:
            # No early exit: every pair is compared.
            matched |= hmac.compare_digest(signature, digest)
        if matched:
            matching.append(key_id)
    return matching


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise EventRejected("The Basic credentials are not valid.", status=401) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise EventRejected("The Basic credentials are not valid.", status=401)
    return username, password

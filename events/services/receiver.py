"""The Connect receiver: authenticate a raw message, route it to its tenant, store it once.

Order matters: the body is bounded and parsed with a depth limit before anything else, the tenant
comes from the signed body (the `X-DocuSign-AccountId` header must agree), and the credentials are
checked against that tenant's integration before a row is written. The caller answers 200 only
once `connect_event_receive` has returned, that is after the row is committed.

Two paths, one outcome. The usual delivery (HMAC-signed, on PostgreSQL) is checked against the
route this process remembers for the account and stored through `group_insert`, whose INSERT
only takes the row if that route still holds (same tenant, key still active): no read before the
write, and one statement for every event that arrives together. Anything else (no remembered
route, a signature the remembered keys don't verify, Bearer or Basic credentials, a row the
INSERT did not take) reads the route afresh and decides on that, so a key added, deactivated or
an account moved applies to the very next event either way.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from events.errors import EventRejected
from events.models import ConnectEvent, ListenerSettings, PartnerHmacKey
from events.services.group_insert import (
    event_insert_if_still_routed,
    event_row,
    insert_fields,
    savepoint_if_in_transaction,
)
from events.services.handoff import event_processing_enqueue
from events.services.listener import listener_basic_verify, listener_bearer_verify
from tenants.models import Tenant, TenantAccount

MAX_JSON_DEPTH = 32
MAX_SIGNATURE_HEADERS = 100
_SIGNATURE_META = re.compile(r"^HTTP_X_DOCUSIGN_SIGNATURE_(\d{1,3})$")
_DATETIME_7 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?$")

# Remembered routes are only a first guess (group_insert re-checks them in its INSERT); the age
# limit bounds how long a decrypted key of a changed route stays in this process's memory.
ROUTE_MEMORY_S = 300.0
ROUTE_MEMORY_MAX_ACCOUNTS = 10_000


@dataclass(frozen=True)
class Received:
    event_id: int | None  # None for a duplicate
    tenant_id: int
    duplicate: bool


def connect_event_receive(*, body: bytes, meta: Mapping[str, str]) -> Received:
    """Verify and store one Connect message. Raises EventRejected (400/401/413) for bad input;
    database errors propagate (the caller answers 503 so DocuSign retries)."""
    if len(body) > settings.CONNECT_EVENT_MAX_BYTES:
        raise EventRejected("The message is larger than this listener accepts.", status=413)
    payload = _parse(body)
    account_id = _account_id(payload, meta)
    received = _receive_by_remembered_route(
        body=body, payload=payload, account_id=account_id, meta=meta
    )
    if received is not None:
        return received
    # The route afresh: tenant, listener settings and active keys in one query.
    route = _route(account_id)
    if route is None:
        raise EventRejected(f"Account {account_id} is not linked to any tenant.", status=400)
    auth_method = _authenticate(body=body, meta=meta, route=route)
    values = _event_values(
        body=body, payload=payload, account_id=account_id, route=route, auth_method=auth_method
    )
    return _stored(_insert_once(values), route)


def _receive_by_remembered_route(
    *, body: bytes, payload: dict, account_id: str, meta: Mapping[str, str]
) -> Received | None:
    """The usual delivery, stored without reading the route first; None when the fresh path
    must decide (see the module docstring)."""
    if not _on_postgresql() or meta.get("HTTP_AUTHORIZATION"):
        return None
    route = _route_remembered(account_id)
    signatures = _signatures(meta)
    if route is None or not signatures:
        return None
    key_ids = _hmac_matching_key_ids(body, signatures, route["keys"])
    if not key_ids:
        return None
    values = _event_values(
        body=body,
        payload=payload,
        account_id=account_id,
        route=route,
        auth_method=ConnectEvent.AuthMethod.HMAC,
    )
    event_id = event_insert_if_still_routed(event_row(values, key_id=key_ids[0]))
    if event_id is None:
        return None  # a duplicate, or the route changed: the fresh path tells which
    return _stored(event_id, route)


def _event_values(
    *, body: bytes, payload: dict, account_id: str, route: dict, auth_method: str
) -> dict:
    """The new row's values by attribute name (fields left out take their model default)."""
    return {
        "tenant_id": route["tenant_id"],
        "payload": payload,
        "body_bytes": len(body),
        "auth_method": str(auth_method),
        "received_at": timezone.now(),
        **_identity(payload, account_id),
    }


def _stored(event_id: int | None, route: dict) -> Received:
    if event_id is None:
        # The unique identity: a redelivery or a concurrent duplicate already stored this event.
        return Received(event_id=None, tenant_id=route["tenant_id"], duplicate=True)
    db = connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block:
        db.on_commit(partial(_processing_enqueue, event_id))  # once the caller's commits
    else:
        # Committed already (autocommit). Not transaction.on_commit: it would ask this thread's
        # own connection whether it is in autocommit, and so open it, while the usual delivery
        # never needs that connection (group_insert writes through its own): each web thread
        # would hold an idle PostgreSQL backend and tidy it after every request.
        _processing_enqueue(event_id)
    return Received(event_id=event_id, tenant_id=route["tenant_id"], duplicate=False)


# --- the route: one query ------------------------------------------------------------------

# The listener settings' columns the receiver needs, in query order.
_LISTENER_FIELDS = (
    "integration_id",
    "require_hmac",
    "basic_username",
    "basic_password",
    "oauth_enabled",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_signing_secret",
)


@cache
def _route_sql() -> str:
    """Tenant, integration, listener settings and active HMAC keys of an account in ONE query
    (one row per active key, or one row with a NULL key)."""
    account, tenant = TenantAccount._meta, Tenant._meta
    listener, key = ListenerSettings._meta, PartnerHmacKey._meta
    q = connection.ops.quote_name

    def col(meta, name):
        return q(meta.get_field(name).column)

    listener_cols = ", ".join(f"ls.{col(listener, name)}" for name in _LISTENER_FIELDS)
    # Identifiers come from model metadata, quoted; the account id is a parameter.
    return (
        f"SELECT ta.{col(account, 'tenant')}, t.{col(tenant, 'integration')}, {listener_cols}, "  # noqa: S608
        f"k.{col(key, 'secret')}, k.{q(key.pk.column)} "
        f"FROM {q(account.db_table)} ta "
        f"JOIN {q(tenant.db_table)} t ON t.{q(tenant.pk.column)} = ta.{col(account, 'tenant')} "
        f"LEFT JOIN {q(listener.db_table)} ls "
        f"ON ls.{col(listener, 'integration')} = t.{col(tenant, 'integration')} "
        f"LEFT JOIN {q(key.db_table)} k ON k.{col(key, 'integration')} = "
        f"t.{col(tenant, 'integration')} AND k.{col(key, 'deactivated_at')} IS NULL "
        f"WHERE ta.{col(account, 'account_id')} = %s"
    )


_remembered_routes: dict[str, tuple[float, dict]] = {}


@cache
def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def routes_forget() -> None:
    """Forget every remembered route (each is read afresh on its next delivery)."""
    _remembered_routes.clear()


def _route_remembered(account_id: str) -> dict | None:
    entry = _remembered_routes.get(account_id)
    if entry is None or time.monotonic() - entry[0] > ROUTE_MEMORY_S:
        return None
    return entry[1]


def _route(account_id: str) -> dict | None:
    """The account's route read afresh (and remembered); None when it is not linked to a
    tenant."""
    route = _route_read(account_id)
    if route is None:
        _remembered_routes.pop(account_id, None)
    else:
        if len(_remembered_routes) >= ROUTE_MEMORY_MAX_ACCOUNTS:
            _remembered_routes.clear()
        _remembered_routes[account_id] = (time.monotonic(), route)
    return route


def _route_read(account_id: str) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(_route_sql(), [account_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    listener = None
    if first[2] is not None:
        values = dict(zip(_LISTENER_FIELDS, first[2:10], strict=True))
        for name in ("basic_password", "oauth_client_secret", "oauth_signing_secret"):
            values[name] = _decrypt(values[name])
        values["require_hmac"] = bool(values["require_hmac"])
        values["oauth_enabled"] = bool(values["oauth_enabled"])
        listener = ListenerSettings(**values)
    # (key id, secret) of every active key.
    keys = [(row[11], _decrypt(row[10]).encode("utf-8")) for row in rows if row[10]]
    return {"tenant_id": first[0], "integration_id": first[1], "listener": listener, "keys": keys}


def _decrypt(value):
    return PartnerHmacKey._meta.get_field("secret").from_db_value(value, None, connection)


def _insert_once(values: dict) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: one round trip, no exception and no
    savepoint for a duplicate (PostgreSQL, and SQLite >= 3.35). None when it was a duplicate."""
    meta = ConnectEvent._meta
    event = ConnectEvent(**values)
    fields = insert_fields()
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    quote = connection.ops.quote_name
    # Identifiers come from model metadata, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    with savepoint_if_in_transaction(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _processing_enqueue(event_id: int) -> None:
    """After commit: the row is safe; its processing goes to Celery in the next short batch
    (events/services/handoff.py explains why not one task per event)."""
    event_processing_enqueue(event_id=event_id)


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


def _no_constant(name: str):
    # NaN and Infinity are not JSON (RFC 8259), though Python's parser accepts them.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


# One decoder for every message (json.loads with options builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _holds_nul(value) -> bool:
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


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
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


def _authenticate(*, body: bytes, meta: Mapping[str, str], route: dict) -> str:
    """Every credential presented must verify and at least one must; with `require_hmac` a valid
    signature is required whatever else is presented. Returns the strongest method that passed."""
    listener = route["listener"]
    require_hmac = listener.require_hmac if listener is not None else True
    signatures = _signatures(meta)
    hmac_ok = False
    if signatures:
        keys = route["keys"]
        if not keys:
            raise EventRejected(
                "No active Connect HMAC key is stored for this integration.", status=401
            )
        hmac_ok = bool(_hmac_matching_key_ids(body, signatures, keys))
        if not hmac_ok:
            raise EventRejected(
                "No X-DocuSign-Signature header matches an active HMAC key.", status=401
            )
    elif require_hmac:
        raise EventRejected("An X-DocuSign-Signature header is required.", status=401)

    authorization = meta.get("HTTP_AUTHORIZATION", "")
    header_method = None
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            if listener is None or not listener_bearer_verify(listener=listener, token=credentials):
                raise EventRejected("The Bearer token is not valid.", status=401)
            header_method = ConnectEvent.AuthMethod.BEARER
        elif scheme == "basic" and credentials:
            username, password = _basic_credentials(credentials)
            if listener is None or not listener_basic_verify(
                listener=listener, username=username, password=password
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

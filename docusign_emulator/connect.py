"""eSignature REST v2.1 Connect handlers under `{base_uri}/restapi/v2.1/accounts/{accountId}`.

Wire rules (API.md 2.1): every scalar is a string (`"true"`, numeric-string `connectId`,
`totalRecords` as a string); JSON booleans are accepted on input and returned as strings; key order
follows the recorded demo responses.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

from docusign_emulator import envelope_api
from docusign_emulator import errors as e
from docusign_emulator.envelopes import failures_prune
from docusign_emulator.state import ConnectConfig, Failure, LogEntry, Store, Token
from docusign_emulator.wire import Request, Response, json_response

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

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
ID_RE = re.compile(r"^/(?P<id>[^/]+)$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# fromisoformat (3.11) also takes compact and week forms; DocuSign's clients send the extended
# form (`isoformat()`, `...Z`, `...+00:00`, with or without fractions), so only that is accepted.
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
NO_WINDOW: tuple[float | None, float | None, bool] = (None, None, False)


def route_key(rest: str) -> str:
    """Counter key for a REST path below the account: drops shard and account id."""
    if rest in ("", "/"):
        return "/restapi/connect" if rest else "/restapi"
    if rest.startswith("/envelopes"):
        return "/restapi/envelopes" + ("/{id}" if rest.strip("/").count("/") else "")
    if not rest.startswith("/connect"):
        return "/restapi" + rest
    tail = rest[len("/connect") :]
    if tail in ("", "/"):
        return "/restapi/connect"
    first, _, more = tail[1:].partition("/")
    if first == "envelopes":
        single = more.strip("/") != "retry_queue"
        return "/restapi/connect/envelopes" + ("/{id}" if single else "") + "/retry_queue"
    if first in ("oauth", "failures", "logs"):
        return f"/restapi/connect/{first}" + ("/{id}" if more else "")
    return "/restapi/connect/{id}" + (f"/{more}" if more else "")


def bad(message: str) -> e.RestError:
    return e.RestError(400, e.INVALID_REQUEST_PARAMETER, message)


# --- authentication and rate limits --------------------------------------------------------


def _window(store: Store, account_id: str) -> dict[str, float]:
    now = store.now()
    cfg = store.config
    hour_start = now - (now % 3600)  # the clock hour (API.md 4)
    burst_len = float(cfg["burst_window_s"])
    burst_start = now - (now % burst_len)
    win = store.rate.setdefault(
        account_id,
        {"hour_start": hour_start, "hour_used": 0, "burst_start": burst_start, "burst_used": 0},
    )
    if win["hour_start"] != hour_start:
        win["hour_start"], win["hour_used"] = hour_start, 0
    if win["burst_start"] != burst_start:
        win["burst_start"], win["burst_used"] = burst_start, 0
    return win


def rate_headers(store: Store, account_id: str) -> list[tuple[str, str]]:
    win = _window(store, account_id)
    hourly, burst = int(store.config["hourly_limit"]), int(store.config["burst_limit"])
    return [
        ("X-RateLimit-Limit", str(hourly)),
        ("X-RateLimit-Remaining", str(max(0, hourly - int(win["hour_used"])))),
        ("X-RateLimit-Reset", str(int(win["hour_start"] + 3600))),
        ("X-BurstLimit-Limit", str(burst)),
        ("X-BurstLimit-Remaining", str(max(0, burst - int(win["burst_used"])))),
    ]


def set_remaining(store: Store, account_id: str, hourly: int | None, burst: int | None) -> None:
    win = _window(store, account_id)
    if hourly is not None:
        win["hour_used"] = max(0, int(store.config["hourly_limit"]) - hourly)
    if burst is not None:
        win["burst_used"] = max(0, int(store.config["burst_limit"]) - burst)


def _limit_error(store: Store, pair: tuple[str, str], resets_at: float) -> e.RestError:
    err = e.rest(int(store.config["rate_limit_status"]), pair)
    if store.config.get("send_retry_after"):
        # Not documented by DocuSign (API.md 4), hence off by default: whole seconds until the
        # exceeded window resets, at least 1.
        err.headers.append(("Retry-After", str(max(1, math.ceil(resets_at - store.now())))))
    return err


def _consume(store: Store, account_id: str) -> None:
    win = _window(store, account_id)
    if win["hour_used"] >= int(store.config["hourly_limit"]):
        raise _limit_error(store, e.HOURLY_LIMIT, win["hour_start"] + 3600)
    if win["burst_used"] >= int(store.config["burst_limit"]):
        resets_at = win["burst_start"] + float(store.config["burst_window_s"])
        raise _limit_error(store, e.BURST_LIMIT, resets_at)
    win["hour_used"] += 1
    win["burst_used"] += 1


def _authenticate(
    store: Store, req: Request, shard: str, account_id: str, *, connect_call: bool = True
) -> Token:
    """The caller's token, after the rate limits; Connect calls also need an account
    administrator and Connect enabled (API.md 2), envelope calls only a member."""
    if not (req.header("Authorization") or "").strip():
        raise e.rest(401, e.USER_AUTH_FAILED)
    token = store.live_token(req.bearer() or "", "access")
    if token is None:
        raise e.rest(401, e.INVALID_TOKEN)
    user = store.users.get(token.user_id)
    account = store.accounts.get(account_id)
    if user is None or account is None or account.shard != shard:
        raise e.rest(400, e.NOT_MEMBER)
    membership = user.membership(account_id)
    if membership is None:
        raise e.rest(400, e.NOT_MEMBER)
    _consume(store, account_id)
    if not connect_call:
        return token
    if not membership.is_admin:
        raise e.rest(403, e.LACKS_PERMISSIONS)
    if not account.connect_enabled:
        raise e.rest(400, e.CONNECT_NOT_ENABLED)
    return token


def dispatch(app: Emulator, req: Request, shard: str, account_id: str, rest: str) -> Response:
    store = app.store
    try:
        if envelope_api.handles(rest):
            with store.lock:
                token = _authenticate(
                    store, req, shard, account_id, connect_call=rest.startswith("/connect")
                )
            # These handlers deliver Connect messages, so they take the lock themselves.
            response = envelope_api.dispatch(app, req, account_id, rest, token)
            with store.lock:
                response.headers.extend(rate_headers(store, account_id))
            return response
        with store.lock:
            token = _authenticate(store, req, shard, account_id)
        if (
            rest.rstrip("/") == "/connect/oauth"
            and req.method in ("POST", "PUT")
            and store.config.get("connect_oauth_validate_on_save")
        ):
            # API.md 2.3: DocuSign asks the listener's IdP for a token when the config is saved.
            # Network I/O, so outside the lock.
            error = app.publisher.check_oauth(coerce_oauth(_body(req), require=True))
            if error:
                raise bad(f"Unable to obtain a token from authorizationServerUrl: {error}")
        with store.lock:
            response = _route(app, req, account_id, rest, token)
    except e.RestError as err:
        response = json_response(err.status, err.body(), err.headers)
    with store.lock:
        response.headers.extend(rate_headers(store, account_id))
    return response


def _route(app: Emulator, req: Request, account_id: str, rest: str, token: Token) -> Response:
    store = app.store
    method = req.method
    if not rest.startswith("/connect"):
        raise e.rest(404, e.RESOURCE_NOT_FOUND)
    tail = rest[len("/connect") :].rstrip("/")
    if tail == "":
        if method == "GET":
            return list_configs(store, account_id)
        if method == "POST":
            return create_config(store, req, account_id, token)
        if method == "PUT":
            return update_config(store, req, account_id)
    elif tail == "/oauth":
        return oauth_config(app, req, account_id)
    elif tail == "/failures":
        if method == "GET":
            return list_failures(store, account_id, date_window(req))
    elif tail.startswith("/failures/"):
        if method == "DELETE":
            return delete_failure(store, account_id, tail[len("/failures/") :])
    elif tail == "/logs":
        if method == "GET":
            return list_logs(store, account_id, date_window(req))
        if method == "DELETE":
            for log_id in [k for k, v in store.logs.items() if v.account_id == account_id]:
                del store.logs[log_id]
            return _empty()
    elif tail.startswith("/logs/"):
        return log_entry(store, req, account_id, tail[len("/logs/") :])
    elif (match := ID_RE.match(tail)) is not None:
        if method == "GET":
            config = _find(store, account_id, match["id"])
            return json_response(200, {"configurations": [config.wire], "totalRecords": "1"})
        if method == "DELETE":
            config = _find(store, account_id, match["id"])
            del store.connect[config.connect_id]
            for fid in [k for k, f in store.failures.items() if f.connect_id == config.connect_id]:
                del store.failures[fid]
            store.touch()
            return _empty()
    raise e.rest(404, e.RESOURCE_NOT_FOUND)


def _empty() -> Response:
    # API.md 2: DELETE answers 200 with an empty octet-stream body.
    return Response(status=200, body=b"", content_type="application/octet-stream")


def _find(store: Store, account_id: str, connect_id: str) -> ConnectConfig:
    config = store.connect.get(connect_id)
    if config is None or config.account_id != account_id:
        raise e.rest(e.CONNECT_NOT_FOUND_STATUS, e.CONNECT_NOT_FOUND)
    return config


# --- configurations -----------------------------------------------------------------------


def _body(req: Request) -> dict:
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise e.rest(400, e.INVALID_REQUEST_BODY) from exc
    if not isinstance(data, dict):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    return data


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


def list_configs(store: Store, account_id: str) -> Response:
    configs = [c.wire for c in store.connect.values() if c.account_id == account_id]
    configs.sort(key=lambda w: int(w["connectId"]))
    return json_response(200, {"configurations": configs, "totalRecords": str(len(configs))})


def create_config(store: Store, req: Request, account_id: str, token: Token) -> Response:
    fields = coerce_fields(_body(req), reject_unknown=bool(store.config["reject_unknown_fields"]))
    for name in READ_ONLY:
        fields.pop(name, None)
    # API.md 7: a recorded create without configurationType was accepted and answered "custom".
    fields.setdefault("configurationType", "custom")
    wire = build_wire(fields, "0")
    validate(wire)
    wire["connectId"] = store.allocate_connect_id()
    # The token names the integration key; integratorManaged signing uses its owner's keys.
    store.connect[wire["connectId"]] = ConnectConfig(
        account_id=account_id, wire=wire, client_id=token.client_id, user_id=token.user_id
    )
    store.touch()
    # API.md 2: the spec says 201, a recorded demo call answered 200.
    return json_response(int(store.config["connect_create_status"]), wire)


def update_config(store: Store, req: Request, account_id: str) -> Response:
    data = _body(req)
    connect_id = data.get("connectId")
    if connect_id in (None, ""):
        raise bad("connectId is required in the body of PUT /connect.")
    config = _find(store, account_id, str(connect_id))
    fields = coerce_fields(data, reject_unknown=bool(store.config["reject_unknown_fields"]))
    for name in READ_ONLY:
        fields.pop(name, None)
    if store.config["connect_put_mode"] == "replace":
        merged = {"configurationType": "custom", **fields}
        if "disabledBy" in config.wire:
            merged["disabledBy"] = config.wire["disabledBy"]
    else:
        merged = {**config.wire, **fields}
    wire = build_wire(merged, config.connect_id)
    validate(wire)
    config.wire = wire
    store.touch()
    return json_response(200, wire)


# --- OAuth for Connect ----------------------------------------------------------------------


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


def oauth_config(app: Emulator, req: Request, account_id: str) -> Response:
    store = app.store
    account = store.accounts[account_id]
    if req.method == "GET":
        if account.connect_oauth is None:
            raise e.rest(404, e.CONNECT_OAUTH_NOT_FOUND)
        return json_response(200, account.connect_oauth)
    if req.method == "DELETE":
        account.connect_oauth = None
        store.touch()
        return _empty()
    if req.method in ("POST", "PUT"):
        config = coerce_oauth(_body(req), require=True)
        account.connect_oauth = config
        store.touch()
        return json_response(200 if req.method == "PUT" else 201, config)
    raise e.rest(404, e.RESOURCE_NOT_FOUND)


# --- failures and logs ---------------------------------------------------------------------


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"


def _parse_date(name: str, raw: str, *, end: bool) -> float:
    """An ISO 8601 date or datetime as epoch seconds (naive means UTC, as DocuSign documents).

    A bare date as `to_date` covers that whole day: the documented default for `to_date` is
    "the current date", which must not hide today's entries.
    """
    text = raw.strip()
    try:
        if _DATE_ONLY.match(text):
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()
        if not _DATETIME.match(text):
            raise ValueError(text)
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError as exc:
        raise bad(f"Invalid value for {name}: {raw!r} is not an ISO 8601 date.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def date_window(req: Request) -> tuple[float | None, float | None, bool]:
    """`from_date`/`to_date` as (start, end, end_exclusive); None where the parameter is absent.

    API.md 2 and DocuSign's reference: from_date keeps entries "created on or after", to_date
    those "created up to this date/time". Repeated or empty parameters are rejected.
    """
    bounds: dict[str, float | None] = {"from_date": None, "to_date": None}
    exclusive = False
    seen: set[str] = set()
    for name, value in req.query:
        if name not in bounds:
            continue
        if name in seen:
            raise bad(f"Invalid value for {name}: the parameter is repeated.")
        seen.add(name)
        if not value.strip():
            raise bad(f"Invalid value for {name}: the parameter is empty.")
        bounds[name] = _parse_date(name, value, end=name == "to_date")
        if name == "to_date":
            exclusive = bool(_DATE_ONLY.match(value.strip()))
    return bounds["from_date"], bounds["to_date"], exclusive


def _in_window(created: float, window: tuple[float | None, float | None, bool]) -> bool:
    start, end, end_exclusive = window
    if start is not None and created < start:
        return False
    if end is None:
        return True
    return created < end if end_exclusive else created <= end


def list_failures(
    store: Store, account_id: str, window: tuple[float | None, float | None, bool] = NO_WINDOW
) -> Response:
    failures_prune(store, account_id)
    rows = [
        f
        for f in store.failures.values()
        if f.account_id == account_id and _in_window(f.created, window)
    ]
    rows.sort(key=lambda f: f.created)
    max_retries = int(store.config["connect_max_retries"])
    failures = [
        {
            "accountId": f.account_id,
            "configUrl": f.url,
            "connectId": f.connect_id,
            "created": iso(f.created),
            "envelopeId": f.envelope_id,
            "error": f.error,
            "failureId": f.failure_id,
            "failureUri": f"/connect/failures/{f.failure_id}",
            "retryCount": str(f.retry_count),
            "retryUri": f"/connect/envelopes/{f.envelope_id}/retry_queue",
            "status": _failure_status(store, f, max_retries),
            "lastTry": iso(f.last_try or f.created),
        }
        for f in rows
    ]
    return json_response(200, {"failures": failures, "totalRecords": str(len(failures))})


def _failure_status(store: Store, failure: Failure, max_retries: int) -> str:
    if store.config["failure_status_field"] == "retry_state":
        return "Pending" if failure.retry_count < max_retries else "Failed"
    return failure.status


def delete_failure(store: Store, account_id: str, failure_id: str) -> Response:
    failure = store.failures.get(failure_id)
    if failure is None or failure.account_id != account_id:
        raise bad("Invalid failure id.")
    del store.failures[failure_id]
    store.touch()
    return json_response(200, {"failureId": failure_id, "status": "success", "errorDetails": None})


def _log_json(entry: LogEntry, *, full: bool = False) -> dict:
    out: dict[str, object] = {
        "accountId": entry.account_id,
        "configUrl": entry.url,
        "connectId": entry.connect_id,
        "created": iso(entry.created),
        "envelopeId": entry.envelope_id,
        "error": entry.error,
        "logId": entry.log_id,
        "logUri": f"/connect/logs/{entry.log_id}",
        "status": entry.status,
    }
    if full:
        out["connectDebugLog"] = [
            {
                "eventDateTime": iso(entry.created),
                "eventDescription": entry.status,
                "payload": entry.payload,
            }
        ]
    return out


def list_logs(
    store: Store, account_id: str, window: tuple[float | None, float | None, bool] = NO_WINDOW
) -> Response:
    rows = sorted(
        (
            entry
            for entry in store.logs.values()
            if entry.account_id == account_id and _in_window(entry.created, window)
        ),
        key=lambda entry: entry.created,
    )
    logs = [_log_json(entry) for entry in rows]
    return json_response(200, {"logs": logs, "totalRecords": str(len(logs))})


def log_entry(store: Store, req: Request, account_id: str, log_id: str) -> Response:
    entry = store.logs.get(log_id)
    if entry is None or entry.account_id != account_id:
        raise bad("Invalid log id.")
    if req.method == "GET":
        return json_response(200, _log_json(entry, full=True))
    if req.method == "DELETE":
        del store.logs[log_id]
        store.touch()
        return _empty()
    raise e.rest(404, e.RESOURCE_NOT_FOUND)

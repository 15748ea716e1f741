"""eSignature REST v2.1 Connect handlers under `{base_uri}/restapi/v2.1/accounts/{accountId}`.

Wire rules (API.md 2.1): every scalar is a string (`"true"`, numeric-string `connectId`,
`totalRecords` as a string); JSON booleans are accepted on input and returned as strings; key order
follows the recorded demo responses (connect_wire). Failures and logs are in connect_logs, who may
call and how often in access.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from docusign_emulator import connect_logs, envelope_api
from docusign_emulator import errors as e
from docusign_emulator.access import authenticate, rate_headers
from docusign_emulator.connect_wire import (
    READ_ONLY,
    build_wire,
    coerce_fields,
    coerce_oauth,
    validate,
)
from docusign_emulator.models import ConnectConfig, Token
from docusign_emulator.rest import bad, date_window, empty, json_body
from docusign_emulator.state import Store
from docusign_emulator.wire import Request, Response, json_response

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

ID_RE = re.compile(r"^/(?P<id>[^/]+)$")


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


def dispatch(app: Emulator, req: Request, shard: str, account_id: str, rest: str) -> Response:
    store = app.store
    try:
        if envelope_api.handles(rest):
            with store.lock:
                token = authenticate(
                    store, req, shard, account_id, connect_call=rest.startswith("/connect")
                )
            # These handlers deliver Connect messages, so they take the lock themselves.
            response = envelope_api.dispatch(app, req, account_id, rest, token)
            with store.lock:
                response.headers.extend(rate_headers(store, account_id))
            return response
        with store.lock:
            token = authenticate(store, req, shard, account_id)
        if (
            rest.rstrip("/") == "/connect/oauth"
            and req.method in ("POST", "PUT")
            and store.config.get("connect_oauth_validate_on_save")
        ):
            # API.md 2.3: DocuSign asks the listener's IdP for a token when the config is saved.
            # Network I/O, so outside the lock.
            error = app.publisher.check_oauth(coerce_oauth(json_body(req), require=True))
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
            return connect_logs.list_failures(store, account_id, date_window(req))
    elif tail.startswith("/failures/"):
        if method == "DELETE":
            return connect_logs.delete_failure(store, account_id, tail[len("/failures/") :])
    elif tail == "/logs":
        if method == "GET":
            return connect_logs.list_logs(store, account_id, date_window(req))
        if method == "DELETE":
            return connect_logs.delete_logs(store, account_id)
    elif tail.startswith("/logs/"):
        return connect_logs.log_entry(store, req, account_id, tail[len("/logs/") :])
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
            return empty()
    raise e.rest(404, e.RESOURCE_NOT_FOUND)


def _find(store: Store, account_id: str, connect_id: str) -> ConnectConfig:
    config = store.connect.get(connect_id)
    if config is None or config.account_id != account_id:
        raise e.rest(e.CONNECT_NOT_FOUND_STATUS, e.CONNECT_NOT_FOUND)
    return config


def list_configs(store: Store, account_id: str) -> Response:
    configs = [c.wire for c in store.connect.values() if c.account_id == account_id]
    configs.sort(key=lambda w: int(w["connectId"]))
    return json_response(200, {"configurations": configs, "totalRecords": str(len(configs))})


def create_config(store: Store, req: Request, account_id: str, token: Token) -> Response:
    fields = coerce_fields(
        json_body(req), reject_unknown=bool(store.config["reject_unknown_fields"])
    )
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
    data = json_body(req)
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
        return empty()
    if req.method in ("POST", "PUT"):
        config = coerce_oauth(json_body(req), require=True)
        account.connect_oauth = config
        store.touch()
        return json_response(200 if req.method == "PUT" else 201, config)
    raise e.rest(404, e.RESOURCE_NOT_FOUND)

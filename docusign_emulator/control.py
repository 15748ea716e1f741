"""Control plane under `/_emulator/` (docs/contracts.md 1): JSON in, JSON out, `{"error"}` on bad
input. Tests and the run command use it to seed, inspect and misbehave on purpose.

This module holds the route table every control module registers on (`route`, `dispatch`), the
helpers they share, and the emulator-wide calls: reset, seed, state, call counters, config,
faults and the clock. Tokens and consent are in `control_tokens.py`, an account's Connect side
(drift, rate limits, HMAC keys, events, deliveries) in `control_connect.py`, envelope activity in
`control_envelopes.py`; `server.py` imports them so their routes register."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from docusign_emulator.config import DEFAULT_CONFIG
from docusign_emulator.errors import ControlError, EmulatorError
from docusign_emulator.models import Account
from docusign_emulator.state import Store
from docusign_emulator.wire import Request, Response, json_response

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

Handler = Callable[["Emulator", Request, dict[str, str]], Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
FAULT_KINDS = {"status", "timeout", "html", "reset"}
CHOICES = {
    "retry_queue_without_failure": ("republish", "refuse"),
    "retry_queue_delivery": ("inline", "background"),
    "failure_status_field": ("envelope_status", "retry_state"),
}


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append((method, re.compile(f"^/_emulator{pattern}$"), fn))
        return fn

    return register


def dispatch(app: Emulator, req: Request) -> Response:
    for method, pattern, fn in ROUTES:
        match = pattern.match(req.path)
        if match and method == req.method:
            try:
                result = fn(app, req, match.groupdict())
            except EmulatorError as err:
                return json_response(err.status, err.body())
            except (KeyError, TypeError, ValueError) as exc:
                return json_response(400, {"error": f"bad input: {exc!r}"})
            return result if isinstance(result, Response) else json_response(200, result)
    return json_response(404, {"error": f"no control endpoint {req.method} {req.path}"})


def _json(req: Request, *, required: bool = True) -> dict:
    if not req.body.strip():
        if required:
            raise ControlError("a JSON object body is required")
        return {}
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ControlError("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _account(store: Store, account_id: str) -> Account:
    account = store.accounts.get(account_id)
    if account is None:
        raise ControlError(f"unknown account {account_id}", status=404)
    return account


def _seed(app: Emulator, data: dict) -> dict:
    store = app.store
    for key in data.get("integration_keys", []):
        for pem in key.get("public_keys", []):
            _check_pem(pem)
        if len(key.get("public_keys", [])) > 5:
            raise ControlError("an integration key holds at most 5 public keys")
    store.seed(data)
    with store.lock:
        ids = [a["account_id"] for a in data.get("accounts", [])]
        return {
            "accounts": [
                {"account_id": i, "base_uri": app.base_uri(store.accounts[i].shard)} for i in ids
            ]
        }


def _check_pem(pem: str) -> None:
    try:
        key = load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise ControlError("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ControlError("the public key must be RSA")


# --- state ---------------------------------------------------------------------------------


@route("POST", "/reset")
def reset(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req, required=False)
    app.store.reset()
    app.publisher.clear_token_cache()
    return _seed(app, data) if data else {"ok": True}


@route("POST", "/seed")
def seed(app: Emulator, req: Request, _: dict) -> dict:
    return _seed(app, _json(req))


@route("POST", r"/integration_keys/(?P<client_id>[^/]+)/public_keys")
def add_public_key(app: Emulator, req: Request, args: dict) -> dict:
    pem = _json(req).get("pem")
    if not isinstance(pem, str):
        raise ControlError("pem is required")
    _check_pem(pem)
    store = app.store
    with store.lock:
        key = store.keys.get(args["client_id"])
        if key is None:
            raise ControlError("unknown integration key", status=404)
        if len(key.public_keys) >= 5:
            raise ControlError("an integration key holds at most 5 public keys")
        key.public_keys.append(pem)
        store.touch()
        return {"client_id": key.client_id, "public_keys": len(key.public_keys)}


@route("GET", "/state")
def state(app: Emulator, req: Request, _: dict) -> dict:
    data = app.store.to_dict()
    data["public_url"] = app.public_url
    data["auth_host"] = app.auth_host
    return data


@route("GET", "/calls")
def calls(app: Emulator, req: Request, _: dict) -> dict:
    with app.store.lock:
        return {
            **app.store.calls,
            "by_account": {k: dict(v) for k, v in app.store.calls_by_account.items()},
        }


@route("POST", "/calls/reset")
def calls_reset(app: Emulator, req: Request, _: dict) -> dict:
    with app.store.lock:
        app.store.calls.clear()
        app.store.calls_by_account.clear()
    return {"ok": True}


@route("GET", "/config")
def get_config(app: Emulator, req: Request, _: dict) -> dict:
    return dict(app.store.config)


@route("POST", "/config")
def set_config(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        for name, value in data.items():
            default = DEFAULT_CONFIG.get(name)
            if default is None:
                raise ControlError(f"unknown config key: {name}")
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ControlError(f"{name} must be a boolean")
            elif isinstance(default, int | float):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ControlError(f"{name} must be a number")
            elif not isinstance(value, type(default)):
                raise ControlError(f"{name} must be a {type(default).__name__}")
        if data.get("refresh_rotation", "lenient") not in ("lenient", "strict"):
            raise ControlError("refresh_rotation is lenient or strict")
        if data.get("connect_put_mode", "merge") not in ("merge", "replace"):
            raise ControlError("connect_put_mode is merge or replace")
        if data.get("connect_oauth_client_auth", "basic") not in ("basic", "body"):
            raise ControlError("connect_oauth_client_auth is basic or body")
        for name, allowed in CHOICES.items():
            if name in data and data[name] not in allowed:
                raise ControlError(f"{name} is one of {', '.join(allowed)}")
        if data.get("admin_consent_redirect", "code") not in ("code", "state_only"):
            raise ControlError("admin_consent_redirect is code or state_only")
        store.config.update(data)
        store.touch()
        return dict(store.config)


@route("GET", "/faults")
def list_faults(app: Emulator, req: Request, _: dict) -> dict:
    with app.store.lock:
        return {"faults": [dict(f) for f in app.store.faults]}


@route("POST", "/faults")
def add_fault(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    match = data.get("match")
    kind = data.get("kind", "status")
    if not isinstance(match, str) or not match:
        raise ControlError('match is required, e.g. "POST /oauth/token" or "GET /restapi/connect"')
    if kind not in FAULT_KINDS:
        raise ControlError(f"kind is one of {sorted(FAULT_KINDS)}")
    fault = {
        "match": match,
        "kind": kind,
        "status": int(data.get("status", 503)),
        "count": int(data.get("count", 1)),
        "delay_s": float(data.get("delay_s", 0) or 0),
    }
    with app.store.lock:
        app.store.faults.append(fault)
    return fault


@route("DELETE", "/faults")
def clear_faults(app: Emulator, req: Request, _: dict) -> dict:
    with app.store.lock:
        app.store.faults.clear()
    return {"ok": True}


# --- clock ---------------------------------------------------------------------------------


@route("GET", "/clock")
def get_clock(app: Emulator, req: Request, _: dict) -> dict:
    return {"now": app.store.now(), "offset": app.store.clock.offset}


@route("POST", "/clock")
def advance_clock(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    advance = float(data.get("advance_s", 0))
    if advance < 0:
        raise ControlError("the clock only moves forward")
    with app.store.lock:
        app.store.clock.offset += advance
        app.store.touch()
    # Queued Connect retries that are now due run at once, so tests see them deterministically.
    retried = app.publisher.process_due()
    return {"now": app.store.now(), "offset": app.store.clock.offset, "retried": retried}

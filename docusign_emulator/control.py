"""Control plane under `/_emulator/` (docs/contracts.md 1): JSON in, JSON out, `{"error"}` on bad
input. Tests and the run command use it to seed, inspect and misbehave on purpose."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from docusign_emulator import access, connect_wire
from docusign_emulator.config import DEFAULT_CONFIG
from docusign_emulator.envelopes import envelope_record_event
from docusign_emulator.errors import ControlError, EmulatorError
from docusign_emulator.models import Account, ConnectConfig
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


# --- tokens and consent ----------------------------------------------------------------------


@route("POST", "/tokens/issue")
def issue_tokens(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    scopes = data.get("scopes") or ["signature", "extended"]
    if isinstance(scopes, str):
        scopes = scopes.split()
    with store.lock:
        if data.get("client_id") not in store.keys:
            raise ControlError("unknown client_id", status=404)
        if data.get("user_id") not in store.users:
            raise ControlError("unknown user_id", status=404)
        store.grant_consent(data["user_id"], data["client_id"], scopes)
        access = store.issue_token(
            kind="access",
            client_id=data["client_id"],
            user_id=data["user_id"],
            scopes=scopes,
            ttl=float(store.config["acg_access_ttl_s"]),
            grant="control",
        )
        refresh = store.issue_token(
            kind="refresh",
            client_id=data["client_id"],
            user_id=data["user_id"],
            scopes=scopes,
            ttl=float(store.config["refresh_ttl_s"]),
            grant="control",
            family=access.family,
        )
        return {
            "access_token": access.token,
            "token_type": "Bearer",
            "refresh_token": refresh.token,
            "expires_in": int(store.config["acg_access_ttl_s"]),
        }


def _select_tokens(store: Store, data: dict, *, access_only: bool) -> list:
    if not data:
        raise ControlError("give access_token, refresh_token, user_id, client_id or all")
    chosen = []
    for tok in store.tokens.values():
        if data.get("all"):
            hit = True
        elif "access_token" in data or "refresh_token" in data:
            hit = tok.token in (data.get("access_token"), data.get("refresh_token"))
        else:
            hit = all(
                getattr(tok, field) == data[field]
                for field in ("user_id", "client_id")
                if field in data
            )
        if hit and (
            not access_only or tok.kind == "access" or tok.token == data.get("refresh_token")
        ):
            chosen.append(tok)
    return chosen


@route("POST", "/tokens/expire")
def expire_tokens(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        chosen = _select_tokens(store, data, access_only=True)
        for tok in chosen:
            tok.expires_at = min(tok.expires_at, store.now() - 1)
        store.touch()
        return {"count": len(chosen)}


@route("POST", "/tokens/revoke")
def revoke_tokens(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        chosen = _select_tokens(store, data, access_only=False)
        for tok in chosen:
            tok.revoked = True
        store.touch()
        return {"count": len(chosen)}


@route("POST", "/consents/revoke")
def revoke_consent(app: Emulator, req: Request, _: dict) -> dict:
    """`{"user_id", "client_id"}`, or `{"organization_id", "client_id"}` for an org grant."""
    data = _json(req)
    store = app.store
    with store.lock:
        if data.get("organization_id"):
            key = f"{data['organization_id']}|{data['client_id']}"
            removed = store.org_consents.pop(key, None)
        else:
            removed = store.consents.pop(f"{data['user_id']}|{data['client_id']}", None)
        store.touch()
        return {"revoked": sorted(removed or [])}


@route("POST", "/consents/grant")
def grant_consent(app: Emulator, req: Request, _: dict) -> dict:
    data = _json(req)
    scopes = data.get("scopes") or ["signature", "impersonation"]
    store = app.store
    with store.lock:
        if data.get("organization_id"):
            if data["organization_id"] not in store.organizations:
                raise ControlError(f"unknown organization {data['organization_id']}", status=404)
            store.grant_org_consent(data["organization_id"], data["client_id"], scopes)
            return {
                "scopes": sorted(
                    store.org_consents[f"{data['organization_id']}|{data['client_id']}"]
                )
            }
        store.grant_consent(data["user_id"], data["client_id"], scopes)
        return {"scopes": sorted(store.consents[f"{data['user_id']}|{data['client_id']}"])}


# --- Connect drift -------------------------------------------------------------------------


def _account(store: Store, account_id: str) -> Account:
    account = store.accounts.get(account_id)
    if account is None:
        raise ControlError(f"unknown account {account_id}", status=404)
    return account


@route("GET", r"/accounts/(?P<account_id>[^/]+)/connect")
def drift_list(app: Emulator, req: Request, args: dict) -> dict:
    store = app.store
    with store.lock:
        _account(store, args["account_id"])
        items = [
            {**c.wire, "_client_id": c.client_id, "_user_id": c.user_id}
            for c in store.connect.values()
            if c.account_id == args["account_id"]
        ]
        items.sort(key=lambda w: int(w["connectId"]))
        return {"configurations": items, "totalRecords": str(len(items))}


@route("POST", r"/accounts/(?P<account_id>[^/]+)/connect")
def drift_create(app: Emulator, req: Request, args: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        _account(store, args["account_id"])
        client_id = data.pop("_client_id", None)
        fields = connect_wire.coerce_fields(data, reject_unknown=False)
        fields.pop("connectId", None)
        wire = connect_wire.build_wire(fields, store.allocate_connect_id())
        if "disabledBy" in data:
            wire["disabledBy"] = str(data["disabledBy"])
        store.connect[wire["connectId"]] = ConnectConfig(
            account_id=args["account_id"], wire=wire, client_id=client_id
        )
        store.touch()
        return wire


@route("PATCH", r"/accounts/(?P<account_id>[^/]+)/connect/(?P<connect_id>[^/]+)")
def drift_edit(app: Emulator, req: Request, args: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        config = store.connect.get(args["connect_id"])
        if config is None or config.account_id != args["account_id"]:
            raise ControlError("unknown connect configuration", status=404)
        fields = connect_wire.coerce_fields(data, reject_unknown=False)
        fields.pop("connectId", None)
        wire = connect_wire.build_wire({**config.wire, **fields}, config.connect_id)
        if "disabledBy" in data:
            if data["disabledBy"] in (None, ""):
                wire.pop("disabledBy", None)
            else:
                wire["disabledBy"] = str(data["disabledBy"])
        config.wire = wire
        store.touch()
        return wire


@route("DELETE", r"/accounts/(?P<account_id>[^/]+)/connect/(?P<connect_id>[^/]+)")
def drift_delete(app: Emulator, req: Request, args: dict) -> dict:
    store = app.store
    with store.lock:
        config = store.connect.get(args["connect_id"])
        if config is None or config.account_id != args["account_id"]:
            raise ControlError("unknown connect configuration", status=404)
        del store.connect[config.connect_id]
        store.touch()
        return {"deleted": config.connect_id}


@route("POST", r"/accounts/(?P<account_id>[^/]+)/rate_limit")
def rate_limit(app: Emulator, req: Request, args: dict) -> dict:
    data = _json(req)
    store = app.store
    with store.lock:
        _account(store, args["account_id"])
        hourly = data.get("hourly_remaining")
        burst = data.get("burst_remaining")
        access.set_remaining(
            store,
            args["account_id"],
            None if hourly is None else int(hourly),
            None if burst is None else int(burst),
        )
        return dict(access.rate_headers(store, args["account_id"]))


@route("POST", r"/accounts/(?P<account_id>[^/]+)/connect_enabled")
def connect_enabled(app: Emulator, req: Request, args: dict) -> dict:
    data = _json(req)
    with app.store.lock:
        account = _account(app.store, args["account_id"])
        account.connect_enabled = bool(data.get("enabled", True))
        app.store.touch()
        return {"connect_enabled": account.connect_enabled}


# --- clock, events, keys ---------------------------------------------------------------------


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


@route("POST", r"/accounts/(?P<account_id>[^/]+)/events")
def publish_event(app: Emulator, req: Request, args: dict) -> Any:
    data = _json(req)
    event = data.get("event")
    if not isinstance(event, str) or event not in connect_wire.EVENTS:
        raise ControlError(f"unknown event {event!r}")
    with app.store.lock:
        _account(app.store, args["account_id"])
        if data.get("envelope_id"):
            envelope_record_event(
                app.store,
                account_id=args["account_id"],
                envelope_id=data["envelope_id"],
                event=event,
            )
    deliveries = app.publisher.publish(
        args["account_id"],
        event,
        envelope_id=data.get("envelope_id"),
        recipient_id=data.get("recipient_id"),
        user_id=data.get("user_id"),
    )
    return json_response(200, deliveries)


@route("GET", "/deliveries")
def deliveries(app: Emulator, req: Request, _: dict) -> Any:
    with app.store.lock:
        return json_response(200, list(app.store.deliveries))


@route("POST", "/connect/retry")
def retry_now(app: Emulator, req: Request, _: dict) -> Any:
    return json_response(200, app.publisher.process_due())


def _set_hmac_keys(app: Emulator, req: Request, account_id: str, *, partner: bool) -> dict:
    keys = _json(req).get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ControlError("keys must be a list of non-empty strings")
    with app.store.lock:
        account = _account(app.store, account_id)
        account.hmac_keys = list(keys)
        if partner:
            account.is_partner = True
        app.store.touch()
        return {"account_id": account_id, "keys": len(keys)}


@route("POST", r"/partner/(?P<account_id>[^/]+)/hmac_keys")
def partner_hmac_keys(app: Emulator, req: Request, args: dict) -> dict:
    return _set_hmac_keys(app, req, args["account_id"], partner=True)


@route("POST", r"/accounts/(?P<account_id>[^/]+)/hmac_keys")
def account_hmac_keys(app: Emulator, req: Request, args: dict) -> dict:
    return _set_hmac_keys(app, req, args["account_id"], partner=False)

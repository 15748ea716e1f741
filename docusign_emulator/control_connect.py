"""Control-plane calls for an account's Connect side (`/_emulator/accounts/<id>/...`,
`/_emulator/partner/...`, `/_emulator/deliveries`, `/_emulator/connect/retry`): configurations
changed behind the API's back (drift), rate-limit budgets, Connect on or off, HMAC keys, publishing
an event and reading what was delivered.

Separate from `control.py` (the route table, emulator-wide state, config, faults and the clock) and
from `control_envelopes.py` (envelope activity); the routes register on import (`server.py`
imports this module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docusign_emulator import access, connect_wire
from docusign_emulator.control import _account, _json, route
from docusign_emulator.envelopes import envelope_record_event
from docusign_emulator.errors import ControlError
from docusign_emulator.models import ConnectConfig
from docusign_emulator.wire import Request, json_response

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator


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


# --- events and deliveries --------------------------------------------------------------------


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

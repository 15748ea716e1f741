"""Control-plane calls for envelopes and delivery faults (`/_emulator/...`): the activity
simulation that moves envelopes through their statuses (each change publishes its Connect event),
silent drops, and failure entries DocuSign might hold without an envelope id."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from docusign_emulator.control import _account, _json, route
from docusign_emulator.envelopes import (
    STATUSES,
    Envelope,
    envelope_create,
    envelope_in_account,
    envelope_set_status,
    status_event,
)
from docusign_emulator.errors import ControlError
from docusign_emulator.models import Failure
from docusign_emulator.wire import Request, json_response

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

DEFAULT_WALK = ["sent", "delivered", "completed"]


def _statuses(data: dict) -> list[str]:
    walk = data.get("statuses", DEFAULT_WALK)
    if not isinstance(walk, list) or not walk or any(s not in STATUSES for s in walk):
        raise ControlError(f"statuses must be a non-empty list of {', '.join(STATUSES)}")
    return walk


def _walk(app: Emulator, account_id: str, envelope: Envelope, statuses: list[str]) -> list[dict]:
    deliveries: list[dict] = []
    for status in statuses:
        envelope_set_status(app.store, envelope, status)
        deliveries += app.publisher.publish(
            account_id, status_event(status), envelope.envelope_id, user_id=None
        )
    return deliveries


@route("POST", r"/accounts/(?P<account_id>[^/]+)/envelopes")
def simulate_envelopes(app: Emulator, req: Request, args: dict) -> Any:
    """`{"count": 1, "statuses": ["sent", "delivered", "completed"], "envelope_ids"?: [...]}`:
    new envelopes, each walked through `statuses` with one Connect event per change."""
    data = _json(req, required=False)
    statuses = _statuses(data)
    ids = data.get("envelope_ids")
    if ids is None:
        count = data.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10000:
            raise ControlError("count must be a whole number from 1 to 10000")
        ids = [str(uuid.uuid4()) for _ in range(count)]
    elif not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise ControlError("envelope_ids must be a list of strings")
    account_id = args["account_id"]
    with app.store.lock:
        _account(app.store, account_id)
    out = []
    for envelope_id in ids:
        envelope = envelope_create(
            app.store, account_id=account_id, status="created", envelope_id=envelope_id
        )
        deliveries = _walk(app, account_id, envelope, statuses)
        out.append({"envelopeId": envelope_id, "status": envelope.status, "deliveries": deliveries})
    return json_response(200, {"envelopes": out})


@route("POST", r"/accounts/(?P<account_id>[^/]+)/envelopes/(?P<envelope_id>[^/]+)/status")
def envelope_status(app: Emulator, req: Request, args: dict) -> Any:
    """`{"status": "completed"}`: one status change of an existing envelope, published."""
    status = _json(req).get("status")
    if status not in STATUSES:
        raise ControlError(f"status must be one of {', '.join(STATUSES)}")
    with app.store.lock:
        _account(app.store, args["account_id"])
        envelope = envelope_in_account(app.store, args["account_id"], args["envelope_id"])
        if envelope is None:
            raise ControlError("no such envelope in this account", status=404)
    deliveries = _walk(app, args["account_id"], envelope, [status])
    return {"envelopeId": envelope.envelope_id, "status": status, "deliveries": deliveries}


@route("POST", "/connect/drop")
def drop_deliveries(app: Emulator, req: Request, _: dict) -> dict:
    """`{"count": 1, "account_id"?, "event"?}`: the next matching deliveries vanish (no POST, no
    failure, no log), as a delivery DocuSign lost would."""
    data = _json(req)
    count = data.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ControlError("count must be a positive whole number")
    for name in ("account_id", "event"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise ControlError(f"{name} must be a string")
    with app.store.lock:
        app.store.drops.append(
            {"count": count, "account_id": data.get("account_id"), "event": data.get("event")}
        )
        return {"drops": [dict(d) for d in app.store.drops]}


@route("POST", r"/accounts/(?P<account_id>[^/]+)/failures")
def add_failure(app: Emulator, req: Request, args: dict) -> dict:
    """A raw failure-log entry, e.g. one without an envelope id: `{"envelope_id": "", "error",
    "connect_id"?, "event"?, "status"?}`; it is never retried."""
    data = _json(req)
    with app.store.lock:
        store = app.store
        _account(store, args["account_id"])
        now = store.now()
        fid = str(uuid.uuid4())
        store.failures[fid] = Failure(
            failure_id=fid,
            account_id=args["account_id"],
            connect_id=str(data.get("connect_id") or ""),
            url=str(data.get("url") or ""),
            event=str(data.get("event") or ""),
            envelope_id=str(data.get("envelope_id") or ""),
            recipient_id=None,
            created=now,
            next_retry_at=float("inf"),
            error=str(data.get("error") or "The remote server returned an error: (503)."),
            status=str(data.get("status") or ""),
            last_try=now,
        )
        store.touch()
        return {"failureId": fid}

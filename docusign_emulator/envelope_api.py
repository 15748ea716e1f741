"""REST handlers for envelopes (`POST /envelopes`, `GET /envelopes` = listStatusChanges,
`GET /envelopes/{id}`) and for republishing (`PUT /connect/envelopes/retry_queue`,
`PUT /connect/envelopes/{id}/retry_queue`), API.md 7.

They deliver Connect messages, so unlike the configuration handlers they are called without the
store lock and take it only around state changes.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from docusign_emulator import errors as e
from docusign_emulator.connect_message import delivery_spec
from docusign_emulator.envelope_notification import notification_config
from docusign_emulator.envelopes import (
    STATUSES,
    Envelope,
    envelope_create,
    envelope_in_account,
    envelopes_changed,
    status_event,
)
from docusign_emulator.models import ConnectConfig, Token
from docusign_emulator.rest import bad, date_window, iso, json_body
from docusign_emulator.state import Store
from docusign_emulator.wire import Request, Response, json_response

if TYPE_CHECKING:
    from docusign_emulator.server import Emulator

CREATE_STATUSES = {"created", "sent"}


def handles(rest: str) -> bool:
    return rest.startswith("/envelopes") or rest.startswith("/connect/envelopes/")


def dispatch(app: Emulator, req: Request, account_id: str, rest: str, token: Token) -> Response:
    path = rest.rstrip("/")
    if path.startswith("/connect/envelopes/"):
        tail = path[len("/connect/envelopes/") :]
        if req.method != "PUT" or not tail.endswith("retry_queue"):
            raise e.rest(404, e.RESOURCE_NOT_FOUND)
        if tail == "retry_queue":
            return retry_for_envelopes(app, req, account_id)
        envelope_id = tail[: -len("/retry_queue")]
        if not envelope_id or "/" in envelope_id:
            raise e.rest(404, e.RESOURCE_NOT_FOUND)
        return _retry_answer(app, account_id, [envelope_id])
    if path == "/envelopes":
        if req.method == "GET":
            return list_status_changes(app, req, account_id)
        if req.method == "POST":
            return create_envelope(app, req, account_id, token)
    elif req.method == "GET" and path.count("/") == 2:
        with app.store.lock:
            envelope = envelope_in_account(app.store, account_id, path.rsplit("/", 1)[1])
            if envelope is None:
                raise e.rest(404, e.ENVELOPE_NOT_FOUND)
            return json_response(200, envelope_json(envelope))
    raise e.rest(404, e.RESOURCE_NOT_FOUND)


def envelope_json(envelope: Envelope) -> dict:
    """The members of the SDK's `Envelope` model that an integration compares (strings)."""
    out = {
        "envelopeId": envelope.envelope_id,
        "status": envelope.status,
        "emailSubject": envelope.email_subject,
        "createdDateTime": iso(envelope.created),
        "statusChangedDateTime": iso(envelope.status_changed),
        "envelopeUri": f"/envelopes/{envelope.envelope_id}",
    }
    for status, member in (
        ("sent", "sentDateTime"),
        ("delivered", "deliveredDateTime"),
        ("completed", "completedDateTime"),
        ("declined", "declinedDateTime"),
        ("voided", "voidedDateTime"),
    ):
        at = envelope.changed_at(status)
        if at is not None:
            out[member] = iso(at)
    return out


# --- POST /envelopes ------------------------------------------------------------------------


def create_envelope(app: Emulator, req: Request, account_id: str, token: Token) -> Response:
    """A minimal body: `status` ("created" or "sent", default "created"), `emailSubject`, and an
    optional envelope-level `eventNotification` (envelope_notification.py). Documents and
    recipients are accepted and ignored. A sent envelope publishes envelope-sent before the answer
    (DocuSign does it shortly after; tests need no wait)."""
    body = json_body(req)
    status = str(body.get("status") or "created").lower()
    if status not in CREATE_STATUSES:
        raise bad("status must be created or sent.")
    subject = body.get("emailSubject")
    if subject is not None and not isinstance(subject, str):
        raise e.rest(400, e.INVALID_REQUEST_BODY)
    envelope_id = str(uuid.uuid4())
    with app.store.lock:
        notification = notification_config(
            app.store, body, account_id=account_id, envelope_id=envelope_id, token=token
        )
        envelope = envelope_create(
            app.store,
            account_id=account_id,
            status=status,
            envelope_id=envelope_id,
            email_subject=subject,
            user_id=token.user_id,
            notification=notification,
        )
    if status == "sent":
        app.publisher.publish(account_id, status_event(status), envelope_id, user_id=token.user_id)
    with app.store.lock:
        answer = {
            "envelopeId": envelope.envelope_id,
            "uri": f"/envelopes/{envelope.envelope_id}",
            "statusDateTime": iso(envelope.status_changed),
            "status": envelope.status,
        }
    return json_response(201, answer)


# --- GET /envelopes (listStatusChanges) -------------------------------------------------------


def _query_one(req: Request, name: str) -> str | None:
    values = [v for k, v in req.query if k == name]
    if len(values) > 1:
        raise bad(f"Invalid value for {name}: the parameter is repeated.")
    return values[0] if values else None


def _int_param(req: Request, name: str, default: int) -> int:
    raw = _query_one(req, name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise bad(f"Invalid value for {name}: {raw!r} is not a whole number.")
    return int(raw)


def list_status_changes(app: Emulator, req: Request, account_id: str) -> Response:
    """Envelopes whose status changed between `from_date` and `to_date`, paged by
    `start_position`/`count`; every paging member is a string (API.md 7)."""
    store = app.store
    window = date_window(req)
    ids_raw = _query_one(req, "envelope_ids")
    envelope_ids = {v for v in (ids_raw or "").split(",") if v.strip()} or None
    if window[0] is None and envelope_ids is None:
        raise bad("from_date, envelope_ids or folder_ids is required.")
    status_raw = _query_one(req, "status")
    statuses = {s.strip().lower() for s in (status_raw or "").split(",") if s.strip()}
    statuses.discard("any")
    unknown = statuses - set(STATUSES) - {"changed"}
    if unknown:
        raise bad(f"Invalid value for status: {sorted(unknown)[0]}")
    statuses.discard("changed")
    start = _int_param(req, "start_position", 0)
    count = min(_int_param(req, "count", 100), int(store.config["status_changes_max_count"]))
    with store.lock:
        rows = envelopes_changed(
            store,
            account_id=account_id,
            start=window[0],
            end=window[1],
            end_exclusive=window[2],
            statuses=statuses or None,
            envelope_ids=envelope_ids,
        )
        page = rows[start : start + count] if count else []
        envelopes = [envelope_json(env) for env in page]
    end = start + len(page) - 1 if page else start
    next_uri = ""
    if start + len(page) < len(rows) and page:
        params = [(k, v) for k, v in req.query if k not in ("start_position", "count")]
        params += [("start_position", str(start + len(page))), ("count", str(count))]
        next_uri = "/envelopes?" + urlencode(params)
    return json_response(
        200,
        {
            "resultSetSize": str(len(page)),
            "startPosition": str(start),
            "endPosition": str(end),
            "totalSetSize": str(len(rows)),
            "nextUri": next_uri,
            "previousUri": "",
            "envelopes": envelopes,
        },
    )


# --- retry_queue ------------------------------------------------------------------------------


def retry_for_envelopes(app: Emulator, req: Request, account_id: str) -> Response:
    body = json_body(req)
    ids = body.get("envelopeIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise bad("envelopeIds must list at least one envelope id.")
    limit = int(app.store.config["retry_queue_max_envelopes"])
    if len(ids) > limit:
        raise bad(f"envelopeIds may list at most {limit} envelope ids.")
    return _retry_answer(app, account_id, list(dict.fromkeys(ids)))


def _retry_answer(app: Emulator, account_id: str, envelope_ids: list[str]) -> Response:
    entries, specs = _retry_plan(app, account_id, envelope_ids)
    if app.store.config["retry_queue_delivery"] == "background":
        thread = threading.Thread(
            target=lambda: [app.publisher._deliver(spec) for spec, _ in specs],
            name="retry-queue",
            daemon=True,
        )
        thread.start()
        for _, entry in specs:
            entry.update(status="Queued", statusMessage="")
    else:
        for spec, entry in specs:
            result = app.publisher._deliver(spec)
            ok = result["status"] == "delivered"
            entry.update(status="Success" if ok else "Failed", statusMessage=result["error"] or "")
    return json_response(200, {"retryQueue": entries})


def _retry_plan(app: Emulator, account_id: str, envelope_ids: list[str]) -> tuple[list, list]:
    """One answer entry per message to resend (each failure of the envelope, or its current
    status to each subscribed configuration) or per envelope that cannot be resent."""
    store = app.store
    entries: list[dict] = []
    specs: list[tuple] = []
    with store.lock:
        for envelope_id in envelope_ids:
            failures = sorted(
                (
                    f
                    for f in store.failures.values()
                    if f.account_id == account_id
                    and f.envelope_id == envelope_id
                    and not f.in_flight
                ),
                key=lambda f: f.created,
            )
            envelope = envelope_in_account(store, account_id, envelope_id)
            if not failures and envelope is None:
                entries.append(_entry(envelope_id, "", "", "Failed", e.RETRY_ENVELOPE_UNKNOWN))
                continue
            planned = len(specs)
            if failures:
                for failure in failures:
                    cfg = _config(store, failure.connect_id, envelope)
                    if cfg is None:
                        continue
                    failure.in_flight = True
                    spec = delivery_spec(
                        store,
                        cfg,
                        failure.event,
                        failure.envelope_id,
                        failure.recipient_id,
                        cfg.user_id or "",
                        failure.retry_count + 1,
                        failure.failure_id,
                        failure.generated_at or failure.created,
                    )
                    specs.append((spec, _entry(envelope_id, cfg.connect_id, spec.url)))
                if len(specs) == planned:
                    entries.append(_entry(envelope_id, "", "", "Failed", e.RETRY_NO_CONFIG))
            elif store.config["retry_queue_without_failure"] == "refuse":
                entries.append(_entry(envelope_id, "", "", "Failed", e.RETRY_NO_FAILURE))
                continue
            elif envelope is not None:
                event = status_event(envelope.status)
                own = [envelope.notification] if envelope.notification is not None else []
                configs = [
                    c
                    for c in [
                        *sorted(store.connect.values(), key=lambda c: int(c.connect_id)),
                        *own,
                    ]
                    if c.account_id == account_id
                    and c.wire.get("allowEnvelopePublish") == "true"
                    and not c.wire.get("disabledBy")
                    and event in (c.wire.get("events") or [])
                ]
                if not configs:
                    entries.append(_entry(envelope_id, "", "", "Failed", e.RETRY_NO_CONFIG))
                for cfg in configs:
                    spec = delivery_spec(
                        store, cfg, event, envelope_id, None, envelope.user_id or cfg.user_id or ""
                    )
                    specs.append((spec, _entry(envelope_id, cfg.connect_id, spec.url)))
        entries.extend(entry for _, entry in specs)
    return entries, specs


def _config(store: Store, connect_id: str, envelope: Envelope | None) -> ConnectConfig | None:
    """An account configuration, or the envelope's own eventNotification."""
    notification = envelope.notification if envelope is not None else None
    if notification is not None and notification.connect_id == connect_id:
        return notification
    return store.connect.get(connect_id)


def _entry(
    envelope_id: str, config_id: str, config_url: str, status: str = "", message: str = ""
) -> dict:
    return {
        "configId": config_id,
        "configUrl": config_url,
        "envelopeId": envelope_id,
        "status": status,
        "statusMessage": message,
    }

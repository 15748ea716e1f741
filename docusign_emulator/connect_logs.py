"""Connect's failure log and Connect log (`/connect/failures`, `/connect/logs`): listed within a
from_date/to_date window, read and deleted one by one."""

from __future__ import annotations

from docusign_emulator import errors as e
from docusign_emulator.envelopes import failures_prune
from docusign_emulator.models import Failure, LogEntry
from docusign_emulator.rest import NO_WINDOW, Window, bad, empty, in_window, iso
from docusign_emulator.state import Store
from docusign_emulator.wire import Request, Response, json_response


def list_failures(store: Store, account_id: str, window: Window = NO_WINDOW) -> Response:
    failures_prune(store, account_id)
    rows = [
        f
        for f in store.failures.values()
        if f.account_id == account_id and in_window(f.created, window)
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


def delete_logs(store: Store, account_id: str) -> Response:
    for log_id in [k for k, v in store.logs.items() if v.account_id == account_id]:
        del store.logs[log_id]
    return empty()


def list_logs(store: Store, account_id: str, window: Window = NO_WINDOW) -> Response:
    rows = sorted(
        (
            entry
            for entry in store.logs.values()
            if entry.account_id == account_id and in_window(entry.created, window)
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
        return empty()
    raise e.rest(404, e.RESOURCE_NOT_FOUND)

"""`EmulatorControl`: a `requests` client for every `/_emulator/...` call (docs/contracts.md 1),
one method per control endpoint, grouped as the control modules are (`control.py`,
`control_tokens.py`, `control_connect.py`, `control_envelopes.py`).

Separate from `testing.py`, which starts the emulator process: a client needs only a URL, so
tests and benches can drive an emulator that something else started. Import it from `testing.py`.
"""

from __future__ import annotations

from typing import Any

import requests


class EmulatorError(RuntimeError):
    pass


class EmulatorControl:
    """Every `/_emulator/...` call (docs/contracts.md 1), with `requests`."""

    def __init__(self, url: str, *, ca_file: str | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        # Passed per request: REQUESTS_CA_BUNDLE in the environment beats Session.verify.
        self.verify: str | bool = ca_file if ca_file else True
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.session.request(
            method,
            f"{self.url}/_emulator{path}",
            json=body,
            timeout=self.timeout,
            verify=self.verify,
        )
        if resp.status_code >= 400:
            raise EmulatorError(f"{method} {path}: HTTP {resp.status_code} {resp.text}")
        return resp.json() if resp.content else None

    # state
    def reset(self, seed: dict | None = None) -> Any:
        return self._call("POST", "/reset", seed)

    def seed(
        self,
        data: dict | None = None,
        *,
        integration_keys: list | None = None,
        accounts: list | None = None,
        users: list | None = None,
    ) -> Any:
        body = dict(data or {})
        parts = {"integration_keys": integration_keys, "accounts": accounts, "users": users}
        body.update({name: value for name, value in parts.items() if value is not None})
        return self._call("POST", "/seed", body)

    def add_public_key(self, client_id: str, pem: str | bytes) -> Any:
        if isinstance(pem, bytes):
            pem = pem.decode("ascii")
        return self._call("POST", f"/integration_keys/{client_id}/public_keys", {"pem": pem})

    def state(self) -> dict:
        return self._call("GET", "/state")

    def calls(self) -> dict:
        return self._call("GET", "/calls")

    def reset_calls(self) -> Any:
        return self._call("POST", "/calls/reset")

    def config(self, **kw: Any) -> dict:
        return self._call("POST", "/config", kw) if kw else self._call("GET", "/config")

    # faults
    def fault(
        self,
        match: str,
        kind: str = "status",
        *,
        status: int = 503,
        count: int = 1,
        delay_s: float = 0,
    ) -> Any:
        return self._call(
            "POST",
            "/faults",
            {"match": match, "kind": kind, "status": status, "count": count, "delay_s": delay_s},
        )

    def clear_faults(self) -> Any:
        return self._call("DELETE", "/faults")

    # tokens and consent
    def issue_tokens(self, client_id: str, user_id: str, scopes: list[str] | None = None) -> dict:
        return self._call(
            "POST",
            "/tokens/issue",
            {
                "client_id": client_id,
                "user_id": user_id,
                "scopes": scopes or ["signature", "extended"],
            },
        )

    def expire_tokens(self, **selector: Any) -> Any:
        """access_token=..., refresh_token=..., user_id=..., client_id=... or all=True."""
        return self._call("POST", "/tokens/expire", selector)

    def revoke_tokens(self, **selector: Any) -> Any:
        return self._call("POST", "/tokens/revoke", selector)

    def revoke_consent(self, user_id: str, client_id: str) -> Any:
        return self._call("POST", "/consents/revoke", {"user_id": user_id, "client_id": client_id})

    def grant_consent(self, user_id: str, client_id: str, scopes: list[str] | None = None) -> Any:
        return self._call(
            "POST",
            "/consents/grant",
            {
                "user_id": user_id,
                "client_id": client_id,
                "scopes": scopes or ["signature", "impersonation"],
            },
        )

    def grant_org_consent(
        self, organization_id: str, client_id: str, scopes: list[str] | None = None
    ) -> Any:
        return self._call(
            "POST",
            "/consents/grant",
            {
                "organization_id": organization_id,
                "client_id": client_id,
                "scopes": scopes or ["signature", "impersonation"],
            },
        )

    def revoke_org_consent(self, organization_id: str, client_id: str) -> Any:
        return self._call(
            "POST",
            "/consents/revoke",
            {"organization_id": organization_id, "client_id": client_id},
        )

    # Connect drift
    def connect_configs(self, account_id: str) -> list[dict]:
        return self._call("GET", f"/accounts/{account_id}/connect")["configurations"]

    def drift_edit(self, account_id: str, connect_id: str, **fields: Any) -> dict:
        return self._call("PATCH", f"/accounts/{account_id}/connect/{connect_id}", fields)

    def drift_delete(self, account_id: str, connect_id: str) -> Any:
        return self._call("DELETE", f"/accounts/{account_id}/connect/{connect_id}")

    def drift_create(self, account_id: str, body: dict) -> dict:
        return self._call("POST", f"/accounts/{account_id}/connect", body)

    def set_connect_enabled(self, account_id: str, enabled: bool) -> Any:
        return self._call("POST", f"/accounts/{account_id}/connect_enabled", {"enabled": enabled})

    def set_rate_limit(
        self,
        account_id: str,
        *,
        hourly_remaining: int | None = None,
        burst_remaining: int | None = None,
    ) -> Any:
        body = {}
        if hourly_remaining is not None:
            body["hourly_remaining"] = hourly_remaining
        if burst_remaining is not None:
            body["burst_remaining"] = burst_remaining
        return self._call("POST", f"/accounts/{account_id}/rate_limit", body)

    # clock, events, keys
    def advance_clock(self, seconds: float) -> dict:
        return self._call("POST", "/clock", {"advance_s": seconds})

    def publish_event(
        self,
        account_id: str,
        event: str,
        *,
        envelope_id: str | None = None,
        recipient_id: str | None = None,
        user_id: str | None = None,
    ) -> list[dict]:
        body: dict[str, Any] = {"event": event}
        if envelope_id:
            body["envelope_id"] = envelope_id
        if recipient_id:
            body["recipient_id"] = recipient_id
        if user_id:
            body["user_id"] = user_id
        return self._call("POST", f"/accounts/{account_id}/events", body)

    def deliveries(self) -> list[dict]:
        return self._call("GET", "/deliveries")

    def retry_connect_now(self) -> list[dict]:
        return self._call("POST", "/connect/retry")

    def set_partner_hmac_keys(self, account_id: str, keys: list[str]) -> Any:
        return self._call("POST", f"/partner/{account_id}/hmac_keys", {"keys": keys})

    def set_account_hmac_keys(self, account_id: str, keys: list[str]) -> Any:
        return self._call("POST", f"/accounts/{account_id}/hmac_keys", {"keys": keys})

    # envelopes and delivery faults (control_envelopes.py)
    def simulate_envelopes(
        self,
        account_id: str,
        *,
        count: int = 1,
        statuses: list[str] | None = None,
        envelope_ids: list[str] | None = None,
    ) -> list[dict]:
        body: dict[str, Any] = {"count": count}
        if statuses is not None:
            body["statuses"] = statuses
        if envelope_ids is not None:
            body["envelope_ids"] = envelope_ids
        return self._call("POST", f"/accounts/{account_id}/envelopes", body)["envelopes"]

    def envelope_status(self, account_id: str, envelope_id: str, status: str) -> dict:
        path = f"/accounts/{account_id}/envelopes/{envelope_id}/status"
        return self._call("POST", path, {"status": status})

    def drop_deliveries(
        self, count: int = 1, *, account_id: str | None = None, event: str | None = None
    ) -> dict:
        body: dict[str, Any] = {"count": count, "account_id": account_id, "event": event}
        return self._call("POST", "/connect/drop", body)

    def add_failure(self, account_id: str, **fields: Any) -> dict:
        return self._call("POST", f"/accounts/{account_id}/failures", fields)

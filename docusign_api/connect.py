"""Connect configurations of one account (eSignature REST v2.1, API.md 2).

A ``ConnectAPI`` is bound to one account, its ``base_uri`` and an access token; it is cheap, so
make one per task. Every call needs an account-administrator token on an account with Connect
enabled.
"""

from __future__ import annotations

import builtins
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from ._http import HttpCore
from .connect_models import (
    ConnectConfiguration,
    ConnectLogEntry,
    ConnectOAuthConfig,
    RetryQueueEntry,
)
from .errors import DocuSignNotFound, DocuSignProtocolError

DateLike = date | datetime | str
# The observer's label for these calls: the path with its ids as placeholders.
_CONNECT_ENDPOINT = "/restapi/v2.1/accounts/{accountId}/connect"


class ConnectAPI:
    def __init__(self, http: HttpCore, *, base_uri: str, account_id: str, access_token: str):
        self._http = http
        self.account_id = account_id
        self.base_uri = base_uri.rstrip("/")
        self._access_token = access_token
        self._connect_url = (
            f"{self.base_uri}/restapi/v2.1/accounts/{quote(account_id, safe='')}/connect"
        )

    def __repr__(self) -> str:
        return f"ConnectAPI(base_uri={self.base_uri!r}, account_id={self.account_id!r})"

    # -- configurations -------------------------------------------------------------------

    def list(self) -> list[ConnectConfiguration]:
        """Every configuration of the account; DocuSign has no paging here (API.md 2.1)."""
        body = self._call("GET", "", "", idempotent=True)
        return [ConnectConfiguration.from_wire(c) for c in _configurations(body)]

    def get(self, connect_id: str) -> ConnectConfiguration:
        # Answers a ConnectConfigResults wrapper with one item, not a bare config (API.md 2).
        body = self._call("GET", f"/{quote(connect_id, safe='')}", "/{connectId}", idempotent=True)
        configurations = _configurations(body)
        if not configurations:
            raise DocuSignNotFound(f"Connect configuration {connect_id} not found", status=200)
        return ConnectConfiguration.from_wire(configurations[0])

    def create(self, config: ConnectConfiguration) -> ConnectConfiguration:
        """POST: not idempotent, so never retried; a failed create is reconciled by listing."""
        wire = config.to_wire()
        wire.pop("connectId", None)
        body = self._call("POST", "", "", idempotent=False, json_body=wire)
        return ConnectConfiguration.from_wire(_single_configuration(body))

    def update(self, config: ConnectConfiguration) -> ConnectConfiguration:
        """PUT the full body with ``connectId``: the path carries no id, and whether DocuSign
        merges a partial body is unconfirmed (API.md 2.1)."""
        if not config.connect_id:
            raise ValueError("update() needs config.connect_id (use create() for a new one)")
        body = self._call("PUT", "", "", idempotent=True, json_body=config.to_wire())
        return ConnectConfiguration.from_wire(_single_configuration(body))

    def delete(self, connect_id: str) -> None:
        # DocuSign answers 200 with an empty octet-stream body (API.md 2).
        self._call(
            "DELETE",
            f"/{quote(connect_id, safe='')}",
            "/{connectId}",
            idempotent=True,
            expect_body=False,
        )

    # -- account-level OAuth for Connect --------------------------------------------------

    def oauth_get(self) -> ConnectOAuthConfig:
        return ConnectOAuthConfig.from_wire(self._call("GET", "/oauth", "/oauth", idempotent=True))

    def oauth_create(self, config: ConnectOAuthConfig) -> ConnectOAuthConfig:
        """DocuSign fetches a token from ``authorization_server_url`` right away; a bad config
        fails here (API.md 2.3)."""
        body = self._call("POST", "/oauth", "/oauth", idempotent=False, json_body=config.to_wire())
        return ConnectOAuthConfig.from_wire(body)

    def oauth_update(self, config: ConnectOAuthConfig) -> ConnectOAuthConfig:
        body = self._call("PUT", "/oauth", "/oauth", idempotent=True, json_body=config.to_wire())
        return ConnectOAuthConfig.from_wire(body)

    def oauth_delete(self) -> None:
        self._call("DELETE", "/oauth", "/oauth", idempotent=True, expect_body=False)

    # -- failures and logs ----------------------------------------------------------------

    def failures(
        self,
        *,
        from_date: date | datetime | str | None = None,
        to_date: date | datetime | str | None = None,
    ) -> builtins.list[ConnectLogEntry]:
        body = self._call(
            "GET", "/failures", "/failures", idempotent=True, params=_dates(from_date, to_date)
        )
        return [ConnectLogEntry.from_wire(e) for e in _entries(body, "failures")]

    def logs(
        self,
        *,
        from_date: date | datetime | str | None = None,
        to_date: date | datetime | str | None = None,
    ) -> builtins.list[ConnectLogEntry]:
        """Only configurations with ``enable_log`` produce entries (at most 100 per account)."""
        body = self._call(
            "GET", "/logs", "/logs", idempotent=True, params=_dates(from_date, to_date)
        )
        return [ConnectLogEntry.from_wire(e) for e in _entries(body, "logs")]

    # -- republish (API.md 7) ---------------------------------------------------------------

    def retry_queue(self, envelope_ids: builtins.list[str]) -> builtins.list[RetryQueueEntry]:
        """Republish the envelopes' Connect messages. Sent once, never retried: a second
        republish would deliver the messages twice."""
        if not envelope_ids:
            return []
        body = self._call(
            "PUT",
            "/envelopes/retry_queue",
            "/envelopes/retry_queue",
            idempotent=False,
            # DocuSign's reference says `synchronous` must be "false".
            json_body={"envelopeIds": list(envelope_ids), "synchronous": "false"},
        )
        return _retry_entries(body)

    def retry_queue_one(self, envelope_id: str) -> builtins.list[RetryQueueEntry]:
        path = f"/envelopes/{quote(envelope_id, safe='')}/retry_queue"
        template = "/envelopes/{envelopeId}/retry_queue"
        return _retry_entries(self._call("PUT", path, template, idempotent=False))

    # -------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        path_template: str,
        *,
        idempotent: bool,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        expect_body: bool = True,
    ) -> Any:
        return self._http.request(
            method,
            self._connect_url + path,
            endpoint=_CONNECT_ENDPOINT + path_template,
            idempotent=idempotent,
            headers={
                "Authorization": f"Bearer {self._access_token}",
                "Accept": "application/json",
            },
            params=params,
            json_body=json_body,
            account_id=self.account_id,
            secrets=(self._access_token,),
            expect_body=expect_body,
        )


def _configurations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise DocuSignProtocolError("expected a ConnectConfigResults object", status=200)
    if "configurations" not in body and "connectId" in body:
        return [body]  # tolerate a bare configuration
    return list(body.get("configurations") or [])


def _single_configuration(body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and "configurations" in body:
        configurations = _configurations(body)
        if configurations:
            return configurations[0]
    if not isinstance(body, dict):
        raise DocuSignProtocolError("expected a Connect configuration object", status=200)
    return body


def _retry_entries(body: Any) -> list[RetryQueueEntry]:
    if not isinstance(body, dict):
        raise DocuSignProtocolError("expected a ConnectFailureResults object", status=200)
    return [RetryQueueEntry.from_wire(e) for e in body.get("retryQueue") or []]


def _entries(body: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise DocuSignProtocolError("expected a ConnectLogs object", status=200)
    return list(body.get(key) or [])


def _dates(from_date: DateLike | None, to_date: DateLike | None) -> dict[str, str]:
    params = {}
    for name, value in (("from_date", from_date), ("to_date", to_date)):
        if value is not None:
            params[name] = value if isinstance(value, str) else value.isoformat()
    return params

"""Helpers for the emulator's own tests: a Connect listener and REST/JWT shortcuts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests

from docusign_emulator.testing import (
    TEST_ACCOUNT_1_ID,
    TEST_ACCOUNT_1_SHARD,
    TEST_CLIENT_ID,
    TEST_PRIVATE_KEY_PEM,
    EmulatorServer,
)


def connect_url(server: EmulatorServer, account_id: str = TEST_ACCOUNT_1_ID,
                shard: str = TEST_ACCOUNT_1_SHARD, tail: str = "") -> str:  # fmt: skip
    return f"{server.base_uri(shard)}/restapi/v2.1/accounts/{account_id}/connect{tail}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assertion(server: EmulatorServer, user_id: str, *, key: bytes = TEST_PRIVATE_KEY_PEM,
              algorithm: str = "RS256", **overrides) -> str:  # fmt: skip
    now = int(time.time())
    claims = {
        "iss": TEST_CLIENT_ID,
        "sub": user_id,
        "aud": server.auth_host,
        "iat": now,
        "exp": now + 3600,
        "scope": "signature impersonation",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


def config_body(**overrides) -> dict:
    body = {
        "configurationType": "custom",
        "name": "Portal webhook",
        "urlToPublishTo": "https://hooks.partner.example/ds/connect",
        "allowEnvelopePublish": "true",
        "allUsers": "true",
        "deliveryMode": "SIM",
        "events": ["envelope-sent", "envelope-completed", "recipient-completed"],
        "eventData": {"version": "restv2.1", "format": "json", "includeData": ["recipients"]},
        "requiresAcknowledgement": "true",
        "enableLog": "true",
        "includeHMAC": "true",
        "includeOAuth": "false",
        "integratorManaged": "true",
    }
    body.update(overrides)
    return body


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Listener:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
    token_requests: list[Received] = field(default_factory=list)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A local Connect listener (and a tiny client_credentials IdP at /token)."""
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            item = Received(self.path, dict(self.headers.items()), body)
            lst: Listener = state["listener"]
            if self.path == "/token":
                lst.token_requests.append(item)
                payload = json.dumps({"access_token": "idp-token-1", "expires_in": 3600}).encode()
                status = 200
            else:
                lst.requests.append(item)
                status = lst.statuses.pop(0) if lst.statuses else 200
                payload = b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["listener"] = Listener(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["listener"]
    server.shutdown()
    server.server_close()


class web:
    """`requests` calls with a default timeout, without a shared cookie jar."""

    @staticmethod
    def request(method: str, url: str, **kw):
        kw.setdefault("timeout", 30)
        return requests.request(method, url, **kw)  # noqa: S113 - timeout set just above

    @staticmethod
    def get(url: str, **kw):
        return web.request("GET", url, **kw)

    @staticmethod
    def post(url: str, **kw):
        return web.request("POST", url, **kw)

    @staticmethod
    def put(url: str, **kw):
        return web.request("PUT", url, **kw)

    @staticmethod
    def delete(url: str, **kw):
        return web.request("DELETE", url, **kw)

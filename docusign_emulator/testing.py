"""Helpers for tests anywhere in the project: start the emulator, drive its control plane.

with EmulatorServer() as server:
    control = EmulatorControl(server.url)
    control.reset(seed=TEST_SEED)
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "TEST_ACCOUNT_1_ID",
    "TEST_ACCOUNT_2_ID",
    "TEST_ADMIN_EMAIL",
    "TEST_ADMIN_PASSWORD",
    "TEST_ADMIN_USER_ID",
    "TEST_CLIENT_ID",
    "TEST_CLIENT_SECRET",
    "TEST_NON_ADMIN_EMAIL",
    "TEST_NON_ADMIN_PASSWORD",
    "TEST_NON_ADMIN_USER_ID",
    "TEST_ORGANIZATION_ID",
    "TEST_ORG_SEED",
    "TEST_OUTSIDER_USER_ID",
    "TEST_PARTNER_ACCOUNT_ID",
    "TEST_PARTNER_ADMIN_EMAIL",
    "TEST_PARTNER_ADMIN_PASSWORD",
    "TEST_PARTNER_ADMIN_USER_ID",
    "TEST_PRIVATE_KEY_PEM",
    "TEST_PUBLIC_KEY_PEM",
    "TEST_REDIRECT_URI",
    "TEST_SEED",
    "TEST_SINGLE_ADMIN_EMAIL",
    "TEST_SINGLE_ADMIN_PASSWORD",
    "TEST_SINGLE_ADMIN_USER_ID",
    "TEST_SYSTEM_USER_EMAIL",
    "TEST_SYSTEM_USER_ID",
    "EmulatorControl",
    "EmulatorServer",
]

# --- the standard test seed ---------------------------------------------------------------
# Fixed fake credentials for tests, on purpose.
# ruff: noqa: S105

TEST_CLIENT_ID = "7c2b8d4e-1a3f-4b5c-9d6e-0f1a2b3c4d5e"
TEST_CLIENT_SECRET = "test-secret-5f0c2a9e-4d3b-4c1a-8e7f-6a5b4c3d2e1f"
TEST_REDIRECT_URI = "http://testserver/consent/callback/"
TEST_PARTNER_ACCOUNT_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
TEST_ACCOUNT_1_ID = "22222222-aaaa-4bbb-8ccc-000000000002"  # shard "na3"
TEST_ACCOUNT_2_ID = "33333333-aaaa-4bbb-8ccc-000000000003"  # shard "eu"
TEST_PARTNER_SHARD = "demo"
TEST_ACCOUNT_1_SHARD = "na3"
TEST_ACCOUNT_2_SHARD = "eu"
TEST_ORGANIZATION_ID = "44444444-aaaa-4bbb-8ccc-000000000004"

TEST_PARTNER_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000001"
TEST_PARTNER_ADMIN_EMAIL = "partner.admin@partner.test"
TEST_PARTNER_ADMIN_PASSWORD = "partner-password"
# Admin of both client accounts (account 1 is the default).
TEST_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000002"
TEST_ADMIN_EMAIL = "admin@client.test"
TEST_ADMIN_PASSWORD = "admin-password"
# Admin of client account 2 only.
TEST_SINGLE_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000003"
TEST_SINGLE_ADMIN_EMAIL = "single.admin@client.test"
TEST_SINGLE_ADMIN_PASSWORD = "single-password"
# Member (not admin) of client account 1.
TEST_NON_ADMIN_USER_ID = "aaaaaaaa-1111-4222-8333-000000000004"
TEST_NON_ADMIN_EMAIL = "member@client.test"
TEST_NON_ADMIN_PASSWORD = "member-password"

_TEST_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
TEST_PRIVATE_KEY_PEM: bytes = _TEST_KEY.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.NoEncryption(),
)
TEST_PUBLIC_KEY_PEM: str = (
    _TEST_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode("ascii")
)

TEST_SEED: dict[str, Any] = {
    "integration_keys": [
        {
            "client_id": TEST_CLIENT_ID,
            "secret": TEST_CLIENT_SECRET,
            "name": "Partner Portal (tests)",
            "account_id": TEST_PARTNER_ACCOUNT_ID,
            "redirect_uris": [TEST_REDIRECT_URI],
            "public_keys": [TEST_PUBLIC_KEY_PEM],
        }
    ],
    "accounts": [
        {
            "account_id": TEST_PARTNER_ACCOUNT_ID,
            "account_name": "Partner Co (partner)",
            "shard": TEST_PARTNER_SHARD,
            "is_partner": True,
        },
        {
            "account_id": TEST_ACCOUNT_1_ID,
            "account_name": "Client One",
            "shard": TEST_ACCOUNT_1_SHARD,
            "organization_id": TEST_ORGANIZATION_ID,
        },
        {
            "account_id": TEST_ACCOUNT_2_ID,
            "account_name": "Client Two",
            "shard": TEST_ACCOUNT_2_SHARD,
        },
    ],
    "users": [
        {
            "user_id": TEST_PARTNER_ADMIN_USER_ID,
            "email": TEST_PARTNER_ADMIN_EMAIL,
            "password": TEST_PARTNER_ADMIN_PASSWORD,
            "name": "Pat Partner",
            "memberships": [
                {"account_id": TEST_PARTNER_ACCOUNT_ID, "is_admin": True, "is_default": True}
            ],
        },
        {
            "user_id": TEST_ADMIN_USER_ID,
            "email": TEST_ADMIN_EMAIL,
            "password": TEST_ADMIN_PASSWORD,
            "name": "Ada Admin",
            "memberships": [
                {"account_id": TEST_ACCOUNT_1_ID, "is_admin": True, "is_default": True},
                {"account_id": TEST_ACCOUNT_2_ID, "is_admin": True, "is_default": False},
            ],
        },
        {
            "user_id": TEST_SINGLE_ADMIN_USER_ID,
            "email": TEST_SINGLE_ADMIN_EMAIL,
            "password": TEST_SINGLE_ADMIN_PASSWORD,
            "name": "Sol Single",
            "memberships": [
                {"account_id": TEST_ACCOUNT_2_ID, "is_admin": True, "is_default": True}
            ],
        },
        {
            "user_id": TEST_NON_ADMIN_USER_ID,
            "email": TEST_NON_ADMIN_EMAIL,
            "password": TEST_NON_ADMIN_PASSWORD,
            "name": "Mo Member",
            "memberships": [
                {"account_id": TEST_ACCOUNT_1_ID, "is_admin": False, "is_default": True}
            ],
        },
    ],
}

# Organization admin consent (API.md 7), seeded on top of TEST_SEED when a test needs it: the
# two-account admin administers an organization that claimed "client.test"; a service user of
# account 1 is in that domain, a contractor of account 1 is not; the single-account admin
# administers an organization with no claimed domain.
TEST_SYSTEM_USER_ID = "aaaaaaaa-1111-4222-8333-000000000005"
TEST_SYSTEM_USER_EMAIL = "hr.dept@client.test"
TEST_OUTSIDER_USER_ID = "aaaaaaaa-1111-4222-8333-000000000006"
TEST_ORG_SEED: dict[str, Any] = {
    "organizations": [
        {
            "organization_id": TEST_ORGANIZATION_ID,
            "name": "Client Group",
            "claimed_domains": ["client.test"],
            "admin_user_ids": [TEST_ADMIN_USER_ID],
        },
        {
            "organization_id": "55555555-aaaa-4bbb-8ccc-000000000005",
            "name": "Client Two Holdings",
            "claimed_domains": [],
            "admin_user_ids": [TEST_SINGLE_ADMIN_USER_ID],
        },
    ],
    "users": [
        {
            "user_id": TEST_SYSTEM_USER_ID,
            "email": TEST_SYSTEM_USER_EMAIL,
            "password": "hr-dept-password",
            "name": "HR Dept",
            "memberships": [{"account_id": TEST_ACCOUNT_1_ID, "is_default": True}],
        },
        {
            "user_id": TEST_OUTSIDER_USER_ID,
            "email": "contractor@elsewhere.test",
            "password": "contractor-password",
            "name": "Cy Contractor",
            "memberships": [{"account_id": TEST_ACCOUNT_1_ID, "is_default": True}],
        },
    ],
}

REPO_ROOT = Path(__file__).resolve().parent.parent


# --- the process ------------------------------------------------------------------------------


class EmulatorServer:
    """Runs `python -m docusign_emulator` in a subprocess on a free port.

    `.url` (public URL), `.auth_host` (bare host:port, the JWT `aud`), `.ca_file` (with tls),
    `.base_uri(shard)`, `.control` (an EmulatorControl), `.stop()`.
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        latency_ms: int = 0,
        state_file: str | os.PathLike | None = None,
        seed: str | os.PathLike | None = None,
        tls_dir: str | os.PathLike | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: list[str] | tuple[str, ...] = (),
        startup_timeout_s: float = 20.0,
    ):
        self.tls = tls
        self.host = host
        self.port = port
        self.latency_ms = latency_ms
        self.state_file = state_file
        self.seed = seed
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self._tmp: tempfile.TemporaryDirectory | None = None
        if tls and tls_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ds-emulator-tls-")
            tls_dir = self._tmp.name
        self.tls_dir = str(tls_dir) if tls_dir else None
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.auth_host = ""
        self.ca_file: str | None = None
        self.output: list[str] = []

    def start(self) -> EmulatorServer:
        cmd = [
            sys.executable,
            "-m",
            "docusign_emulator",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.latency_ms:
            cmd += ["--latency-ms", str(self.latency_ms)]
        if self.tls:
            cmd += ["--tls", "--tls-dir", str(self.tls_dir)]
        if self.state_file:
            cmd += ["--state-file", str(self.state_file)]
        if self.seed:
            cmd += ["--seed", str(self.seed)]
        cmd += self.extra_args
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=str(REPO_ROOT),
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            stdout = self.process.stdout if self.process is not None else None
            for line in stdout or ():
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, name="emulator-stdout", daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout_s
        marker = "DocuSign emulator listening on "
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError("emulator did not start:\n" + "".join(self.output))
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("emulator exited:\n" + "".join(self.output))
            if line.startswith(marker):
                self.url = line[len(marker) :].strip()
                break
        self.auth_host = self.url.split("://", 1)[1].rstrip("/")
        if self.tls:
            self.ca_file = os.path.join(str(self.tls_dir), "ca.pem")
        return self

    def base_uri(self, shard: str) -> str:
        return f"{self.url}/{shard}"

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.url, ca_file=self.ca_file)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the control plane ------------------------------------------------------------------------


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

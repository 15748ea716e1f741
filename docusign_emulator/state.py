"""The emulator's state: the store that holds every record, the clock, and persistence.

Everything lives in one `Store` guarded by one RLock. Handlers take the lock for short critical
sections and never sleep or do network I/O while holding it. The records themselves are in
`models.py` and the behaviour switches with their defaults in `config.py`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import asdict
from typing import Any

from docusign_emulator.config import DEFAULT_CONFIG
from docusign_emulator.envelopes import Envelope
from docusign_emulator.models import (
    Account,
    AuthCode,
    ConnectConfig,
    Failure,
    IntegrationKey,
    LogEntry,
    Membership,
    Organization,
    Token,
    User,
)

AUTH_REQUEST_TTL_S = 1800


class Clock:
    """Wall clock plus an offset moved by `/_emulator/clock`."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


def new_token(prefix: str = "eyJ0eXAiOiJNVCIsImFsZyI6IlJTMjU2In0") -> str:
    """An opaque token that looks like DocuSign's JWT-shaped tokens (API.md 1.2)."""
    return f"{prefix}.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(24)}"


class Store:
    """All state. Mutate only while holding `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.changed = threading.Event()
        # CLI flags (e.g. --latency-ms) survive /_emulator/reset.
        self.config_overrides: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config: dict[str, Any] = {**DEFAULT_CONFIG, **self.config_overrides}
            self.clock.offset = 0.0
            self.keys: dict[str, IntegrationKey] = {}
            self.accounts: dict[str, Account] = {}
            self.users: dict[str, User] = {}
            self.tokens: dict[str, Token] = {}
            # Refresh tokens by (user_id, client_id), oldest first: strict rotation caps the unused
            # ones per user and key on every refresh, which must not scan every token.
            self.refresh_tokens_by_grant: dict[tuple[str, str], list[Token]] = {}
            self.codes: dict[str, AuthCode] = {}
            self.consents: dict[str, set[str]] = {}  # "user|client" -> union of granted scopes
            self.organizations: dict[str, Organization] = {}
            # "organization|client" -> per-user scopes an org admin granted (API.md 7)
            self.org_consents: dict[str, set[str]] = {}
            self.auth_requests: dict[str, dict] = {}
            self.sessions: dict[str, str] = {}  # browser cookie -> user_id
            self.connect: dict[str, ConnectConfig] = {}  # connectId -> config
            self.next_connect_id = 22210600
            self.failures: dict[str, Failure] = {}
            self.logs: dict[str, LogEntry] = {}
            self.deliveries: list[dict] = []
            self.faults: list[dict] = []
            self.calls: dict[str, int] = {}
            self.calls_by_account: dict[str, dict[str, int]] = {}
            self.rate: dict[str, dict[str, float]] = {}
            self.envelopes: dict[str, Envelope] = {}  # envelopeId -> envelope (any account)
            # Silent drops still to apply: {"count", "account_id"?, "event"?} (control plane).
            self.drops: list[dict] = []
            self.touch()

    def touch(self) -> None:
        self.changed.set()

    def now(self) -> float:
        return self.clock.now()

    # --- seeding -------------------------------------------------------------------------
    def seed(self, data: dict) -> None:
        with self.lock:
            for raw in data.get("integration_keys", []):
                key = IntegrationKey(
                    client_id=raw["client_id"],
                    secret=raw.get("secret", ""),
                    redirect_uris=list(raw.get("redirect_uris", [])),
                    public_keys=list(raw.get("public_keys", []))[:5],
                    name=raw.get("name", ""),
                    account_id=raw.get("account_id"),
                )
                self.keys[key.client_id] = key
            for raw in data.get("accounts", []):
                previous = self.accounts.get(raw["account_id"])
                account = Account(
                    account_id=raw["account_id"],
                    account_name=raw.get("account_name", raw["account_id"]),
                    shard=raw.get("shard", "demo"),
                    organization_id=raw.get("organization_id"),
                    connect_enabled=bool(raw.get("connect_enabled", True)),
                    hmac_keys=list(raw.get("hmac_keys", previous.hmac_keys if previous else [])),
                    connect_oauth=raw.get(
                        "connect_oauth", previous.connect_oauth if previous else None
                    ),
                    is_partner=bool(
                        raw.get("is_partner", previous.is_partner if previous else False)
                    ),
                )
                self.accounts[account.account_id] = account
            for raw in data.get("users", []):
                user = User(
                    user_id=raw["user_id"],
                    email=raw["email"],
                    password=raw["password"],
                    name=raw.get("name", raw["email"]),
                    memberships=[
                        Membership(
                            account_id=m["account_id"],
                            is_admin=bool(m.get("is_admin", False)),
                            is_default=bool(m.get("is_default", False)),
                        )
                        for m in raw.get("memberships", [])
                    ],
                )
                if user.memberships and not any(m.is_default for m in user.memberships):
                    user.memberships[0].is_default = True
                self.users[user.user_id] = user
            for raw in data.get("organizations", []):
                org = Organization(
                    organization_id=raw["organization_id"],
                    name=raw.get("name", ""),
                    claimed_domains=list(raw.get("claimed_domains", [])),
                    admin_user_ids=list(raw.get("admin_user_ids", [])),
                )
                self.organizations[org.organization_id] = org
            for raw in data.get("consents", []):
                self.grant_consent(raw["user_id"], raw["client_id"], raw.get("scopes", []))
            self.touch()

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == email), None)

    # --- consent -------------------------------------------------------------------------
    def grant_consent(self, user_id: str, client_id: str, scopes: list[str]) -> None:
        self.consents.setdefault(f"{user_id}|{client_id}", set()).update(scopes)
        self.touch()

    def has_consent(self, user_id: str, client_id: str, scopes: list[str]) -> bool:
        if set(scopes) <= self.consents.get(f"{user_id}|{client_id}", set()):
            return True
        # An org admin's consent covers every user whose email is in a claimed domain (API.md 7).
        user = self.users.get(user_id)
        if user is None:
            return False
        return any(
            org.covers(user.email)
            and set(scopes) <= self.org_consents.get(f"{org.organization_id}|{client_id}", set())
            for org in self.organizations.values()
        )

    def grant_org_consent(self, organization_id: str, client_id: str, scopes: list[str]) -> None:
        self.org_consents.setdefault(f"{organization_id}|{client_id}", set()).update(scopes)
        self.touch()

    def organizations_administered(self, user_id: str) -> list[Organization]:
        return [o for o in self.organizations.values() if user_id in o.admin_user_ids]

    # --- tokens --------------------------------------------------------------------------
    def issue_token(
        self,
        *,
        kind: str,
        client_id: str,
        user_id: str,
        scopes: list[str],
        ttl: float,
        grant: str,
        family: str = "",
        expires_at: float | None = None,
    ) -> Token:
        now = self.now()
        token = Token(
            token=new_token(),
            kind=kind,
            client_id=client_id,
            user_id=user_id,
            scopes=list(scopes),
            issued_at=now,
            expires_at=expires_at if expires_at is not None else now + ttl,
            grant=grant,
            family=family or secrets.token_hex(8),
        )
        self.tokens[token.token] = token
        if kind == "refresh":
            self.refresh_tokens_by_grant.setdefault((user_id, client_id), []).append(token)
        self.touch()
        return token

    def _refresh_tokens_index(self) -> None:
        self.refresh_tokens_by_grant = {}
        for token in sorted(self.tokens.values(), key=lambda t: t.issued_at):
            if token.kind == "refresh":
                key = (token.user_id, token.client_id)
                self.refresh_tokens_by_grant.setdefault(key, []).append(token)

    def live_token(self, value: str, kind: str) -> Token | None:
        token = self.tokens.get(value)
        if token is None or token.kind != kind or token.revoked:
            return None
        if token.expires_at <= self.now():
            return None
        return token

    def gc(self) -> None:
        """Drop long-dead tokens, codes and auth requests so memory stays flat under load."""
        now = self.now()
        horizon = now - 86400
        self.tokens = {k: t for k, t in self.tokens.items() if t.expires_at > horizon}
        self._refresh_tokens_index()
        self.codes = {k: c for k, c in self.codes.items() if c.expires_at > now - 600}
        self.auth_requests = {
            k: r for k, r in self.auth_requests.items() if r["created"] > now - AUTH_REQUEST_TTL_S
        }

    # --- accounts ------------------------------------------------------------------------
    def partner_account_id(self, client_id: str | None) -> str | None:
        """The account that owns an integration key (API.md 2.4).

        Seeds may name it (`integration_keys[].account_id`); otherwise the first account marked
        as a partner (by seed `is_partner` or by `/_emulator/partner/<id>/hmac_keys`) is used.
        """
        key = self.keys.get(client_id or "")
        if key is not None and key.account_id:
            return key.account_id
        return next((a.account_id for a in self.accounts.values() if a.is_partner), None)

    def envelope_notification(self, envelope_id: str, connect_id: str) -> ConnectConfig | None:
        """An envelope's own eventNotification, when `connect_id` is its id (failures retry it)."""
        envelope = self.envelopes.get(envelope_id)
        notification = envelope.notification if envelope else None
        return notification if notification and notification.connect_id == connect_id else None

    def allocate_connect_id(self) -> str:
        self.next_connect_id += 1
        return str(self.next_connect_id)

    # --- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        with self.lock:
            return {
                "config": dict(self.config),
                "clock_offset": self.clock.offset,
                "integration_keys": [asdict(k) for k in self.keys.values()],
                "accounts": [asdict(a) for a in self.accounts.values()],
                "users": [asdict(u) for u in self.users.values()],
                "tokens": [asdict(t) for t in self.tokens.values()],
                "codes": [asdict(c) for c in self.codes.values()],
                "consents": {k: sorted(v) for k, v in self.consents.items()},
                "organizations": [asdict(o) for o in self.organizations.values()],
                "org_consents": {k: sorted(v) for k, v in self.org_consents.items()},
                "connect": [asdict(c) for c in self.connect.values()],
                "next_connect_id": self.next_connect_id,
                "failures": [asdict(f) for f in self.failures.values()],
                "logs": [asdict(entry) for entry in self.logs.values()],
                "deliveries": list(self.deliveries[-200:]),
                "envelopes": [asdict(env) for env in self.envelopes.values()],
            }

    def load_dict(self, data: dict) -> None:
        with self.lock:
            self.reset()
            self.config.update(data.get("config", {}))
            self.clock.offset = float(data.get("clock_offset", 0.0))
            self.keys = {
                k["client_id"]: IntegrationKey(**k) for k in data.get("integration_keys", [])
            }
            self.accounts = {a["account_id"]: Account(**a) for a in data.get("accounts", [])}
            for raw in data.get("users", []):
                memberships = [Membership(**m) for m in raw.pop("memberships", [])]
                self.users[raw["user_id"]] = User(memberships=memberships, **raw)
            self.tokens = {t["token"]: Token(**t) for t in data.get("tokens", [])}
            self._refresh_tokens_index()
            self.codes = {c["code"]: AuthCode(**c) for c in data.get("codes", [])}
            self.consents = {k: set(v) for k, v in data.get("consents", {}).items()}
            self.organizations = {
                o["organization_id"]: Organization(**o) for o in data.get("organizations", [])
            }
            self.org_consents = {k: set(v) for k, v in data.get("org_consents", {}).items()}
            self.connect = {
                c["wire"]["connectId"]: ConnectConfig(**c) for c in data.get("connect", [])
            }
            self.next_connect_id = int(data.get("next_connect_id", self.next_connect_id))
            for raw in data.get("envelopes", []):
                notification = raw.pop("notification", None)
                self.envelopes[raw["envelope_id"]] = Envelope(
                    notification=ConnectConfig(**notification) if notification else None, **raw
                )
            self.failures = {f["failure_id"]: Failure(**f) for f in data.get("failures", [])}
            self.logs = {e["log_id"]: LogEntry(**e) for e in data.get("logs", [])}
            self.deliveries = list(data.get("deliveries", []))


class StatePersister(threading.Thread):
    """Writes the store to a JSON file shortly after it changes (debounced)."""

    def __init__(self, store: Store, path: str, debounce_s: float = 0.3):
        super().__init__(name="state-persister", daemon=True)
        self.store = store
        self.path = path
        self.debounce_s = debounce_s
        self.stopping = threading.Event()

    def load(self) -> bool:
        if not os.path.exists(self.path):
            return False
        with open(self.path, encoding="utf-8") as fh:
            self.store.load_dict(json.load(fh))
        self.store.changed.clear()
        return True

    def write(self) -> None:
        data = self.store.to_dict()
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, self.path)

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.store.changed.wait(0.5):
                self.stopping.wait(self.debounce_s)
                self.store.changed.clear()
                self.write()

    def stop(self) -> None:
        self.stopping.set()
        self.write()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

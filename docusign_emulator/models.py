"""The records the store holds: integration keys, accounts, organizations, users, tokens, codes,
Connect configurations, failure entries and log entries.

Plain dataclasses with no locking and no behaviour beyond what their own fields decide; the
`Store` in `state.py` owns them, guards them with its lock, and persists them with `asdict`.
Handlers import them from here for type hints and to build new records.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IntegrationKey:
    client_id: str
    secret: str = ""
    redirect_uris: list[str] = field(default_factory=list)
    public_keys: list[str] = field(default_factory=list)
    name: str = ""
    # The partner account that owns the key (API.md 2.4). Optional in seeds: see partner_account_id.
    account_id: str | None = None


@dataclass
class Account:
    account_id: str
    account_name: str
    shard: str = "demo"
    organization_id: str | None = None
    connect_enabled: bool = True
    hmac_keys: list[str] = field(default_factory=list)
    connect_oauth: dict | None = None
    is_partner: bool = False


@dataclass
class Organization:
    """A DocuSign organization: its admins may consent for every user of its claimed domains."""

    organization_id: str
    name: str = ""
    claimed_domains: list[str] = field(default_factory=list)
    admin_user_ids: list[str] = field(default_factory=list)

    def covers(self, email: str) -> bool:
        domain = email.rpartition("@")[2].strip().lower()
        return bool(domain) and domain in {d.lower() for d in self.claimed_domains}


@dataclass
class Membership:
    account_id: str
    is_admin: bool = False
    is_default: bool = False


@dataclass
class User:
    user_id: str
    email: str
    password: str
    name: str = ""
    memberships: list[Membership] = field(default_factory=list)
    created: str = "2015-08-13T22:03:03.45"

    def membership(self, account_id: str) -> Membership | None:
        return next((m for m in self.memberships if m.account_id == account_id), None)


@dataclass
class Token:
    token: str
    kind: str  # "access" | "refresh"
    client_id: str
    user_id: str
    scopes: list[str]
    issued_at: float
    expires_at: float
    grant: str  # "authorization_code" | "refresh_token" | "jwt_bearer" | "control"
    family: str = ""
    revoked: bool = False
    used: bool = False


@dataclass
class AuthCode:
    code: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: list[str]
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    used: bool = False


@dataclass
class ConnectConfig:
    account_id: str
    wire: dict  # exactly what the REST API returns, strings and key order included
    client_id: str | None = None  # the integration key whose token created it
    user_id: str | None = None

    @property
    def connect_id(self) -> str:
        return self.wire["connectId"]


@dataclass
class Failure:
    failure_id: str
    account_id: str
    connect_id: str
    url: str
    event: str
    envelope_id: str
    recipient_id: str | None
    created: float
    next_retry_at: float
    retry_count: int = 0
    error: str = ""
    in_flight: bool = False
    generated_at: float = 0.0  # when the original message was generated; retries keep it
    status: str = ""  # the envelope status the failed message carried
    last_try: float = 0.0


@dataclass
class LogEntry:
    log_id: str
    account_id: str
    connect_id: str
    url: str
    envelope_id: str
    created: float
    status: str
    error: str = ""
    payload: str = ""

"""Frozen dataclasses handed to callers (tokens, accounts, rate limits; Connect's are in
connect_models.py), and the conversions from/to DocuSign's wire format they share.

The rest of the portal handles real bools, tuples and datetimes only; the ``"true"`` strings of the
REST API (API.md 2.1: "Every scalar is a string on the wire") stay inside this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint answered; the caller stores it (encrypted) and owns rotation."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
    refresh_expires_at: datetime | None = None

    def expires_within(self, seconds: float, *, now: datetime) -> bool:
        """True if the access token is expired, or will be within ``seconds`` of ``now``."""
        return self.expires_at <= now + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Account:
    account_id: str
    account_name: str
    base_uri: str
    is_default: bool
    organization_id: str | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Account:
        organization = data.get("organization") or {}
        return cls(
            account_id=str(data["account_id"]),
            account_name=str(data.get("account_name") or ""),
            base_uri=str(data.get("base_uri") or ""),
            # A JSON boolean on the wire (API.md 1.7), but the official SDK models it as a string.
            is_default=wire_bool(data.get("is_default"), default=False),
            organization_id=organization.get("organization_id") or None,
        )


@dataclass(frozen=True)
class UserInfo:
    sub: str
    name: str
    given_name: str
    family_name: str
    email: str
    created: str | None  # as sent ("2015-08-13T22:03:03.45"): no zone, so not parsed
    accounts: tuple[Account, ...] = ()

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> UserInfo:
        return cls(
            sub=str(data["sub"]),
            name=str(data.get("name") or ""),
            given_name=str(data.get("given_name") or ""),
            family_name=str(data.get("family_name") or ""),
            email=str(data.get("email") or ""),
            created=data.get("created"),
            accounts=tuple(Account.from_wire(a) for a in data.get("accounts") or ()),
        )

    @property
    def default_account(self) -> Account | None:
        return next((a for a in self.accounts if a.is_default), None)


@dataclass(frozen=True)
class RateLimitStatus:
    """The rate-limit headers of the latest REST response for one account (API.md 4)."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    burst_limit: int | None
    burst_remaining: int | None
    seen_at: datetime


def wire_bool(value: object, *, default: bool) -> bool:
    """``True``/``"true"``/``"True"`` → True; missing or ``""`` → ``default``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"not a DocuSign boolean: {value!r}")


def wire_str_bool(value: bool) -> str:
    return "true" if value else "false"


def wire_tuple(values: Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        raise TypeError("expected a list of strings, got one string")
    return tuple(str(v) for v in values)

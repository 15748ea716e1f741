"""Who may call the eSignature REST API, and how often: the token, the account membership (and,
for Connect, an administrator and Connect enabled), then the hourly and burst limits (API.md 2, 4).
Callers hold the store's lock."""

from __future__ import annotations

import math

from docusign_emulator import errors as e
from docusign_emulator.models import Token
from docusign_emulator.state import Store
from docusign_emulator.wire import Request


def _window(store: Store, account_id: str) -> dict[str, float]:
    now = store.now()
    cfg = store.config
    hour_start = now - (now % 3600)  # the clock hour (API.md 4)
    burst_len = float(cfg["burst_window_s"])
    burst_start = now - (now % burst_len)
    win = store.rate.setdefault(
        account_id,
        {"hour_start": hour_start, "hour_used": 0, "burst_start": burst_start, "burst_used": 0},
    )
    if win["hour_start"] != hour_start:
        win["hour_start"], win["hour_used"] = hour_start, 0
    if win["burst_start"] != burst_start:
        win["burst_start"], win["burst_used"] = burst_start, 0
    return win


def rate_headers(store: Store, account_id: str) -> list[tuple[str, str]]:
    win = _window(store, account_id)
    hourly, burst = int(store.config["hourly_limit"]), int(store.config["burst_limit"])
    return [
        ("X-RateLimit-Limit", str(hourly)),
        ("X-RateLimit-Remaining", str(max(0, hourly - int(win["hour_used"])))),
        ("X-RateLimit-Reset", str(int(win["hour_start"] + 3600))),
        ("X-BurstLimit-Limit", str(burst)),
        ("X-BurstLimit-Remaining", str(max(0, burst - int(win["burst_used"])))),
    ]


def set_remaining(store: Store, account_id: str, hourly: int | None, burst: int | None) -> None:
    win = _window(store, account_id)
    if hourly is not None:
        win["hour_used"] = max(0, int(store.config["hourly_limit"]) - hourly)
    if burst is not None:
        win["burst_used"] = max(0, int(store.config["burst_limit"]) - burst)


def _limit_error(store: Store, pair: tuple[str, str], resets_at: float) -> e.RestError:
    err = e.rest(int(store.config["rate_limit_status"]), pair)
    if store.config.get("send_retry_after"):
        # Not documented by DocuSign (API.md 4), hence off by default: whole seconds until the
        # exceeded window resets, at least 1.
        err.headers.append(("Retry-After", str(max(1, math.ceil(resets_at - store.now())))))
    return err


def _consume(store: Store, account_id: str) -> None:
    win = _window(store, account_id)
    if win["hour_used"] >= int(store.config["hourly_limit"]):
        raise _limit_error(store, e.HOURLY_LIMIT, win["hour_start"] + 3600)
    if win["burst_used"] >= int(store.config["burst_limit"]):
        resets_at = win["burst_start"] + float(store.config["burst_window_s"])
        raise _limit_error(store, e.BURST_LIMIT, resets_at)
    win["hour_used"] += 1
    win["burst_used"] += 1


def authenticate(
    store: Store, req: Request, shard: str, account_id: str, *, connect_call: bool = True
) -> Token:
    """The caller's token, after the rate limits; Connect calls also need an account
    administrator and Connect enabled (API.md 2), envelope calls only a member."""
    if not (req.header("Authorization") or "").strip():
        raise e.rest(401, e.USER_AUTH_FAILED)
    token = store.live_token(req.bearer() or "", "access")
    if token is None:
        raise e.rest(401, e.INVALID_TOKEN)
    user = store.users.get(token.user_id)
    account = store.accounts.get(account_id)
    if user is None or account is None or account.shard != shard:
        raise e.rest(400, e.NOT_MEMBER)
    membership = user.membership(account_id)
    if membership is None:
        raise e.rest(400, e.NOT_MEMBER)
    _consume(store, account_id)
    if not connect_call:
        return token
    if not membership.is_admin:
        raise e.rest(403, e.LACKS_PERMISSIONS)
    if not account.connect_enabled:
        raise e.rest(400, e.CONNECT_NOT_ENABLED)
    return token

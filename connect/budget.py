"""The shared per-account budget of DocuSign calls, counted across every worker process.

DocuSign limits calls per account per clock hour and per 30-second burst window, across all apps
(API.md 4). Celery's `rate_limit` is per worker, so it cannot enforce that; this counter can. A
reconcile reserves its calls before making them; when the budget is spent it is rescheduled
instead of calling. With REDIS_URL the counters are Redis keys updated by one Lua script (atomic,
expiring with their window); without Redis, rows in `ApiBudgetWindow` under a row lock.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import F

from common.redis_clients import redis_client
from connect.models import ApiBudgetWindow

logger = logging.getLogger(__name__)


class BudgetExhausted(Exception):
    """The portal's share of an account's budget is spent; try again after `retry_after` s."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = max(1.0, retry_after)


class BudgetUnavailable(Exception):
    """The budget could not be checked (Redis is away or restarting): nothing was called, and the
    caller retries with backoff as after DocuSign's 5xx. The message is what staff read."""

    def __init__(self) -> None:
        super().__init__(
            "The shared DocuSign call budget could not be checked (Redis was briefly "
            "unavailable); retrying."
        )


# KEYS: hour key, burst key. ARGV: calls, hourly limit, hour ttl, burst limit, burst ttl.
# Returns 0 when reserved, 1 when the hourly budget is spent, 2 when the burst budget is.
_RESERVE_LUA = """
local n = tonumber(ARGV[1])
local h = redis.call('INCRBY', KEYS[1], n)
if h == n then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
local b = redis.call('INCRBY', KEYS[2], n)
if b == n then redis.call('EXPIRE', KEYS[2], ARGV[5]) end
if h > tonumber(ARGV[2]) or b > tonumber(ARGV[4]) then
  redis.call('DECRBY', KEYS[1], n)
  redis.call('DECRBY', KEYS[2], n)
  if h > tonumber(ARGV[2]) then return 1 end
  return 2
end
return 0
"""
_scripts_lock = threading.Lock()
_scripts: dict[str, object] = {}


def _reserve_script():
    """The registered Lua script, one per Redis URL per process (the client pools connections)."""
    url = settings.REDIS_URL
    script = _scripts.get(url)
    if script is None:
        with _scripts_lock:
            script = _scripts.get(url)
            if script is None:
                script = redis_client(url).register_script(_RESERVE_LUA)
                _scripts[url] = script
    return script


def _windows(now: float) -> tuple[int, int, int]:
    burst_len = int(settings.CONNECT_BUDGET_BURST_WINDOW_S)
    return int(now - now % 3600), int(now - now % burst_len), burst_len


def budget_reserve(*, account_id: str, calls: int, clock: Callable[[], float] = time.time) -> None:
    """Reserve `calls` DocuSign calls on `account_id`, or raise `BudgetExhausted`. `clock` gives
    epoch seconds (a test holds it still so every call falls in one window)."""
    if calls <= 0:
        return
    now = clock()
    hour_start, burst_start, burst_len = _windows(now)
    hourly, burst = int(settings.CONNECT_BUDGET_HOURLY), int(settings.CONNECT_BUDGET_BURST)
    if settings.REDIS_URL:
        verdict = _reserve_in_redis(
            keys=[
                f"connect:budget:h:{account_id}:{hour_start}",
                f"connect:budget:b:{account_id}:{burst_start}",
            ],
            args=[calls, hourly, 3600 + 60, burst, burst_len + 5],
        )
    else:
        verdict = _reserve_in_db(account_id, calls, hour_start, hourly, burst_start, burst)
    if verdict == 1:
        raise BudgetExhausted(
            "The hourly DocuSign call budget of this account is spent.",
            retry_after=hour_start + 3600 - now,
        )
    if verdict == 2:
        raise BudgetExhausted(
            "The burst DocuSign call budget of this account is spent.",
            retry_after=burst_start + burst_len - now,
        )


def _reserve_in_redis(*, keys: list[str], args: list[int]) -> int:
    import redis

    try:
        return int(_reserve_script()(keys=keys, args=args))
    except redis.RedisError as exc:
        logger.warning("DocuSign call budget: Redis error, retrying later (%s)", exc)
        raise BudgetUnavailable() from None


@transaction.atomic
def _reserve_in_db(
    account_id: str, calls: int, hour_start: int, hourly: int, burst_start: int, burst: int
) -> int:
    rows = {}
    for window, start in (("hour", hour_start), ("burst", burst_start)):
        rows[window], _ = ApiBudgetWindow.objects.select_for_update().get_or_create(
            account_id=account_id, window=window, window_start=start
        )
    if rows["hour"].used + calls > hourly:
        return 1
    if rows["burst"].used + calls > burst:
        return 2
    ApiBudgetWindow.objects.filter(pk__in=[r.pk for r in rows.values()]).update(
        used=F("used") + calls
    )
    return 0


def budget_windows_prune() -> int:
    """Drop database windows older than two hours (the Redis keys expire by themselves)."""
    cutoff = int(time.time()) - 2 * 3600
    deleted, _ = ApiBudgetWindow.objects.filter(window_start__lt=cutoff).delete()
    return deleted

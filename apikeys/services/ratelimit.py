"""The per-key rate limit of the partner API: requests per one-minute window, counted across every
web process. With REDIS_URL the counters are expiring Redis keys; without Redis (or while it is
unreachable) rows in `ApiRateWindow` under a row lock."""

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F

from apikeys.models import ApiRateWindow
from common.redis_clients import redis_client

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

WINDOW_S = 60


@dataclass(frozen=True)
class RateVerdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window ends


def _redis() -> "redis.Redis":
    # A short bound: a request waits on Redis at most half a second, then falls back.
    return redis_client(settings.REDIS_URL, timeout_s=0.5)


def api_rate_take(*, api_key_id: int) -> RateVerdict:
    """Count one request for the key; `allowed` is False once the window's limit is passed."""
    limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
    now = time.time()
    window_start = int(now - now % WINDOW_S)
    retry_after = max(1, int(window_start + WINDOW_S - now + 0.999))
    used = None
    if settings.REDIS_URL:
        import redis

        key = f"api:rate:{api_key_id}:{window_start}"
        try:
            pipe = _redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW_S + 5)
            used = int(pipe.execute()[0])
        except redis.RedisError as exc:
            logger.warning("API rate limit falls back to the database: %s", type(exc).__name__)
    if used is None:
        used = _take_in_db(api_key_id, window_start)
    return RateVerdict(
        allowed=used <= limit,
        limit=limit,
        remaining=max(0, limit - used),
        retry_after=retry_after,
    )


@transaction.atomic
def _take_in_db(api_key_id: int, window_start: int) -> int:
    row, _ = ApiRateWindow.objects.select_for_update().get_or_create(
        api_key_id=api_key_id, window_start=window_start
    )
    ApiRateWindow.objects.filter(pk=row.pk).update(used=F("used") + 1)
    return row.used + 1


def api_rate_windows_prune() -> int:
    cutoff = int(time.time()) - 2 * WINDOW_S
    deleted, _ = ApiRateWindow.objects.filter(window_start__lt=cutoff).delete()
    return deleted

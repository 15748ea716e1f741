"""One Redis client per URL and timeout per process: each client pools its connections, so every
caller (the call budget, the API rate limit, the broker marker) shares them."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

_lock = threading.Lock()
_clients: dict[tuple[str, float | None], redis.Redis] = {}


def redis_client(url: str, *, timeout_s: float | None = None) -> redis.Redis:
    """The process's client for `url`; `timeout_s` bounds connecting and each command (None:
    redis-py's default, no bound)."""
    key = (url, timeout_s)
    client = _clients.get(key)
    if client is None:
        import redis

        with _lock:
            client = _clients.setdefault(
                key,
                redis.Redis.from_url(
                    url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
                ),
            )
    return client

"""When a failed delivery is tried again: the whole retry schedule, in one place.

Attempt 1 goes out as soon as the event is stored; after the n-th failure the next attempt waits
RETRY_DELAYS_S[n-1], stretched or shrunk by up to JITTER at random so that the deliveries of an
outage do not all come back at the same second. Fifteen attempts over about three days
(3 d 4 h without jitter); after the last failure the delivery is dead (staff can replay it).
A 429 with Retry-After waits at least that long (up to MAX_RETRY_AFTER_S).
"""

import random
from datetime import datetime, timedelta

RETRY_DELAYS_S = (
    5,
    30,
    2 * 60,
    10 * 60,
    30 * 60,
    60 * 60,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
    12 * 3600,
)
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
JITTER = 0.2
MAX_RETRY_AFTER_S = 24 * 3600


def next_attempt_at(
    *, failures: int, now: datetime, retry_after_s: int | None = None, rng: random.Random
) -> datetime | None:
    """When to try again after `failures` failed attempts; None when the delivery is dead."""
    if failures >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS_S[failures - 1] * rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return now + timedelta(seconds=delay)

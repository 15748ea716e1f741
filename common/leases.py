"""Leases on queued work, and what every task does with a transient error.

A unit of work (a tenant's sync, a token refresh, a bulk item) gets a lease when it is enqueued;
its message expires with it, and a beat sweep re-enqueues work whose lease ran out. Transient
errors (DocuSign's 5xx, a database connection dropped or a server restarting) are retried with
backoff and never recorded as a final failure. Settings and reasons: portal/settings/workers.py,
"How lost work comes back".
"""

import contextlib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from common.redis_clients import redis_client

# A dropped connection, a server shutting down or restarting, a failover: try again shortly.
DATABASE_ERRORS = (OperationalError, InterfaceError)
# What staff read instead of the exception's text.
DATABASE_UNAVAILABLE = "The database was briefly unavailable; retrying."
# The longest countdown a task schedules; longer waits are left to the lease sweep (it must stay
# under the broker's visibility timeout).
MAX_COUNTDOWN_S = 600


def lease_seconds() -> int:
    return int(settings.WORK_LEASE_S)


def lease_until(*, after_s: float = 0) -> datetime:
    """When a lease taken now ends, for work that starts `after_s` from now."""
    return timezone.now() + timedelta(seconds=after_s + lease_seconds())


def lease_renewal_needed(message_expires: datetime | str | None) -> bool:
    """Whether a task starting now should renew its lease (its message expires with the lease):
    unless it was enqueued moments ago, the usual case without a backlog, which still has nine
    tenths of its lease to run in and spends no write on it."""
    if not message_expires:
        return True
    if isinstance(message_expires, str):
        message_expires = datetime.fromisoformat(message_expires)
    return (message_expires - timezone.now()).total_seconds() < lease_seconds() * 0.9


def retry_backoff_s(tries: int) -> int:
    """Exponential backoff for DocuSign's transient errors: 10 s, 20 s, ... up to 10 minutes."""
    return min(MAX_COUNTDOWN_S, 10 * 2**tries)


def database_backoff_s(tries: int) -> int:
    """A database blip is usually over in a second or two: 1 s, 2 s, 4 s, ... up to a minute."""
    return min(60, 2**tries)


def database_connection_discard() -> None:
    """After a database error inside a task: drop this thread's connection, so the retry (or the
    next task) opens a new one instead of reusing the dead one."""
    with contextlib.suppress(DATABASE_ERRORS):
        connection.close()


# --- a broker that lost what it held ------------------------------------------------------------


def broker_emptied(*, beat_task: str) -> bool:
    """Whether the broker lost what it held since `beat_task` last marked it (restarted without
    persistence, flushed, failed over to an empty server): the marker key each beat task keeps in
    the broker is gone. Work queued before then is lost now; waiting for its lease to run out
    would cost a lease and a tick more. True on the very first run too (harmless: every task is safe
    to run twice); False for a broker other than Redis."""
    client = broker_redis()
    return client is not None and not client.exists(_marker_key(beat_task))


def broker_mark(*, beat_task: str) -> None:
    """`beat_task` has enqueued everything it found lost: the broker holds its work again."""
    client = broker_redis()
    if client is not None:
        client.set(_marker_key(beat_task), "1")


def _marker_key(beat_task: str) -> str:
    return f"portal:broker-marker:{beat_task}"


def broker_redis() -> Any:
    """The broker's Redis (keys that describe the queues live beside them); None for another
    broker."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    return redis_client(url, timeout_s=10)

"""Work that must not run twice at once for the same thing, across every process: a PostgreSQL
session-level advisory lock, tried (never waited for) and held for a block of work that makes
HTTP calls, with no transaction open. A killed worker's lock goes with its connection, so nothing
is left to expire. Without PostgreSQL (the embedded single-machine run) the lock is always held.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from django.db import connection

from common.leases import DATABASE_ERRORS


def _lock_id(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def run_lock(name: str) -> Iterator[bool]:
    """`with run_lock("what") as held:` whether this process holds the lock for the block (False:
    another process is doing that work right now)."""
    if connection.vendor != "postgresql":
        yield True
        return
    lock_id = _lock_id(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        (held,) = cursor.fetchone()
    try:
        yield held
    finally:
        if held:
            # A connection lost meanwhile took the lock with it.
            with contextlib.suppress(*DATABASE_ERRORS), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])

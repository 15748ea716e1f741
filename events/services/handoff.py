"""Handing committed Connect events to Celery, a short batch at a time.

Publishing one Celery message costs about 0.7 ms of CPU in the web process (Celery builds headers
and a message id, kombu opens a Redis client per publish; 0.5 ms even inside kombu's own publish
batch): more than verifying and storing the event itself, on the receiver's hottest path. So once
an event's row is committed the receiver only appends its id here; a background thread of this
process hands every id collected during the next `WINDOW_S` to Celery as ONE
`connect_events_process` task (a few microseconds per event instead of 0.7 ms).

Nothing can be lost silently: what a crash between commit and hand-off, or a broker outage, drops
is still `processed_at IS NULL` in the database, and the `connect_events_sweep` beat task enqueues
it. Processing is idempotent per event (`health.connect_event_process` claims the row first).
"""

import atexit
import logging
import os
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# Long enough to gather a useful batch under load (one publish costs Celery a few milliseconds of
# CPU on a small machine), short enough that staff never notice the delay (the event is visible
# in the portal as soon as it is committed; only the counters wait).
WINDOW_S = 0.25
MAX_IDS_PER_TASK = 500

_lock = threading.Lock()
_pending: list[int] = []
_wakeup = threading.Event()
_flusher_pid: int | None = None


def event_processing_enqueue(*, event_id: int) -> None:
    """Call after the event's row is committed. Never raises for a broker problem (the row is
    safe and the sweep will process it), except in eager mode where errors must surface."""
    with _lock:
        _pending.append(event_id)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Tests and the eager development mode: no background thread, process in the caller.
        events_processing_flush()
        return
    _flusher_ensure()
    if not _wakeup.is_set():  # a plain read; set() takes a lock and notifies, per event
        _wakeup.set()


def events_processing_flush() -> int:
    """Hand every pending id to Celery now; returns how many ids were handed over."""
    from events.tasks import connect_events_process

    with _lock:
        event_ids = _pending[:]
        _pending.clear()
    handed = 0
    for start in range(0, len(event_ids), MAX_IDS_PER_TASK):
        chunk = event_ids[start : start + MAX_IDS_PER_TASK]
        try:
            connect_events_process.delay(chunk)
        except Exception:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                raise
            logger.exception(
                "Processing of %s Connect events not enqueued; the sweep will", len(chunk)
            )
        else:
            handed += len(chunk)
    return handed


def _flusher_ensure() -> None:
    """One flusher thread per process, started on first use (so after gunicorn forks)."""
    global _flusher_pid
    if _flusher_pid == os.getpid():
        return
    with _lock:
        if _flusher_pid == os.getpid():
            return
        threading.Thread(target=_flusher_run, name="connect-events-handoff", daemon=True).start()
        if _flusher_pid is None:
            # A worker that stops gracefully hands over what it still holds.
            atexit.register(events_processing_flush)
        _flusher_pid = os.getpid()


def _flusher_run() -> None:
    while True:
        _wakeup.wait()
        time.sleep(WINDOW_S)
        # Cleared before the ids are taken: an id added after this point sets it again.
        _wakeup.clear()
        try:
            events_processing_flush()
        except Exception:  # never let the thread die; the sweep covers what this run dropped
            logger.exception("Connect events hand-off failed")

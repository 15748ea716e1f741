"""The Celery app, and the whole periodic schedule in one place.

Beat only enqueues "find what is due" tasks; each of them reads the due work from the database and
fans out one small task per tenant. Losing the broker therefore costs time, never work.
"""

import os

from celery import Celery
from celery.signals import task_postrun, worker_process_shutdown, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _database_connections_tidy(task=None, **kwargs):
    """After each task, what Django does after each request: close a connection only when it is
    broken, in a transaction left open, or older than CONN_MAX_AGE (CELERY_DB_REUSE_MAX keeps
    Celery from closing them all). Eager tasks run inside their caller's connection: untouched."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None:
            # No `SELECT 1` before each task (its cost: bench/README.md); a connection dropped while
            # idle fails one task, which is retried or found due again.
            connection.health_check_done = True


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender, **kwargs):
    # kombu's filesystem transport expects its folders to exist before anyone publishes.
    for folder in (sender.conf.broker_transport_options or {}).values():
        if isinstance(folder, str) and folder.startswith("/"):
            os.makedirs(folder, exist_ok=True)


@worker_process_shutdown.connect
def _metrics_process_forget(pid=None, **kwargs):
    # prometheus-client's multiprocess mode: a dead (prefork) process's live gauges must go.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@worker_ready.connect
def _metrics_endpoint_start(**kwargs):
    """Serve this worker's metrics at WORKER_METRICS_BIND (host:port) when it is set."""
    from django.conf import settings

    if not settings.WORKER_METRICS_BIND:
        return
    from prometheus_client import start_http_server

    from portal.metrics import process_registry

    host, _, port = settings.WORKER_METRICS_BIND.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1", registry=process_registry())


app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "common.tasks.worker_heartbeat",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    # Tokens (tenants.tasks): refresh what expires within 30 minutes or idled for a week, and
    # refreshes whose lease ran out, every minute (a leased refresh is not enqueued twice).
    "token-refresh-due": {
        "task": "tenants.tasks.token_refresh_due",
        "schedule": 60.0,
        "options": {"queue": "refresh", "expires": 55},
    },
    "token-lapse-reminders-due": {
        "task": "tenants.tasks.token_lapse_reminders_due",
        "schedule": 3600.0,
        "options": {"queue": "refresh", "expires": 3500},
    },
    # Connect events (events.tasks): count events whose processing task was lost with the broker.
    "events-connect-events-sweep": {
        "task": "events.tasks.connect_events_sweep",
        "schedule": 300.0,
        "options": {"queue": "default", "expires": 290},
    },
    # Delivery recovery (recovery.tasks): every minute, copy the failure log of each tenant not
    # copied within RECOVERY_FAILURES_INTERVAL_S, and prove completeness for each tenant not
    # checked within RECOVERY_COMPLETENESS_INTERVAL_S; both within each account's budget.
    "recovery-delivery-failures-copy-due": {
        "task": "recovery.tasks.delivery_failures_copy_due",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    "recovery-completeness-check-due": {
        "task": "recovery.tasks.completeness_check_due",
        "schedule": 300.0,
        "options": {"queue": "default", "expires": 290},
    },
    # Forwarding (forwarding.tasks): every 10 s, enqueue deliveries that are due and held by no
    # live worker (retries beyond a countdown, a lost message, a killed worker); and purge events
    # older than EVENT_RETENTION_DAYS in batches, hourly (events.tasks).
    "forwarding-deliveries-due": {
        "task": "forwarding.tasks.deliveries_due_enqueue",
        "schedule": 10.0,
        "options": {"queue": "default", "expires": 9},
    },
    "events-retention-purge": {
        "task": "events.tasks.connect_events_purge",
        "schedule": 3600.0,
        "options": {"queue": "default", "expires": 3500},
    },
    # Connect sync (connect.tasks): every minute, enqueue one reconcile per tenant whose last sync
    # is older than CONNECT_SYNC_INTERVAL_S; tenants already queued are not enqueued again.
    # Invites (tenants.tasks): hourly, re-send unanswered invites that are due a reminder.
    "invite-nudges-due": {
        "task": "tenants.tasks.invite_nudges_due",
        "schedule": 3600.0,
        "options": {"queue": "refresh", "expires": 3500},
    },
    "consent-attempts-purge": {
        "task": "tenants.tasks.consent_attempts_purge",
        "schedule": 3600.0,
        "options": {"queue": "refresh", "expires": 3500},
    },
    "connect-sync-due": {
        "task": "connect.tasks.connect_sync_due",
        "schedule": 60.0,
        "options": {"queue": "sync", "expires": 55},
    },
    # Alerts (alerts.tasks): every minute, compare "needs a human" with the open alerts and send
    # the notices due; hourly, the daily digest once ALERT_DIGEST_HOUR (UTC) has come.
    "alerts-evaluate": {
        "task": "alerts.tasks.alerts_evaluate",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    "alerts-digest": {
        "task": "alerts.tasks.alerts_digest",
        "schedule": 3600.0,
        "options": {"queue": "default", "expires": 3500},
    },
    # Bulk operations (common.tasks): pending items whose lease ran out are enqueued again, so
    # every operation finishes even after a worker or the broker was lost.
    "bulk-items-sweep": {
        "task": "common.tasks.bulk_items_sweep",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    # The partner API (apikeys.tasks): forget idempotent answers past 24 hours and spent
    # rate-limit windows of the database fallback.
    "api-housekeeping": {
        "task": "apikeys.tasks.api_housekeeping",
        "schedule": 3600.0,
        "options": {"queue": "default", "expires": 3500},
    },
}

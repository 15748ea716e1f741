"""The Prometheus counters and histograms processes add to as work happens.

Gauges of the fleet (tenants per state, queue depth, ...) are read from the database and Redis
when `/metrics` is scraped instead (portal/metrics.py). With PROMETHEUS_MULTIPROC_DIR set, every
process (gunicorn workers, Celery workers) writes its values to files there and a scrape adds them
up: prometheus-client's multiprocess mode. Every label takes a bounded set of values: outcomes,
reasons, endpoint templates, never an id or a secret. Every metric has labels, so a process opens
its file only when it first counts (never at import, before a test run has emptied the folder).
"""

from prometheus_client import Counter, Histogram

from docusign_api import CallObserved

TOKEN_REFRESHES = Counter(
    "portal_token_refreshes",
    "Token refreshes by outcome: refreshed, not_due, sibling_refreshed, transient, "
    "reconsent_required, refused, configuration_error, lock_timeout.",
    ["outcome"],
)
CONNECT_SYNCS = Counter(
    "portal_connect_syncs",
    "Connect configuration reconciles by outcome (in_sync, changed, drift, failed, skipped).",
    ["outcome"],
)
DOCUSIGN_REQUESTS = Counter(
    "portal_docusign_requests",
    "HTTP calls to DocuSign by method, endpoint template and status (or timeout, "
    "connection_error).",
    ["method", "endpoint", "status"],
)
DOCUSIGN_REQUEST_SECONDS = Histogram(
    "portal_docusign_request_duration_seconds",
    "Time for one HTTP call to DocuSign, by method and endpoint template.",
    ["method", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CONNECT_EVENTS_RECEIVED = Counter(
    "portal_connect_events_received",
    "Connect deliveries accepted by the receiver: stored, or a duplicate of a stored event.",
    ["result"],
)
CONNECT_EVENTS_REJECTED = Counter(
    "portal_connect_events_rejected",
    "Connect deliveries refused, by reason: malformed, unauthenticated, too_large, "
    "unstorable, database_unavailable.",
    ["reason"],
)
FORWARDING_ATTEMPTS = Counter(
    "portal_forwarding_attempts",
    "Deliveries of events to partners' destinations, per attempt: delivered, failed (retried "
    "later) or dead (retries exhausted).",
    ["outcome"],
)
FORWARDING_ATTEMPT_SECONDS = Histogram(
    "portal_forwarding_attempt_duration_seconds",
    "Time for one forwarding attempt to a destination to be answered (or to fail), by outcome.",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# The receiver's refusals by HTTP status (events.errors.EventRejected.status).
EVENT_REJECTION_REASONS = {400: "malformed", 401: "unauthenticated", 413: "too_large"}


def docusign_call_observe(call: CallObserved) -> None:
    """The DocuSign client's observer (tenants/docusign.py passes it to every client)."""
    DOCUSIGN_REQUESTS.labels(call.method, call.endpoint, call.status).inc()
    DOCUSIGN_REQUEST_SECONDS.labels(call.method, call.endpoint).observe(call.seconds)


def connect_event_rejected_count(*, status: int) -> None:
    CONNECT_EVENTS_REJECTED.labels(EVENT_REJECTION_REASONS.get(status, f"http_{status}")).inc()

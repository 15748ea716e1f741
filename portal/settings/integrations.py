"""DocuSign, Connect, delivery recovery, forwarding, metrics and the partner API."""

from portal.settings.environment import DEBUG, read

# --- DocuSign -------------------------------------------------------------------------------------
# The emulator the run command starts; the demo integration points here. Real DocuSign is only a
# matter of an Integration whose auth host is account-d.docusign.com or account.docusign.com.
DOCUSIGN_EMULATOR_URL = read("DOCUSIGN_EMULATOR_URL", "str", default="http://127.0.0.1:8765")
DOCUSIGN_CA_BUNDLE = read("DOCUSIGN_CA_BUNDLE", "str", default="") or None
DOCUSIGN_CONNECT_TIMEOUT_S = read("DOCUSIGN_CONNECT_TIMEOUT_S", "float", default=3.05)
DOCUSIGN_READ_TIMEOUT_S = read("DOCUSIGN_READ_TIMEOUT_S", "float", default=10.0)
# Hosts a consenting account's base_uri may point at, per environment (userinfo is trusted, but a
# base URI outside DocuSign would make us send tokens elsewhere).
DOCUSIGN_ALLOWED_BASE_URI_HOSTS = {
    "demo": read("DOCUSIGN_DEMO_BASE_URI_HOSTS", "list", default=["demo.docusign.net"]),
    "production": read(
        "DOCUSIGN_PRODUCTION_BASE_URI_HOSTS", "list", default=["*.docusign.net", "*.docusign.com"]
    ),
}
INVITE_VALID_DAYS = read("INVITE_VALID_DAYS", "int", default=7)
# An invite not answered after this many days needs a human, and is re-sent once automatically;
# a second re-send goes out INVITE_NUDGE_BEFORE_EXPIRY_HOURS before it expires (two at most).
INVITE_UNANSWERED_DAYS = read("INVITE_UNANSWERED_DAYS", "int", default=3)
INVITE_NUDGE_BEFORE_EXPIRY_HOURS = read("INVITE_NUDGE_BEFORE_EXPIRY_HOURS", "int", default=24)
CONSENT_STATE_TTL_S = read("CONSENT_STATE_TTL_S", "int", default=600)
TOKEN_REFRESH_MARGIN_S = read("TOKEN_REFRESH_MARGIN_S", "int", default=600)
# The CA bundle the TLS proxy in front of the Connect receiver verifies DocuSign's client
# certificate with; a template may require mutual TLS only when it is set (README).
CONNECT_MTLS_CLIENT_CA = read("CONNECT_MTLS_CLIENT_CA", "str", default="")
CONNECT_EVENT_MAX_BYTES = read("CONNECT_EVENT_MAX_BYTES", "int", default=1024 * 1024)
# Connect configuration sync (connect/): how often each tenant is reconciled, and the share of
# DocuSign's per-account budgets (API.md 4) the portal allows itself, leaving room for the client's
# other apps. Counted across every worker (Redis when REDIS_URL is set, the database otherwise).
CONNECT_SYNC_INTERVAL_S = read("CONNECT_SYNC_INTERVAL_S", "int", default=3600)
CONNECT_SYNC_BATCH = read("CONNECT_SYNC_BATCH", "int", default=2000)
CONNECT_BUDGET_HOURLY = read("CONNECT_BUDGET_HOURLY", "int", default=1000)
CONNECT_BUDGET_BURST = read("CONNECT_BUDGET_BURST", "int", default=100)
CONNECT_BUDGET_BURST_WINDOW_S = read("CONNECT_BUDGET_BURST_WINDOW_S", "int", default=30)
# Delivery recovery (recovery/): how often each account's failure log is copied, envelope ids per
# retry_queue call, and the completeness proof (window, statuses compared, grace for events still
# in flight, how often, and whether gaps are republished without a human).
RECOVERY_FAILURES_INTERVAL_S = read("RECOVERY_FAILURES_INTERVAL_S", "int", default=900)
RECOVERY_READ_CONNECT_LOGS = read("RECOVERY_READ_CONNECT_LOGS", "bool", default=True)
RECOVERY_REPUBLISH_BATCH = read("RECOVERY_REPUBLISH_BATCH", "int", default=100)
RECOVERY_COMPLETENESS_DAYS = read("RECOVERY_COMPLETENESS_DAYS", "int", default=7)
RECOVERY_COMPLETENESS_STATUSES = read(
    "RECOVERY_COMPLETENESS_STATUSES", "list", default=["completed", "declined", "voided"]
)
RECOVERY_COMPLETENESS_GRACE_S = read("RECOVERY_COMPLETENESS_GRACE_S", "int", default=300)
RECOVERY_COMPLETENESS_INTERVAL_S = read("RECOVERY_COMPLETENESS_INTERVAL_S", "int", default=6 * 3600)
RECOVERY_AUTO_REPUBLISH = read("RECOVERY_AUTO_REPUBLISH", "bool", default=False)
# Outbound calls to URLs a person typed (common/outbound.py) refuse private and loopback addresses,
# and plain http, except for these hosts (`host` or `host:port`); development allows this machine.
OUTBOUND_ALLOWED_HOSTS = read(
    "OUTBOUND_ALLOWED_HOSTS", "list", default=["127.0.0.1", "localhost"] if DEBUG else []
)

# Forwarding events to the partner's application (forwarding/): the HTTP timeouts of one attempt,
# how long a destination may fail without a single success before it is paused (and staff
# alerted), how long a rotated signing secret keeps signing, and how long events are kept.
FORWARDING_CONNECT_TIMEOUT_S = read("FORWARDING_CONNECT_TIMEOUT_S", "float", default=3.05)
FORWARDING_READ_TIMEOUT_S = read("FORWARDING_READ_TIMEOUT_S", "float", default=10.0)
# Threads per forwarder process sending deliveries (every sender of the process shares them; a
# destination never has more than its max_in_flight, at most 32, in flight): above 32, so that
# one slow destination never takes them all.
FORWARDING_SEND_THREADS = read("FORWARDING_SEND_THREADS", "int", default=64)
FORWARDING_PAUSE_AFTER_S = read("FORWARDING_PAUSE_AFTER_S", "int", default=24 * 3600)
FORWARDING_SECRET_OVERLAP_S = read("FORWARDING_SECRET_OVERLAP_S", "int", default=24 * 3600)
EVENT_RETENTION_DAYS = read("EVENT_RETENTION_DAYS", "int", default=30)
# How long a queued processing task waits before it takes the stored events (events arriving
# meanwhile join its batch instead of queueing tasks of their own): latency traded for a task
# per batch rather than per event (bench/README.md, "Forwarding"). 0: no wait.
EVENTS_BATCH_WINDOW_MS = read("EVENTS_BATCH_WINDOW_MS", "int", default=100)

# --- Metrics (portal/metrics.py) ------------------------------------------------------------------
# `/metrics` answers only requests bearing this token; empty turns the endpoint off.
METRICS_TOKEN = read("METRICS_TOKEN", "str", default="")
# portal_docusign_rate_limit_remaining shows the accounts with the fewest calls left, this many.
METRICS_TOP_ACCOUNTS = read("METRICS_TOP_ACCOUNTS", "int", default=20)
# host:port where each Celery worker serves its own metrics (empty: none), for workers that do not
# share PROMETHEUS_MULTIPROC_DIR with the web processes (a container each). Internal address only.
WORKER_METRICS_BIND = read("WORKER_METRICS_BIND", "str", default="")

# --- Partner API (portal/api/) -------------------------------------------------------------------
# Requests per API key per minute, counted across every web process (Redis, else the database).
API_RATE_LIMIT_PER_MINUTE = read("API_RATE_LIMIT_PER_MINUTE", "int", default=600)
# The largest JSON body the API reads; a bigger one is refused before it is parsed.
API_MAX_BODY_BYTES = read("API_MAX_BODY_BYTES", "int", default=64 * 1024)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["portal.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.auth.HasScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.auth.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.problems.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["portal.api.problems.ApiJSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DocuSign Partner Portal API",
    "DESCRIPTION": (
        "Drive the portal from the partner's own systems: register tenants, get invite links, "
        "read consent, token and Connect health, trigger work. Authenticate with "
        "`Authorization: Bearer ppk_…` (keys are created by owners and admins under Settings → "
        "API keys). Errors are RFC 9457 problem documents. Every POST accepts an "
        "`Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # `<id:...>` in the API's URLs (portal.api.serializers.base.IdConverter).
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TenantStatusEnum": "tenants.models.Tenant.Status",
        "TenantStatusFilterEnum": "portal.api.serializers.tenants.STATUS_FILTER_VALUES",
        "ConnectHealthEnum": "portal.api.serializers.tenants.CONNECT_HEALTH_VALUES",
        "ConnectHealthOrUntrackedEnum": "portal.api.serializers.tenants.CONNECT_HEALTH_CHOICES",
        "InviteKindEnum": "tenants.models.Invite.Kind",
        "BulkKindEnum": "common.models.BulkOperation.Kind",
    },
}

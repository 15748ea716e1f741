"""Every setting of the portal, read from the environment in this one module.

Differences between environments come from variables (see `.env.example`), never from extra settings
files. Development defaults are safe; with DEBUG off every secret must be given explicitly.
"""

from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "sqlite"}


def _read(name, cast, **kwargs):
    """Read one variable; a missing or malformed value stops start-up with a message naming it."""
    raw = env.str(name, default=None)
    if cast == "bool" and raw is not None and raw.strip().lower() not in _TRUE | _FALSE:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be true or false, not {raw!r}."
        )
    if cast == "db_url" and raw is not None and raw.split(":", 1)[0] not in _DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a postgres:// or sqlite:/// URL."
        )
    try:
        return getattr(env, cast)(name, **kwargs)
    except ImproperlyConfigured:
        raise
    except Exception as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from None


def _secret(name, *, dev_default):
    """A secret has a default only while DEBUG is on, so production can never run on a dev value."""
    if DEBUG:
        return _read(name, "str", default=dev_default)
    value = _read(name, "str", default="")
    if not value:
        raise ImproperlyConfigured(
            f"Set the {name} environment variable (required when DEBUG is off)."
        )
    return value


DEBUG = _read("DEBUG", "bool", default=False)

SECRET_KEY = _secret(
    "SECRET_KEY", dev_default="dev-only-insecure-secret-key-6c1f0b5e4d3a2918f7e6d5c4b3a29180"
)

# Fernet keys, newest first: the first encrypts, every key decrypts (`rotate_encryption_keys`).
# The development key is public on purpose; it only ever protects a throwaway SQLite file.
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in _secret(
        "FIELD_ENCRYPTION_KEYS", dev_default="4vPAB1jNKkxqYF3dl1P1aWwzC1Kb4-NX2ILAz5gz0lg="
    ).split(",")
    if key.strip()
]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except Exception:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be a comma-separated list of Fernet keys "
            "(generate one with `python -m common.crypto`)."
        ) from None

ALLOWED_HOSTS = _read(
    "ALLOWED_HOSTS", "list", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set the ALLOWED_HOSTS environment variable (required when DEBUG is off)."
    )
CSRF_TRUSTED_ORIGINS = _read("CSRF_TRUSTED_ORIGINS", "list", default=[])

# The public address of this portal: invite links and the OAuth redirect URI are built from it.
PORTAL_PUBLIC_URL = _read("PORTAL_PUBLIC_URL", "str", default="http://127.0.0.1:8000").rstrip("/")
PARTNER_NAME = _read("PARTNER_NAME", "str", default="Acme Integrations")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "django_htmx",
    "axes",
    # Staff sign-in: second factors, OpenID Connect SSO and the list of each user's sessions.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "common",
    "accounts",
    "apikeys",
    "tenants",
    "connect",
    "events",
    "recovery",
    "alerts",
    "forwarding",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a signed-in owner or admin without a second factor may only enrol one.
    "portal.auth.middleware.MFAEnrolmentMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes must come last: it answers locked-out logins before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.staff_permissions",
                "portal.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": _read("DATABASE_URL", "db_url", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the embedded SQLite file: WAL lets readers run beside the writer,
    # and IMMEDIATE transactions take the write lock up front, so SELECT ... FOR UPDATE sections
    # (the token refresh) are serialised instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a real worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = _read("DB_CONN_MAX_AGE", "int", default=60)
    # A `SELECT 1` before a request's first query, so a connection PostgreSQL dropped (a restart,
    # a failover) is replaced instead of failing that request: a Connect delivery would get a 503.
    # Workers skip it between tasks (portal/celery.py).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = _read(
        "DB_CONN_HEALTH_CHECKS", "bool", default=True
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication, sessions and HTTP security ---------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Signs in the users SSO finds (allauth logs a user in through a backend that can load them).
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = _read("LOGIN_FAILURE_LIMIT", "int", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=_read("LOGIN_COOLOFF_MINUTES", "int", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Second factors, SSO and sessions (django-allauth) -----------------------------------------
# Roles that must enrol a second factor (TOTP app or security key) before using the portal;
# "owner,admin,operator,support" requires it of everyone.
MFA_REQUIRED_ROLES = _read("MFA_REQUIRED_ROLES", "list", default=["owner", "admin"])
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = _read("MFA_TOTP_ISSUER", "str", default="DocuSign Partner Portal")
MFA_RECOVERY_CODE_COUNT = 10
MFA_ADAPTER = "portal.auth.adapters.StaffMFAAdapter"
# Staff email addresses are set by an owner or the identity provider, never verified by mail.
MFA_ALLOW_UNVERIFIED_EMAIL = True
MFA_FORMS = {
    "authenticate": "portal.auth.forms.StaffMFAAuthenticateForm",
    "authenticate_webauthn": "portal.auth.forms.StaffWebAuthnAuthenticateForm",
    "login_webauthn": "portal.auth.forms.StaffPasskeyLoginForm",
}
# WebAuthn needs a secure origin; plain-HTTP development (bin/run) is allowed with DEBUG only.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
ACCOUNT_ADAPTER = "portal.auth.adapters.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
# django-axes is the one lockout for passwords and second-factor codes (portal/auth/forms.py).
ACCOUNT_RATE_LIMITS = {"login_failed": None}
SOCIALACCOUNT_ADAPTER = "portal.auth.adapters.StaffSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
USERSESSIONS_TRACK_ACTIVITY = _read("USERSESSIONS_TRACK_ACTIVITY", "bool", default=False)
# OpenID Connect single sign-on: unset issuer means no SSO button.
OIDC_ISSUER = _read("OIDC_ISSUER", "str", default="").rstrip("/")
OIDC_CLIENT_ID = _read("OIDC_CLIENT_ID", "str", default="")
OIDC_CLIENT_SECRET = _read("OIDC_CLIENT_SECRET", "str", default="")
OIDC_PROVIDER_NAME = _read("OIDC_PROVIDER_NAME", "str", default="single sign-on")
OIDC_SCOPES = _read("OIDC_SCOPES", "list", default=["openid", "profile", "email"])
# The ID token (or userinfo) claim that lists the user's groups, and which group grants which
# role: "owner=portal-owners,admin=portal-admins,operator=portal-ops,support=portal-readers".
OIDC_GROUPS_CLAIM = _read("OIDC_GROUPS_CLAIM", "str", default="groups")
OIDC_ROLE_GROUPS = _read("OIDC_ROLE_GROUPS", "dict", default={})
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET and OIDC_ROLE_GROUPS):
    raise ImproperlyConfigured(
        "OIDC_ISSUER is set: also set OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_ROLE_GROUPS."
    )
_unknown_roles = set(OIDC_ROLE_GROUPS) - {"owner", "admin", "operator", "support"}
if _unknown_roles:
    raise ImproperlyConfigured(
        f"OIDC_ROLE_GROUPS names unknown roles: {', '.join(sorted(_unknown_roles))}."
    )
# With SSO in place, password sign-in can be refused to everyone but one break-glass owner.
PASSWORD_LOGIN_DISABLED = _read("PASSWORD_LOGIN_DISABLED", "bool", default=False)
BREAK_GLASS_USERNAME = _read("BREAK_GLASS_USERNAME", "str", default="")
if PASSWORD_LOGIN_DISABLED and not (OIDC_ISSUER and BREAK_GLASS_USERNAME):
    raise ImproperlyConfigured(
        "PASSWORD_LOGIN_DISABLED needs OIDC_ISSUER (the way in for everyone) and "
        "BREAK_GLASS_USERNAME (the owner who may still use a password)."
    )
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        # allauth's OIDC provider plus a nonce and a signature check on every ID token.
        "provider_class": "portal.auth.oidc.StaffOIDCProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_ISSUER, "scope": OIDC_SCOPES},
            }
        ]
        if OIDC_ISSUER
        else [],
    }
}
# Lax, not Strict: the browser must send the session cookie on the top-level redirect back from
# DocuSign's consent page, or the consent callback cannot find the state it issued.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = _read("SESSION_COOKIE_AGE", "int", default=8 * 3600)
SESSION_COOKIE_SECURE = _read("SESSION_COOKIE_SECURE", "bool", default=not DEBUG)
CSRF_COOKIE_SECURE = _read("CSRF_COOKIE_SECURE", "bool", default=not DEBUG)
SECURE_SSL_REDIRECT = _read("SECURE_SSL_REDIRECT", "bool", default=not DEBUG)
# Probes, and Prometheus scraping over the internal network, call the processes over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = _read("SECURE_HSTS_SECONDS", "int", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _read("SECURE_HSTS_INCLUDE_SUBDOMAINS", "bool", default=not DEBUG)
SECURE_HSTS_PRELOAD = _read("SECURE_HSTS_PRELOAD", "bool", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
if _read("TRUST_X_FORWARDED_PROTO", "bool", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

# --- Internationalisation and static files --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = _read("STATIC_ROOT", "path", default=VAR_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders: no collectstatic step for the run command or the tests.
WHITENOISE_USE_FINDERS = True

# --- Email ----------------------------------------------------------------------------------------
EMAIL_CONFIG = _read("EMAIL_URL", "email_url", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = _read("DEFAULT_FROM_EMAIL", "str", default="portal@partner.example")
STAFF_ALERT_EMAILS = _read("STAFF_ALERT_EMAILS", "list", default=[])
# "Needs a human" alerts (alerts/): besides email, optionally a Slack-compatible incoming webhook
# and a generic webhook signed with ALERT_WEBHOOK_SECRET (Standard Webhooks HMAC-SHA256).
ALERT_SLACK_WEBHOOK_URL = _read("ALERT_SLACK_WEBHOOK_URL", "str", default="")
ALERT_WEBHOOK_URL = _read("ALERT_WEBHOOK_URL", "str", default="")
ALERT_WEBHOOK_SECRET = _read("ALERT_WEBHOOK_SECRET", "str", default="")
# The daily digest of every open alert, at this UTC hour (beat).
ALERT_DIGEST_HOUR = _read("ALERT_DIGEST_HOUR", "int", default=7)

# --- Celery ---------------------------------------------------------------------------------------
REDIS_URL = _read("REDIS_URL", "str", default="")
# Shared by every web process when Redis is there: used TOTP codes (replay), allauth's WebAuthn
# and SSO state, used ID token ids. Without Redis (bin/run's single machine) process memory.
CACHES = {
    "default": _read(
        "CACHE_URL",
        "cache_url",
        default=REDIS_URL.replace("redis", "rediscache", 1) or "locmemcache://",
    )
}
# The embedded broker's folder; the test suite uses its own, so a running `bin/run` worker never
# consumes (and runs against the development database) the messages of a test.
BROKER_DIR = (BASE_DIR / _read("FILESYSTEM_BROKER_DIR", "str", default="var/broker")).resolve()
# Without Redis, kombu's filesystem transport keeps the embedded run server-less while worker and
# beat still run as real, separate processes.
CELERY_BROKER_URL = _read("CELERY_BROKER_URL", "str", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1800}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
# Outcomes are written to PostgreSQL by the services; nothing reads Celery results.
CELERY_TASK_IGNORE_RESULT = True
# How lost work comes back, in one place (README "Production" has what each fault costs):
# - Every queued unit of work (a tenant's sync, a token refresh, a bulk item) carries a lease in
#   PostgreSQL, WORK_LEASE_S long, renewed when its task starts or schedules a retry; its message
#   expires with the lease. The next beat tick re-enqueues work whose lease ran out, so a dead
#   worker or a lost message costs one lease and one tick, not an hour. An emptied Redis costs
#   one tick: each beat task keeps a marker key in the broker, and when it is gone every queued
#   unit counts as lost at once (common/leases.py, `broker_emptied`).
# - acks_late + reject_on_worker_lost: a message is acknowledged when its task ends, so one whose
#   worker died is redelivered instead of dropped (once its lease ran out, the copy has expired
#   and is discarded: the sweep's new message does the work).
# - visibility_timeout (Redis, 30 min): must exceed the longest countdown a task schedules
#   (retry backoff stops at 10 min; longer budget waits are left to the lease sweep), or Redis would
#   hand a merely waiting message to a second worker. What a killed worker held comes back at
#   the latest after it; the leases recover the work sooner.
# - prefetch 4 per thread: a killed 8-thread worker strands at most 32 messages, each recovered
#   by its lease. At 1 each task waited a broker round trip (bench/README.md).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
WORK_LEASE_S = _read("WORK_LEASE_S", "int", default=300)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "tenants.tasks.*": {"queue": "refresh"},
    "connect.tasks.*": {"queue": "sync"},
    # Processing and forwarding an event: I/O-bound work (partner endpoints answer in their own
    # time), served by the Procfile's `forwarder` workers, so a slow endpoint holds none of the
    # threads that sync and refresh (README "Forwarding events to your application").
    "events.tasks.connect_event_process": {"queue": "events"},
    "forwarding.tasks.delivery_attempt": {"queue": "events"},
}
CELERY_TASK_ALWAYS_EAGER = _read("CELERY_TASK_ALWAYS_EAGER", "bool", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Unset, Celery reconnects for every task (bench/README.md); portal/celery.py applies Django's.
CELERY_DB_REUSE_MAX = 1000
# The schedule itself lives in portal/celery.py, in one place.

# --- DocuSign -------------------------------------------------------------------------------------
# The emulator the run command starts; the demo integration points here. Real DocuSign is only a
# matter of an Integration whose auth host is account-d.docusign.com or account.docusign.com.
DOCUSIGN_EMULATOR_URL = _read("DOCUSIGN_EMULATOR_URL", "str", default="http://127.0.0.1:8765")
DOCUSIGN_CA_BUNDLE = _read("DOCUSIGN_CA_BUNDLE", "str", default="") or None
DOCUSIGN_CONNECT_TIMEOUT_S = _read("DOCUSIGN_CONNECT_TIMEOUT_S", "float", default=3.05)
DOCUSIGN_READ_TIMEOUT_S = _read("DOCUSIGN_READ_TIMEOUT_S", "float", default=10.0)
# Hosts a consenting account's base_uri may point at, per environment (userinfo is trusted, but a
# base URI outside DocuSign would make us send tokens elsewhere).
DOCUSIGN_ALLOWED_BASE_URI_HOSTS = {
    "demo": _read("DOCUSIGN_DEMO_BASE_URI_HOSTS", "list", default=["demo.docusign.net"]),
    "production": _read(
        "DOCUSIGN_PRODUCTION_BASE_URI_HOSTS", "list", default=["*.docusign.net", "*.docusign.com"]
    ),
}
INVITE_VALID_DAYS = _read("INVITE_VALID_DAYS", "int", default=7)
# An invite not answered after this many days needs a human, and is re-sent once automatically;
# a second re-send goes out INVITE_NUDGE_BEFORE_EXPIRY_HOURS before it expires (two at most).
INVITE_UNANSWERED_DAYS = _read("INVITE_UNANSWERED_DAYS", "int", default=3)
INVITE_NUDGE_BEFORE_EXPIRY_HOURS = _read("INVITE_NUDGE_BEFORE_EXPIRY_HOURS", "int", default=24)
CONSENT_STATE_TTL_S = _read("CONSENT_STATE_TTL_S", "int", default=600)
TOKEN_REFRESH_MARGIN_S = _read("TOKEN_REFRESH_MARGIN_S", "int", default=600)
# The CA bundle the TLS proxy in front of the Connect receiver verifies DocuSign's client
# certificate with; a template may require mutual TLS only when it is set (README).
CONNECT_MTLS_CLIENT_CA = _read("CONNECT_MTLS_CLIENT_CA", "str", default="")
CONNECT_EVENT_MAX_BYTES = _read("CONNECT_EVENT_MAX_BYTES", "int", default=1024 * 1024)
# Connect configuration sync (connect/): how often each tenant is reconciled, and the share of
# DocuSign's per-account budgets (API.md 4) the portal allows itself, leaving room for the client's
# other apps. Counted across every worker (Redis when REDIS_URL is set, the database otherwise).
CONNECT_SYNC_INTERVAL_S = _read("CONNECT_SYNC_INTERVAL_S", "int", default=3600)
CONNECT_SYNC_BATCH = _read("CONNECT_SYNC_BATCH", "int", default=2000)
CONNECT_BUDGET_HOURLY = _read("CONNECT_BUDGET_HOURLY", "int", default=1000)
CONNECT_BUDGET_BURST = _read("CONNECT_BUDGET_BURST", "int", default=100)
CONNECT_BUDGET_BURST_WINDOW_S = _read("CONNECT_BUDGET_BURST_WINDOW_S", "int", default=30)
# Delivery recovery (recovery/): how often each account's failure log is copied, envelope ids per
# retry_queue call, and the completeness proof (window, statuses compared, grace for events still
# in flight, how often, and whether gaps are republished without a human).
RECOVERY_FAILURES_INTERVAL_S = _read("RECOVERY_FAILURES_INTERVAL_S", "int", default=900)
RECOVERY_READ_CONNECT_LOGS = _read("RECOVERY_READ_CONNECT_LOGS", "bool", default=True)
RECOVERY_REPUBLISH_BATCH = _read("RECOVERY_REPUBLISH_BATCH", "int", default=100)
RECOVERY_COMPLETENESS_DAYS = _read("RECOVERY_COMPLETENESS_DAYS", "int", default=7)
RECOVERY_COMPLETENESS_STATUSES = _read(
    "RECOVERY_COMPLETENESS_STATUSES", "list", default=["completed", "declined", "voided"]
)
RECOVERY_COMPLETENESS_GRACE_S = _read("RECOVERY_COMPLETENESS_GRACE_S", "int", default=300)
RECOVERY_COMPLETENESS_INTERVAL_S = _read(
    "RECOVERY_COMPLETENESS_INTERVAL_S", "int", default=6 * 3600
)
RECOVERY_AUTO_REPUBLISH = _read("RECOVERY_AUTO_REPUBLISH", "bool", default=False)
# Outbound calls to URLs a person typed (common/outbound.py) refuse private and loopback addresses,
# and plain http, except for these hosts (`host` or `host:port`); development allows this machine.
OUTBOUND_ALLOWED_HOSTS = _read(
    "OUTBOUND_ALLOWED_HOSTS", "list", default=["127.0.0.1", "localhost"] if DEBUG else []
)

# Forwarding events to the partner's application (forwarding/): the HTTP timeouts of one attempt,
# how long a destination may fail without a single success before it is paused (and staff
# alerted), how long a rotated signing secret keeps signing, and how long events are kept.
FORWARDING_CONNECT_TIMEOUT_S = _read("FORWARDING_CONNECT_TIMEOUT_S", "float", default=3.05)
FORWARDING_READ_TIMEOUT_S = _read("FORWARDING_READ_TIMEOUT_S", "float", default=10.0)
FORWARDING_PAUSE_AFTER_S = _read("FORWARDING_PAUSE_AFTER_S", "int", default=24 * 3600)
FORWARDING_SECRET_OVERLAP_S = _read("FORWARDING_SECRET_OVERLAP_S", "int", default=24 * 3600)
EVENT_RETENTION_DAYS = _read("EVENT_RETENTION_DAYS", "int", default=30)

# --- Metrics (portal/metrics.py) ------------------------------------------------------------------
# `/metrics` answers only requests bearing this token; empty turns the endpoint off.
METRICS_TOKEN = _read("METRICS_TOKEN", "str", default="")
# portal_docusign_rate_limit_remaining shows the accounts with the fewest calls left, this many.
METRICS_TOP_ACCOUNTS = _read("METRICS_TOP_ACCOUNTS", "int", default=20)
# host:port where each Celery worker serves its own metrics (empty: none), for workers that do not
# share PROMETHEUS_MULTIPROC_DIR with the web processes (a container each). Internal address only.
WORKER_METRICS_BIND = _read("WORKER_METRICS_BIND", "str", default="")

# --- Partner API (portal/api/) -------------------------------------------------------------------
# Requests per API key per minute, counted across every web process (Redis, else the database).
API_RATE_LIMIT_PER_MINUTE = _read("API_RATE_LIMIT_PER_MINUTE", "int", default=600)
# The largest JSON body the API reads; a bigger one is refused before it is parsed.
API_MAX_BODY_BYTES = _read("API_MAX_BODY_BYTES", "int", default=64 * 1024)
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

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "common.middleware.RequestIdLogFilter"},
        "url_secrets": {"()": "common.logmask.UrlSecretsLogFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "url_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": _read("LOG_LEVEL", "str", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

"""Every setting of the portal, read from the environment in this package only.

Differences between environments come from variables (see `.env.example`), never from extra settings
files. Development defaults are safe; with DEBUG off every secret must be given explicitly. This
module holds Django's core settings; the rest sit by concern in the modules imported at the end.
"""

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal.settings.environment import BASE_DIR, DEBUG, VAR_DIR, read, secret

SECRET_KEY = secret(
    "SECRET_KEY", dev_default="dev-only-insecure-secret-key-6c1f0b5e4d3a2918f7e6d5c4b3a29180"
)

# Fernet keys, newest first: the first encrypts, every key decrypts (`rotate_encryption_keys`).
# The development key is public on purpose; it only ever protects a throwaway SQLite file.
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in secret(
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

ALLOWED_HOSTS = read(
    "ALLOWED_HOSTS", "list", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set the ALLOWED_HOSTS environment variable (required when DEBUG is off)."
    )
CSRF_TRUSTED_ORIGINS = read("CSRF_TRUSTED_ORIGINS", "list", default=[])

# The public address of this portal: invite links and the OAuth redirect URI are built from it.
PORTAL_PUBLIC_URL = read("PORTAL_PUBLIC_URL", "str", default="http://127.0.0.1:8000").rstrip("/")
PARTNER_NAME = read("PARTNER_NAME", "str", default="Acme Integrations")

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
    "default": read("DATABASE_URL", "db_url", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
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
    DATABASES["default"]["CONN_MAX_AGE"] = read("DB_CONN_MAX_AGE", "int", default=60)
    # A `SELECT 1` before a request's first query, so a connection PostgreSQL dropped (a restart,
    # a failover) is replaced instead of failing that request: a Connect delivery would get a 503.
    # Workers skip it between tasks (portal/celery.py).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = read("DB_CONN_HEALTH_CHECKS", "bool", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Internationalisation and static files --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = read("STATIC_ROOT", "path", default=VAR_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders: no collectstatic step for the run command or the tests.
WHITENOISE_USE_FINDERS = True

# --- Email ----------------------------------------------------------------------------------------
EMAIL_CONFIG = read("EMAIL_URL", "email_url", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = read("DEFAULT_FROM_EMAIL", "str", default="portal@partner.example")
STAFF_ALERT_EMAILS = read("STAFF_ALERT_EMAILS", "list", default=[])
# "Needs a human" alerts (alerts/): besides email, optionally a Slack-compatible incoming webhook
# and a generic webhook signed with ALERT_WEBHOOK_SECRET (Standard Webhooks HMAC-SHA256).
ALERT_SLACK_WEBHOOK_URL = read("ALERT_SLACK_WEBHOOK_URL", "str", default="")
ALERT_WEBHOOK_URL = read("ALERT_WEBHOOK_URL", "str", default="")
ALERT_WEBHOOK_SECRET = read("ALERT_WEBHOOK_SECRET", "str", default="")
# The daily digest of every open alert, at this UTC hour (beat).
ALERT_DIGEST_HOUR = read("ALERT_DIGEST_HOUR", "int", default=7)

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
    "root": {"handlers": ["console"], "level": read("LOG_LEVEL", "str", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

from portal.settings.auth import *  # noqa: E402, F403
from portal.settings.integrations import *  # noqa: E402, F403
from portal.settings.workers import *  # noqa: E402, F403

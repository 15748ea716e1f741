"""Staff sign-in (passwords, second factors, SSO), sessions and HTTP security."""

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from portal.settings.environment import DEBUG, read

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
AXES_FAILURE_LIMIT = read("LOGIN_FAILURE_LIMIT", "int", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=read("LOGIN_COOLOFF_MINUTES", "int", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Second factors, SSO and sessions (django-allauth) -----------------------------------------
# Roles that must enrol a second factor (TOTP app or security key) before using the portal;
# "owner,admin,operator,support" requires it of everyone.
MFA_REQUIRED_ROLES = read("MFA_REQUIRED_ROLES", "list", default=["owner", "admin"])
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = read("MFA_TOTP_ISSUER", "str", default="DocuSign Partner Portal")
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
USERSESSIONS_TRACK_ACTIVITY = read("USERSESSIONS_TRACK_ACTIVITY", "bool", default=False)
# OpenID Connect single sign-on: unset issuer means no SSO button.
OIDC_ISSUER = read("OIDC_ISSUER", "str", default="").rstrip("/")
OIDC_CLIENT_ID = read("OIDC_CLIENT_ID", "str", default="")
OIDC_CLIENT_SECRET = read("OIDC_CLIENT_SECRET", "str", default="")
OIDC_PROVIDER_NAME = read("OIDC_PROVIDER_NAME", "str", default="single sign-on")
OIDC_SCOPES = read("OIDC_SCOPES", "list", default=["openid", "profile", "email"])
# The ID token (or userinfo) claim that lists the user's groups, and which group grants which
# role: "owner=portal-owners,admin=portal-admins,operator=portal-ops,support=portal-readers".
OIDC_GROUPS_CLAIM = read("OIDC_GROUPS_CLAIM", "str", default="groups")
OIDC_ROLE_GROUPS = read("OIDC_ROLE_GROUPS", "dict", default={})
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
PASSWORD_LOGIN_DISABLED = read("PASSWORD_LOGIN_DISABLED", "bool", default=False)
BREAK_GLASS_USERNAME = read("BREAK_GLASS_USERNAME", "str", default="")
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
SESSION_COOKIE_AGE = read("SESSION_COOKIE_AGE", "int", default=8 * 3600)
SESSION_COOKIE_SECURE = read("SESSION_COOKIE_SECURE", "bool", default=not DEBUG)
CSRF_COOKIE_SECURE = read("CSRF_COOKIE_SECURE", "bool", default=not DEBUG)
SECURE_SSL_REDIRECT = read("SECURE_SSL_REDIRECT", "bool", default=not DEBUG)
# Probes, and Prometheus scraping over the internal network, call the processes over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = read("SECURE_HSTS_SECONDS", "int", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = read("SECURE_HSTS_INCLUDE_SUBDOMAINS", "bool", default=not DEBUG)
SECURE_HSTS_PRELOAD = read("SECURE_HSTS_PRELOAD", "bool", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
if read("TRUST_X_FORWARDED_PROTO", "bool", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

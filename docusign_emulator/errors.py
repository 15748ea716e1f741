"""Errors in DocuSign's wire shapes.

Three families, each with its own body shape:
- account server (`/oauth/...`): HTTP 400 `{"error", "error_description"}` (API.md 1.6);
- eSignature REST: `{"errorCode", "message"}` (API.md 2.5);
- control plane (`/_emulator/...`): `{"error": "..."}` (docs/contracts.md 1).
"""

from __future__ import annotations


class EmulatorError(Exception):
    """Base class: something that becomes an HTTP error response."""

    status = 400

    def body(self) -> dict:
        raise NotImplementedError


class OAuthError(EmulatorError):
    """Token endpoint / userinfo error: `{"error": ..., "error_description": ...}`."""

    def __init__(self, error: str, description: str = "", status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class RestError(EmulatorError):
    """eSignature REST error: `{"errorCode": ..., "message": ...}`."""

    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers: list[tuple[str, str]] = []  # extra response headers (e.g. Retry-After)

    def body(self) -> dict:
        return {"errorCode": self.error_code, "message": self.message}


class ControlError(EmulatorError):
    """Bad input on the control plane."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict:
        return {"error": self.message}


# --- account server codes (API.md 1.6) -------------------------------------------------------
INVALID_GRANT = "invalid_grant"
INVALID_REQUEST = "invalid_request"
CONSENT_REQUIRED = "consent_required"
# API.md 1.6 records these as `error_description` values under `invalid_grant`.
NO_VALID_KEYS = "no_valid_keys_or_signatures"
ISSUER_NOT_FOUND = "issuer_not_found"
USER_NOT_FOUND = "user_not_found"
UNAUTHORIZED_CLIENT = "unauthorized_client"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
# UNCONFIRMED (API.md 1.6): the description DocuSign gives for an expired or reused code, an
# expired JWT assertion, or a dead refresh token. Plausible values, kept in one place.
EXPIRED_OR_USED_CODE = "expired_client_token"
EXPIRED_ASSERTION = "expired_grant"
INVALID_REFRESH_TOKEN = "invalid_refresh_token"  # noqa: S105 - an error code

# --- REST codes (API.md 2.5 and 4) -----------------------------------------------------------
INVALID_TOKEN = (
    "AUTHORIZATION_INVALID_TOKEN",
    "The access token provided is expired, revoked or malformed.",
)
USER_AUTH_FAILED = (
    "USER_AUTHENTICATION_FAILED",
    "One or both of Username and Password are invalid.",
)
# UNCONFIRMED: which code DocuSign gives a valid token whose user is not a member of the account
# in the path (or the right account on the wrong base URI). API.md 2.5 ties
# PARTNER_AUTHENTICATION_FAILED to "wrong host/account".
NOT_MEMBER = (
    "PARTNER_AUTHENTICATION_FAILED",
    "The specified Integrator Key was not found or is disabled. "
    "Invalid account specified for user.",
)
LACKS_PERMISSIONS = (
    "USER_LACKS_PERMISSIONS",
    "This user lacks sufficient permissions to access this resource.",
)
INVALID_REQUEST_PARAMETER = "INVALID_REQUEST_PARAMETER"
INVALID_REQUEST_BODY = (
    "INVALID_REQUEST_BODY",
    "The request body is missing or improperly formatted.",
)
# UNCONFIRMED (API.md 2.5): codes for an unknown connectId, Connect being off on the account, and
# an account without an OAuth-for-Connect configuration.
CONNECT_NOT_FOUND = ("INVALID_CONNECT_CONFIGURATION_ID", "The Connect configuration was not found.")
CONNECT_NOT_FOUND_STATUS = 404
CONNECT_NOT_ENABLED = ("CONNECT_NOT_ENABLED", "Connect is not enabled for this account.")
CONNECT_OAUTH_NOT_FOUND = (
    "CONNECT_OAUTH_CONFIG_NOT_FOUND",
    "No OAuth configuration exists for Connect on this account.",
)
HOURLY_LIMIT = (
    "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
    "The maximum number of hourly API invocations has been exceeded",
)
BURST_LIMIT = (
    "BURST_APIINVOCATION_LIMIT_EXCEEDED",
    "The maximum number of burst API invocations has been exceeded",
)
BODY_TOO_LARGE = ("REQUEST_ENTITY_TOO_LARGE", "The request body exceeds the maximum size allowed.")
RESOURCE_NOT_FOUND = ("RESOURCE_NOT_FOUND", "The URL provided does not resolve to a resource.")
SERVICE_UNAVAILABLE = ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable.")


def rest(status: int, pair: tuple[str, str]) -> RestError:
    return RestError(status, pair[0], pair[1])


# Envelopes and republishing. ENVELOPE_DOES_NOT_EXIST is the code public integrations see for an
# unknown envelope id; the retryQueue statusMessage texts are UNCONFIRMED guesses.
ENVELOPE_NOT_FOUND = ("ENVELOPE_DOES_NOT_EXIST", "The envelope specified either does not exist.")
RETRY_ENVELOPE_UNKNOWN = "ENVELOPE_DOES_NOT_EXIST: the envelope is not in this account."
RETRY_NO_FAILURE = "No Connect failure is recorded for this envelope."
RETRY_NO_CONFIG = "No Connect configuration of this account publishes the envelope's status."

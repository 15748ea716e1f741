"""The error taxonomy, and the one function that turns a DocuSign error response into it.

DocuSign reports errors in two shapes (API.md 1.6 and 2.5):

* the account server (``/oauth/...``): ``{"error": "invalid_grant", "error_description": "..."}``,
  always HTTP 400, where the description often carries the real reason
  (``no_valid_keys_or_signatures``, ``issuer_not_found``, ...);
* the REST API: ``{"errorCode": "AUTHORIZATION_INVALID_TOKEN", "message": "..."}``.

Both become ``error_code`` (``errorCode`` or ``error``) and ``message`` (``message`` or
``error_description``). Nothing from the request (tokens, secrets, codes, assertions) is ever put
into an error, and any echo of those values in a server message is scrubbed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

#: OAuth ``error`` / ``error_description`` values that no retry can fix: a person has to
#: consent again, or an operator has to fix the integration key, secret or RSA key.
TERMINAL_TOKEN_ERRORS: tuple[str, ...] = (
    "invalid_grant",
    "consent_required",
    "unauthorized_client",
    "invalid_client",
)

#: ``errorCode`` values that mean "over budget". DocuSign answers them with 400 or 429 (API.md 4:
#: the status is mid-migration), so they are recognised by code, never by status.
RATE_LIMIT_ERROR_CODES: frozenset[str] = frozenset(
    {
        "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
        "BURST_APIINVOCATION_LIMIT_EXCEEDED",
        "HOURLY_APIINVOCATION_ENVELOPE_LIMIT_EXCEEDED",
        "HOURLY_ENVELOPE_POLLING_LIMIT_EXCEEDED",
    }
)

_AUTH_ERROR_CODES = frozenset(
    {
        "AUTHORIZATION_INVALID_TOKEN",
        "USER_AUTHENTICATION_FAILED",
        "PARTNER_AUTHENTICATION_FAILED",
        "unauthorized_client",
        "invalid_client",
        "invalid_token",
    }
)
_PERMISSION_ERROR_CODES = frozenset({"USER_LACKS_PERMISSIONS", "ACCOUNT_LACKS_PERMISSIONS"})
_REDACTED = "[redacted]"


class DocuSignError(Exception):
    """Base class. ``status`` is the HTTP status (None when no response arrived)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        trace_token: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.trace_token = trace_token

    @property
    def is_terminal(self) -> bool:
        """True when retrying cannot help and a human must act (re-consent, fix credentials)."""
        return self.error_code in TERMINAL_TOKEN_ERRORS or self.message in TERMINAL_TOKEN_ERRORS

    def __str__(self) -> str:
        parts = [str(self.status) if self.status is not None else "no response"]
        if self.error_code:
            parts.append(self.error_code)
        return f"{' '.join(parts)}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, error_code={self.error_code!r}, "
            f"message={self.message!r})"
        )


class DocuSignConsentRequired(DocuSignError):
    """The user has not granted these scopes to this integration key (JWT ``consent_required``)."""


class DocuSignInvalidGrant(DocuSignError):
    """The code, refresh token or JWT assertion was refused (expired, reused, wrong key, ...)."""


class DocuSignAuthError(DocuSignError):
    """Authentication failed: a bad/expired access token (401) or bad client credentials."""


class DocuSignPermissionDenied(DocuSignError):
    """Authenticated, but not allowed (``USER_LACKS_PERMISSIONS``, 403): not an account admin."""


class DocuSignNotFound(DocuSignError):
    """The resource does not exist (404)."""


class DocuSignRequestError(DocuSignError):
    """DocuSign rejected the request as invalid (``INVALID_REQUEST_PARAMETER`` and other 4xx)."""


class DocuSignRateLimited(DocuSignError):
    """Over the hourly or burst API budget. ``retry_after`` is in seconds (None if unknown)."""

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        error_code: str | None = None,
        trace_token: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, trace_token=trace_token)
        self.reset_at = reset_at
        self.retry_after = retry_after


class DocuSignUnavailable(DocuSignError):
    """DocuSign could not be reached or failed: 5xx, timeout, connection error, HTML error page."""


class DocuSignProtocolError(DocuSignUnavailable):
    """A success status with a body that is not the JSON DocuSign promises (say, a proxy's HTML).

    It subclasses ``DocuSignUnavailable`` because the usual cause is something in the path
    misbehaving for a while, so callers that retry transient failures retry this too.
    """


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of a secret in ``text``; short values are left alone."""
    for secret in secrets:
        if secret and len(secret) >= 6 and secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def error_from_body(
    status: int,
    body: object,
    *,
    trace_token: str | None = None,
    secrets: Iterable[str] = (),
    reset_at: datetime | None = None,
    retry_after: float | None = None,
) -> DocuSignError:
    """Build the right exception for an error response (``body`` is the parsed JSON or None)."""
    error_code: str | None = None
    message = ""
    if isinstance(body, dict):
        raw_code = body.get("errorCode") or body.get("error")
        error_code = str(raw_code) if raw_code else None
        message = str(body.get("message") or body.get("error_description") or "")
    message = scrub(message or error_code or f"HTTP {status}", list(secrets))
    cls = _classify(status, error_code, message, has_json=isinstance(body, dict))
    if cls is DocuSignRateLimited:
        return DocuSignRateLimited(
            message,
            reset_at=reset_at,
            retry_after=retry_after,
            status=status,
            error_code=error_code,
            trace_token=trace_token,
        )
    return cls(message, status=status, error_code=error_code, trace_token=trace_token)


def _classify(
    status: int, error_code: str | None, message: str, *, has_json: bool
) -> type[DocuSignError]:
    code = error_code or ""
    if code.upper() in RATE_LIMIT_ERROR_CODES or status == 429:
        return DocuSignRateLimited
    if status >= 500 or (not has_json and status not in (401, 403, 404)):
        # A 5xx, or an HTML page where DocuSign would have sent a JSON error: a proxy or
        # load balancer is speaking, not DocuSign.
        return DocuSignUnavailable
    # The account server puts the precise reason in error_description (API.md 1.6).
    reasons = {code, message}
    if "consent_required" in reasons:
        return DocuSignConsentRequired
    if reasons & _AUTH_ERROR_CODES:
        return DocuSignAuthError
    if "unsupported_grant_type" in reasons or code == "invalid_request":
        return DocuSignRequestError
    if code == "invalid_grant":
        return DocuSignInvalidGrant
    if code in _PERMISSION_ERROR_CODES or status == 403:
        return DocuSignPermissionDenied
    if status == 401:
        return DocuSignAuthError
    if status == 404 or code.endswith("_NOT_FOUND"):
        return DocuSignNotFound
    return DocuSignRequestError

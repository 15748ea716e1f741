"""DocuSign API client for the partner portal: OAuth, userinfo and Connect configurations.

A plain library on requests, PyJWT and cryptography; it imports nothing from Django or the
project. See README.md.
"""

from ._http import CallObserved, Observer, RetryPolicy
from .client import (
    DEMO_AUTH_BASE_URL,
    PRODUCTION_AUTH_BASE_URL,
    DocuSignClient,
    base_uri_host_allowed,
)
from .connect import ConnectAPI
from .connect_models import (
    ConnectConfiguration,
    ConnectLogEntry,
    ConnectOAuthConfig,
    EventData,
    RetryQueueEntry,
)
from .envelopes import EnvelopesAPI, EnvelopeStatusChange, StatusChangesPage
from .errors import (
    RATE_LIMIT_ERROR_CODES,
    TERMINAL_TOKEN_ERRORS,
    DocuSignAuthError,
    DocuSignConsentRequired,
    DocuSignError,
    DocuSignInvalidGrant,
    DocuSignNotFound,
    DocuSignPermissionDenied,
    DocuSignProtocolError,
    DocuSignRateLimited,
    DocuSignRequestError,
    DocuSignUnavailable,
)
from .models import Account, RateLimitStatus, TokenSet, UserInfo
from .oauth import OAuthAPI
from .pkce import Pkce, code_challenge, new_pkce

__all__ = [
    "DEMO_AUTH_BASE_URL",
    "PRODUCTION_AUTH_BASE_URL",
    "RATE_LIMIT_ERROR_CODES",
    "TERMINAL_TOKEN_ERRORS",
    "Account",
    "CallObserved",
    "ConnectAPI",
    "ConnectConfiguration",
    "ConnectLogEntry",
    "ConnectOAuthConfig",
    "DocuSignAuthError",
    "DocuSignClient",
    "DocuSignConsentRequired",
    "DocuSignError",
    "DocuSignInvalidGrant",
    "DocuSignNotFound",
    "DocuSignPermissionDenied",
    "DocuSignProtocolError",
    "DocuSignRateLimited",
    "DocuSignRequestError",
    "DocuSignUnavailable",
    "EnvelopeStatusChange",
    "EnvelopesAPI",
    "EventData",
    "OAuthAPI",
    "Observer",
    "Pkce",
    "RateLimitStatus",
    "RetryPolicy",
    "RetryQueueEntry",
    "StatusChangesPage",
    "TokenSet",
    "UserInfo",
    "base_uri_host_allowed",
    "code_challenge",
    "new_pkce",
]

"""``DocuSignClient``: built once per process with its HTTP settings, then shared (thread-safe).

Modelled on stripe-python's ``StripeClient``: configuration is injected at construction, there are
no module globals, and each resource group hangs off the client.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import requests

from ._http import Clock, HttpCore, Observer, RetryPolicy, Timeout, utc_now
from .connect import ConnectAPI
from .envelopes import EnvelopesAPI
from .errors import TERMINAL_TOKEN_ERRORS
from .models import RateLimitStatus
from .oauth import OAuthAPI

DEMO_AUTH_BASE_URL = "https://account-d.docusign.com"
PRODUCTION_AUTH_BASE_URL = "https://account.docusign.com"


class DocuSignClient:
    """Entry point. ``auth_base_url`` is the account server, such as ``https://account-d.docusign.com``
    or the emulator's ``http://127.0.0.1:8765``; REST calls go to each account's ``base_uri``.

    The injected ``session`` is shared across threads; the client never changes its headers,
    auth or cookies, and passes ``timeout``, ``verify`` and ``Authorization`` per request.
    ``observer`` is called with a ``CallObserved`` after every HTTP attempt (metrics).
    """

    TERMINAL_TOKEN_ERRORS = TERMINAL_TOKEN_ERRORS

    def __init__(
        self,
        *,
        auth_base_url: str,
        session: requests.Session | None = None,
        timeout: Timeout = (3.05, 10),
        retry: RetryPolicy | None = None,
        ca_bundle: str | None = None,
        clock: Clock = utc_now,
        observer: Observer | None = None,
    ) -> None:
        parts = urlsplit(auth_base_url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.path.strip("/")
            or parts.query
        ):
            raise ValueError("auth_base_url is scheme://host[:port] with no path")
        self.auth_base_url = f"{parts.scheme}://{parts.netloc}"
        self._http = HttpCore(
            session=session or requests.Session(),
            timeout=timeout,
            retry=retry or RetryPolicy(),
            ca_bundle=ca_bundle,
            clock=clock,
            observer=observer,
        )
        self.oauth = OAuthAPI(self._http, auth_base_url=self.auth_base_url, clock=clock)

    def __repr__(self) -> str:
        return f"DocuSignClient(auth_base_url={self.auth_base_url!r})"

    def connect(self, *, base_uri: str, account_id: str, access_token: str) -> ConnectAPI:
        """Connect calls for one account. Check ``base_uri`` with ``base_uri_host_allowed``
        first if it came from anywhere but this client's own ``userinfo``."""
        return ConnectAPI(
            self._http, base_uri=base_uri, account_id=account_id, access_token=access_token
        )

    def envelopes(self, *, base_uri: str, account_id: str, access_token: str) -> EnvelopesAPI:
        """Envelope status changes for one account (same ``base_uri`` rule as ``connect``)."""
        return EnvelopesAPI(
            self._http, base_uri=base_uri, account_id=account_id, access_token=access_token
        )

    def rate_limits(self, account_id: str) -> RateLimitStatus | None:
        """The rate-limit headers last seen on a REST response for this account, if any."""
        return self._http.rate_limits(account_id)


def base_uri_host_allowed(base_uri: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether a ``base_uri`` points at a host the portal trusts with an access token.

    Entries: ``"demo.docusign.net"`` (exact host, https, default port), ``"*.docusign.net"``
    (any subdomain, not the bare domain), ``"host:port"``, or ``"http://127.0.0.1:8765"``: only an
    entry that names the http scheme explicitly allows plain http, and only for that host.
    """
    try:
        parts = urlsplit(base_uri)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    for entry in allowed_hosts:
        scheme, pattern, entry_port = _parse_allowed(entry)
        if scheme != parts.scheme:
            continue
        default_port = 443 if scheme == "https" else 80
        if (port or default_port) != (entry_port or default_port):
            continue
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _parse_allowed(entry: str) -> tuple[str, str, int | None]:
    scheme = "https"
    if "://" in entry:
        scheme, _, entry = entry.partition("://")
    entry = entry.strip("/").lower()
    host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "")
    return scheme.lower(), host, int(port) if port else None

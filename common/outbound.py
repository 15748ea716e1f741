"""Outbound HTTP to addresses a person typed (forwarding destinations, alert webhooks).

One way out, so every such call gets the same protection (STYLE.md habit 17): https only, no
credentials in the URL, no private, loopback or link-local address after DNS resolution (unless the
host is allowed by `OUTBOUND_ALLOWED_HOSTS`), the connection made to the address that was checked
(no DNS-rebinding window between check and connect), no redirects, short timeouts. A network
failure is a `requests` exception whose message is a sentence for the person who owns the URL
(common/outbound_reasons.py), never the library's text.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from common.outbound_reasons import connection_failure_reason, tls_failure_reason

DEFAULT_TIMEOUT = (3.05, 10.0)
# Sessions kept per thread, each pinned to one checked address of one host: their connections
# are reused (keep-alive, no new TLS handshake per request) while the address stays the same.
SESSIONS_PER_THREAD = 32

_local = threading.local()


class OutboundRefused(ValueError):
    """The URL may not be called; the message is meant for the person who typed it."""


def outbound_url_check(url: str) -> None:
    """Refuse a URL by its text alone (forms call this for field errors)."""
    _parsed_checked(url)


def outbound_post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Response:
    """POST `body` to `url` through the checks above; network errors are `requests` exceptions."""
    parts = _parsed_checked(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _resolved_address(host, port, allowed=_host_allowed(host, port))
    session = _session_pinned(scheme=parts.scheme, host=host, address=address)
    default_port = port == (443 if parts.scheme == "https" else 80)
    pinned_headers = {**headers, "Host": host if default_port else f"{host}:{port}"}
    return session.post(
        url, data=body, headers=pinned_headers, timeout=timeout, allow_redirects=False
    )


def _session_pinned(*, scheme: str, host: str, address: str) -> requests.Session:
    """This thread's session for `host` at the address just checked (requests' sessions are not
    thread-safe, so each thread has its own), the least recently used one closed beyond
    SESSIONS_PER_THREAD. A host that resolves elsewhere next time gets another session: every
    request is checked and connects only where the check allowed."""
    sessions: OrderedDict[tuple[str, str, str], requests.Session] | None = getattr(
        _local, "sessions", None
    )
    if sessions is None:
        sessions = _local.sessions = OrderedDict()
    key = (scheme, host, address)
    session = sessions.pop(key, None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # proxies from the environment would bypass the address check
        session.mount(f"{scheme}://", _PinnedAdapter(address=address, hostname=host))
    sessions[key] = session
    while len(sessions) > SESSIONS_PER_THREAD:
        sessions.popitem(last=False)[1].close()
    return session


def _parsed_checked(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise OutboundRefused("This is not a valid URL.") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"https", "http"} or not host:
        raise OutboundRefused("Enter a full URL starting with https://.")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("Remove the user name and password from the URL.")
    allowed = _host_allowed(host, port or (443 if parts.scheme == "https" else 80))
    if parts.scheme == "http" and not allowed:
        raise OutboundRefused("Use https:// (plain http is allowed only for development hosts).")
    literal = _literal_address(host)
    if literal is not None and not allowed and not _is_public(literal):
        raise OutboundRefused(
            "This address is private, loopback or link-local; use a public host name."
        )
    return parts


def _resolved_address(host: str, port: int, *, allowed: bool) -> str:
    """The first address the host resolves to, after checking every one of them."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise requests.ConnectionError(f"The host name {host} does not resolve.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not allowed:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise OutboundRefused(
                    f"{host} resolves to a private, loopback or link-local address; refused."
                )
    return addresses[0]


def _host_allowed(host: str, port: int) -> bool:
    allowed = {entry.strip().lower() for entry in settings.OUTBOUND_ALLOWED_HOSTS}
    return host.lower() in allowed or f"{host.lower()}:{port}" in allowed


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address while TLS still verifies the certificate for `hostname`."""

    def __init__(self, *, address: str, hostname: str, **kwargs: Any) -> None:
        self._address = address
        self._hostname = hostname
        super().__init__(max_retries=0, **kwargs)

    def get_connection_with_tls_context(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return self.poolmanager.connection_from_host(
            host=self._address,
            port=host_params["port"],
            scheme=host_params["scheme"],
            pool_kwargs=pool_kwargs,
        )

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except requests.Timeout:
            raise
        except requests.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(tls_failure_reason(exc), request=request) from exc
        except requests.ConnectionError as exc:
            raise requests.ConnectionError(connection_failure_reason(exc), request=request) from exc

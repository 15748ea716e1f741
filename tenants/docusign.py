"""The single place the portal builds DocuSign clients.

One `DocuSignClient` per auth host per process: the client and its `requests.Session` are
thread-safe and keep connections alive, so every request, task and thread shares it.
"""

import os
import threading
import urllib.request

import requests
from django.conf import settings

from common.metrics import docusign_call_observe
from docusign_api import DocuSignClient
from tenants.models import Integration

_clients: dict[tuple, DocuSignClient] = {}
_lock = threading.Lock()


def _proxy_environment_set() -> bool:
    # The standard library's reading of *_proxy variables, the same one requests relies on.
    return bool(urllib.request.getproxies())


def _ca_bundle_from_environment() -> str | None:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def docusign_client_for(integration: Integration) -> DocuSignClient:
    """The shared client for the integration's account server (timeouts and CA bundle from
    settings, read at call time so a test's override applies)."""
    timeout = (settings.DOCUSIGN_CONNECT_TIMEOUT_S, settings.DOCUSIGN_READ_TIMEOUT_S)
    ca_bundle = settings.DOCUSIGN_CA_BUNDLE
    key = (integration.auth_base_url.rstrip("/"), timeout, ca_bundle)
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            session = requests.Session()
            # Workers run many threads; the default pool of 10 would make them queue for sockets.
            adapter = requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=64)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            trusted_ca = ca_bundle
            if not _proxy_environment_set():
                # A ~/.netrc entry would replace our Bearer header; the CA variable is read once.
                session.trust_env = False
                trusted_ca = ca_bundle or _ca_bundle_from_environment()
            client = DocuSignClient(
                auth_base_url=key[0],
                session=session,
                timeout=timeout,
                ca_bundle=trusted_ca,
                observer=docusign_call_observe,
            )
            _clients[key] = client
    return client

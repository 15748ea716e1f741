"""Checks on what staff type into a Connect template (API.md 2.1, 2.2), shared by forms and render.

Listener URLs are checked without DNS: a host name that resolves to a private address later is
DocuSign's problem to refuse; literal private addresses and local names are refused here.
"""

import ipaddress
import re
from urllib.parse import urlsplit

# API.md 2.2 (JSON SIM). `envelope-removed` is left out: it is UNCONFIRMED in DocuSign's lists.
SIM_EVENTS: tuple[str, ...] = (
    "envelope-created",
    "envelope-sent",
    "envelope-resent",
    "envelope-delivered",
    "envelope-completed",
    "envelope-declined",
    "envelope-voided",
    "envelope-corrected",
    "envelope-purge",
    "envelope-deleted",
    "envelope-discard",
    "recipient-sent",
    "recipient-resent",
    "recipient-delivered",
    "recipient-completed",
    "recipient-declined",
    "recipient-authenticationfailed",
    "recipient-autoresponded",
    "recipient-reassign",
    "recipient-delegate",
    "recipient-finish-later",
    "template-created",
    "template-modified",
    "template-deleted",
    "click-agreed",
    "click-declined",
)
INCLUDE_DATA: tuple[str, ...] = (
    "attachments",
    "custom_fields",
    "documents",
    "extensions",
    "folders",
    "payment_tabs",
    "powerform",
    "prefill_tabs",
    "recipients",
    "tabs",
)
DELIVERY_MODES: tuple[str, ...] = ("SIM", "Aggregate")
# urlToPublishTo is at most 4096 bytes (API.md 2.1).
MAX_URL_BYTES = 4096
# DocuSign documents no limit for a configuration name; 100 characters is our conservative cap
# (the portal's names are "PartnerPortal: <slug>", well below it).
MAX_CONFIG_NAME = 100
PLACEHOLDERS: tuple[str, ...] = ("tenant_slug", "account_id", "tenant_id")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
# Values for checking a URL template before any tenant is known: slug-like, as real ones are.
SAMPLE_VALUES = {
    "tenant_slug": "sample-tenant",
    "account_id": "00000000-0000-4000-8000-000000000000",
    "tenant_id": "1",
}


def unknown_placeholders(url_template: str) -> list[str]:
    return [name for name in _PLACEHOLDER_RE.findall(url_template) if name not in PLACEHOLDERS]


def url_fill(url_template: str, values: dict[str, str]) -> str:
    url = url_template
    for name in PLACEHOLDERS:
        url = url.replace("{" + name + "}", values.get(name, ""))
    return url


def publish_url_errors(url: str, *, allow_local: bool) -> list[str]:
    """What is wrong with a (filled-in) listener URL; empty when it is acceptable.

    `allow_local` is for emulator integrations only: the end-to-end demo delivers to the portal on
    http://127.0.0.1.
    """
    if len(url.encode("utf-8")) > MAX_URL_BYTES:
        return [f"The URL is longer than DocuSign's limit of {MAX_URL_BYTES} bytes."]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return ["This is not a valid URL."]
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return ["Enter an absolute https:// URL."]
    errors = []
    if parts.username is not None or parts.password is not None:
        errors.append("The URL must not carry a user name or password; use HMAC or OAuth.")
    local = _is_local_host(host)
    if parts.scheme == "http" and not (allow_local and local):
        errors.append("DocuSign only delivers to https:// URLs.")
    if local and not allow_local:
        errors.append(
            "The host is private, loopback or local; DocuSign cannot reach it "
            "(only an emulator integration may use one)."
        )
    return errors


def _is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host  # a bare intranet name such as "hooks"
    return not address.is_global or address.is_multicast

"""Reads that guide webhook authentication: why a delivery was refused, in a sentence with the page
that fixes it, and what an integration's listener expects against what its templates send.

Never a secret: key counts and labels only.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from events.models import ListenerSettings, PartnerHmacKey
from tenants.models import Integration

_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
_UNREACHABLE = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "Timeout", "refused")


@dataclass(frozen=True)
class Explanation:
    sentence: str
    fix_url: str = ""
    fix_label: str = ""


def listener_url() -> str:
    return f"{settings.PORTAL_PUBLIC_URL}{reverse('connect-hook')}"


def _active_key_count(integration: Integration) -> int:
    return PartnerHmacKey.objects.filter(
        integration=integration, deactivated_at__isnull=True
    ).count()


def delivery_failure_explain(*, integration: Integration, error: str) -> Explanation:
    """What a failed test delivery means, from the error the emulator reported (an HTTP status or
    a network failure) and the keys stored now; with the page that fixes it."""
    keys_url = reverse("integration-hmac-keys", kwargs={"integration_id": integration.pk})
    templates_url = reverse("connect-template-list")
    status = _HTTP_STATUS.search(error)
    code = int(status.group(1)) if status else None
    if code in (401, 403):
        keys = _active_key_count(integration)
        if not keys:
            return Explanation(
                f"The portal refused the event (HTTP {code}): no partner HMAC key is stored for "
                f"the “{integration.name}” integration, so no signature can be verified.",
                keys_url,
                "Add the partner HMAC key",
            )
        return Explanation(
            f"The portal refused the event (HTTP {code}): its signature matches none of the "
            f"{keys} HMAC key{'s' if keys != 1 else ''} stored for “{integration.name}”. The key "
            "DocuSign signs with differs (or the template does not include HMAC).",
            keys_url,
            "Compare the keys on both sides",
        )
    if code == 404:
        return Explanation(
            f"Nothing answers at the template's listener URL (HTTP 404): it should end in "
            f"{reverse('connect-hook')} on this portal's public address ({listener_url()}).",
            templates_url,
            "Fix the template's listener URL",
        )
    if code is not None and code >= 500:
        return Explanation(
            f"The listener failed while storing the event (HTTP {code}): the web process's log "
            "says why.",
        )
    if any(word in error for word in _UNREACHABLE):
        return Explanation(
            "DocuSign could not reach the template's listener URL: check that it is this "
            f"portal's public address ({listener_url()}) and that the portal runs there.",
            templates_url,
            "Fix the template's listener URL",
        )
    if "No Connect configuration" in error:
        return Explanation(error, templates_url, "Define or push a Connect template")
    return Explanation(error)


def integration_webhook_auth(*, integration: Integration, templates: list[dict]) -> dict:
    """The guided section: the listener URL, how each template authenticates, what the portal
    holds to verify it, and what is missing."""
    listener = ListenerSettings.objects.filter(integration=integration).first()
    keys = _active_key_count(integration)
    require_hmac = listener.require_hmac if listener else True
    basic_ready = bool(listener and listener.has_basic)
    oauth_ready = bool(listener and listener.has_oauth)
    problems = []
    if not templates:
        problems.append("No active Connect template sends events to this integration's tenants.")
    for t in templates:
        if t["hmac"] and not keys:
            problems.append(
                f"“{t['name']}” includes HMAC, but the portal holds no key to check it."
            )
        if not t["hmac"] and require_hmac:
            problems.append(
                f"“{t['name']}” does not include HMAC, but the listener requires a signature: "
                "every event is refused."
            )
        if t["oauth"] and not oauth_ready:
            problems.append(f"“{t['name']}” includes OAuth, but OAuth for Connect is not set up.")
        if t["url"] and not t["url"].startswith(listener_url()):
            problems.append(
                f"“{t['name']}” posts to {t['url']}, not to this portal's listener: events go "
                "elsewhere (fine only if you forward them yourself)."
            )
    is_emulator = integration.environment == Integration.Environment.EMULATOR
    return {
        "listener_url": listener_url(),
        "templates": templates,
        "portal_keys": keys,
        "require_hmac": require_hmac,
        "basic_ready": basic_ready,
        "oauth_ready": oauth_ready,
        "problems": problems,
        "can_check": is_emulator,
        "check_explanation": ""
        if is_emulator
        else "DocuSign cannot publish an event on request: send a test envelope from a client's "
        "account and watch it arrive on the tenant's page.",
    }

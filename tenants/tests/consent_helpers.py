"""Drive a consent round trip: the portal through Django's test client, DocuSign's consent page
(the emulator) over real HTTP with `requests`, as a client admin's browser would."""

import re
from urllib.parse import urlsplit

import requests
from django.urls import reverse

from common.models import AuditEvent
from docusign_emulator.testing import (
    TEST_ADMIN_EMAIL,
    TEST_ADMIN_PASSWORD,
    TEST_SEED,
    TEST_SINGLE_ADMIN_EMAIL,
    TEST_SINGLE_ADMIN_PASSWORD,
)
from tenants.models import Invite, Tenant, TenantAccount, TenantToken
from tenants.services.invites import invite_send, invite_token

_AUTH_REQUEST = re.compile(r'name="auth_request" value="([^"]+)"')


def send_invite(tenant: Tenant, kind: str = Invite.Kind.CONSENT) -> str:
    """A fresh invite; returns its token."""
    return invite_token(invite_send(tenant=tenant, kind=kind, actor_label="tests").invite)


def portal_start(client, token: str, *, system_user_id: str = "") -> str:
    """Open the landing page, press Continue (naming a system user if given): returns DocuSign's
    authorization URL."""
    landing = client.get(reverse("consent-landing", kwargs={"token": token}))
    assert landing.status_code == 200, landing.content[:500]
    data = {"system_user_id": system_user_id} if system_user_id else {}
    started = client.post(reverse("consent-start", kwargs={"token": token}), data)
    assert started.status_code == 302, started.content[:500]
    return started["Location"]


def emulator_authorize(
    auth_url: str, *, email: str, password: str, decision: str = "allow", browser=None
) -> str:
    """Sign in at the emulator's consent page and decide; returns the redirect Location."""
    browser = browser or requests.Session()
    page = browser.get(auth_url, allow_redirects=False, timeout=10)
    if page.status_code == 302:
        return page.headers["Location"]
    assert page.status_code == 200, page.text[:500]
    base = f"{urlsplit(auth_url).scheme}://{urlsplit(auth_url).netloc}"
    auth_request = _AUTH_REQUEST.search(page.text).group(1)
    signed_in = browser.post(
        f"{base}/oauth/auth",
        data={"auth_request": auth_request, "step": "login", "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    if signed_in.status_code == 302:
        return signed_in.headers["Location"]
    assert "decision" in signed_in.text, signed_in.text[:500]
    decided = browser.post(
        f"{base}/oauth/auth",
        data={"auth_request": auth_request, "step": "consent", "decision": decision},
        allow_redirects=False,
        timeout=10,
    )
    assert decided.status_code == 302, decided.text[:500]
    return decided.headers["Location"]


def portal_callback(client, location: str):
    """Follow DocuSign's redirect back into the portal (same test client, same session)."""
    parts = urlsplit(location)
    assert parts.path == reverse("consent-callback"), location
    return client.get(f"{parts.path}?{parts.query}")


def consent_round_trip(client, tenant: Tenant, *, email: str, password: str, token: str = ""):
    """Invite → landing → DocuSign sign-in + allow → callback. Returns the callback response."""
    token = token or send_invite(tenant)
    location = emulator_authorize(portal_start(client, token), email=email, password=password)
    return portal_callback(client, location)


SINGLE = {"email": TEST_SINGLE_ADMIN_EMAIL, "password": TEST_SINGLE_ADMIN_PASSWORD}
MULTI = {"email": TEST_ADMIN_EMAIL, "password": TEST_ADMIN_PASSWORD}


def failures(code: str) -> int:
    """Consent callbacks refused with this code, as counted in the audit log."""
    return AuditEvent.objects.filter(
        action="consent.callback", outcome="failure", message__contains=code
    ).count()


def assert_nothing_stored(tenant: Tenant) -> None:
    assert not TenantAccount.objects.filter(tenant=tenant).exists()
    assert not TenantToken.objects.filter(tenant=tenant).exists()
    tenant.refresh_from_db()
    assert tenant.status in (Tenant.Status.REGISTERED, Tenant.Status.INVITED)


def error_code_of(response) -> str:
    """The consent error page's machine-readable code, or "" when it is not one."""
    text = response.content.decode()
    marker = 'data-error-code="'
    return text.split(marker, 1)[1].split('"', 1)[0] if marker in text else ""


def consent_callback_to(live_server, *, settings, emulator, integration) -> None:
    """Send the client admin back to `live_server` after consent: the portal's public URL and the
    integration's redirect URI point at it, and the emulator's integration key accepts it."""
    redirect_uri = f"{live_server.url}/consent/callback/"
    settings.PORTAL_PUBLIC_URL = live_server.url
    integration.redirect_uri = redirect_uri
    integration.save()
    key = dict(TEST_SEED["integration_keys"][0])
    key["redirect_uris"] = [*key["redirect_uris"], redirect_uri]
    emulator.seed(integration_keys=[key])

"""Consent: a client admin's trip to DocuSign and back, ending with a linked account and tokens.
This module starts it (scopes, state, PKCE); consent_callback.py handles the way back.

`state` and the PKCE verifier stay server-side in ConsentAttempt (the state hashed, the verifier
encrypted), bound to the tenant, the invite and the browser session; the callback claims the
attempt atomically, so a double-submitted callback exchanges its code once. DocuSign is always
called outside any transaction; the results are written afterwards.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from common.models import AuditEvent
from common.services import audit_record
from tenants.docusign import docusign_client_for
from tenants.models import ConsentAttempt, Invite, Tenant
from tenants.services.consent_errors import ConsentError
from tenants.services.consent_finish import ACTOR, ConsentResult
from tenants.services.system_user import USER_ID_RE

__all__ = ["ConsentError", "ConsentResult"]

# Our state is 43 characters; DocuSign hands it back unchanged. Longer is not ours.
STATE_MAX_LENGTH = 200
CODE_MAX_LENGTH = 4096

SCOPE_EXPLANATIONS = {
    "signature": "Work with envelopes in your DocuSign account and set up the Connect "
    "notifications that tell {partner} when an envelope is sent, signed or declined.",
    "extended": "Keep this connection working over time, so you are not asked to sign in "
    "again every 30 days.",
    "impersonation": "Act on your behalf in the background (DocuSign's JWT grant), so "
    "{partner} can keep your configuration up to date while you are not signed in.",
    "openid": "Confirm who you are, so the consent can be given for your whole organization.",
}
# DocuSign "obtaining admin consent for an external application" (API.md 7): `scope=openid` plus
# the per-user scopes in `admin_consent_scope`.
ADMIN_CONSENT_SCOPES = ("signature", "impersonation")
ORG_SCOPE_EXPLANATION = (
    "For every user whose email is in your organization's claimed domains: {scopes}. {partner} "
    "then acts as the system user without that user signing in."
)


def session_hash(session_key: str) -> str:
    return hashlib.sha256(f"consent-session:{session_key}".encode()).hexdigest()


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def consent_scopes(*, tenant: Tenant) -> list[str]:
    if tenant.grant_mode == Tenant.GrantMode.ORG_ADMIN:
        return ["openid"]
    scopes = ["signature", "extended"]
    if tenant.grant_mode == Tenant.GrantMode.JWT:
        scopes.append("impersonation")
    return scopes


def consent_scope_explanations(*, tenant: Tenant) -> list[tuple[str, str]]:
    partner = settings.PARTNER_NAME
    explained = [
        (scope, SCOPE_EXPLANATIONS[scope].format(partner=partner))
        for scope in consent_scopes(tenant=tenant)
    ]
    if tenant.grant_mode == Tenant.GrantMode.ORG_ADMIN:
        scopes = " and ".join(ADMIN_CONSENT_SCOPES)
        explained.append(
            ("admin_consent_scope", ORG_SCOPE_EXPLANATION.format(scopes=scopes, partner=partner))
        )
    return explained


def consent_system_user_check(*, tenant: Tenant, system_user_id: str) -> str:
    """The named system user id, normalised; ValueError with what to do when it is malformed."""
    value = (system_user_id or "").strip().lower()
    if value and not tenant.uses_jwt:
        raise ValueError("Only background (JWT) connections impersonate a system user.")
    if value and not USER_ID_RE.match(value):
        raise ValueError(
            "Enter the user's API user id, a GUID such as 4799e5e9-1559-4915-9862-cf4713bbcacc "
            "(DocuSign Admin → Users → the user's profile), or leave the field empty."
        )
    return value


# --- start ---------------------------------------------------------------------------------


def consent_start(
    *,
    invite: Invite,
    session_key: str,
    system_user_id: str = "",
    request: HttpRequest | None = None,
) -> str:
    """Record a new attempt for this browser session and return DocuSign's consent URL.
    `system_user_id` (JWT tenants) must have passed consent_system_user_check."""
    tenant = invite.tenant
    integration = tenant.integration
    if not integration.is_active:
        consent_failure_audit(ConsentError("integration_inactive", tenant=tenant), request=request)
        raise ConsentError("integration_inactive", tenant=tenant)
    client = docusign_client_for(integration)
    pkce = client.oauth.new_pkce()
    state = secrets.token_urlsafe(32)
    scopes = consent_scopes(tenant=tenant)
    now = timezone.now()
    attempt = ConsentAttempt.objects.create(
        state_hash=state_hash(state),
        tenant=tenant,
        invite=invite,
        session_key_hash=session_hash(session_key),
        code_verifier=pkce.verifier,
        scopes=" ".join(scopes),
        system_user_id=system_user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.CONSENT_STATE_TTL_S),
    )
    audit_record(
        action="consent.start",
        actor_label=ACTOR,
        target=tenant,
        message=f"Sent to DocuSign for scopes '{attempt.scopes}' (attempt {attempt.pk})",
        request=request,
    )
    return client.oauth.authorization_url(
        client_id=integration.integration_key,
        redirect_uri=integration.redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=pkce.challenge,
        admin_consent_scopes=ADMIN_CONSENT_SCOPES
        if tenant.grant_mode == Tenant.GrantMode.ORG_ADMIN
        else None,
    )


def consent_failure_audit(
    error: ConsentError,
    *,
    request: HttpRequest | None = None,
    attempt: ConsentAttempt | None = None,
) -> None:
    tenant = error.tenant or (attempt.tenant if attempt else None)
    message = f"Consent failed: {error.code}"
    if error.detail:
        message += f" ({error.detail})"
    audit_record(
        action="consent.callback",
        actor_label=ACTOR,
        target=tenant,
        outcome=AuditEvent.Outcome.FAILURE,
        message=message,
        request=request,
    )


# An attempt past its expiry is useless, but it may still hold encrypted tokens waiting for an
# account choice that never came. Kept a day after expiry for support questions, then dropped; the
# audit log keeps what happened.
ATTEMPT_RETENTION = timedelta(days=1)


def consent_attempts_purge(*, now: datetime | None = None) -> int:
    """Delete consent attempts that expired more than ATTEMPT_RETENTION ago; returns how many."""
    cutoff = (now or timezone.now()) - ATTEMPT_RETENTION
    deleted, _ = ConsentAttempt.objects.filter(expires_at__lt=cutoff).delete()
    return deleted

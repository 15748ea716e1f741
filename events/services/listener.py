"""The Connect listener's credentials per integration: partner HMAC keys, Basic credentials, and
OAuth for Connect with the portal as the authorization server (API.md 3.1-3.3).

Secrets go in, never out: nothing here returns a stored secret to a caller that renders pages, and
the audit rows name labels and states only.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from common.services import audit_record
from events.errors import EventsError
from events.models import ListenerSettings, PartnerHmacKey
from tenants.models import Integration

JWT_ALGORITHMS = ["HS256"]
MIN_HMAC_KEY_LENGTH = 16


def listener_settings_get(*, integration_id: int) -> ListenerSettings:
    """The integration's listener settings; an unsaved default row when none exists yet."""
    found = ListenerSettings.objects.filter(integration_id=integration_id).first()
    return found or ListenerSettings(integration_id=integration_id)


# --- partner HMAC keys -----------------------------------------------------------------------


@transaction.atomic
def hmac_key_add(
    *,
    integration: Integration,
    label: str,
    secret: str,
    actor: User | None,
    request: HttpRequest | None = None,
) -> PartnerHmacKey:
    """Store one more active key; older keys stay active until deactivated (rotation)."""
    secret = secret.strip()
    label = label.strip()
    if len(secret) < MIN_HMAC_KEY_LENGTH:
        raise EventsError(
            f"An HMAC key has at least {MIN_HMAC_KEY_LENGTH} characters: paste the whole key "
            "DocuSign showed under Connect Keys."
        )
    if not label:
        raise EventsError("Give the key a label, for example the date DocuSign created it.")
    active = PartnerHmacKey.objects.filter(integration=integration, deactivated_at__isnull=True)
    if any(hmac.compare_digest(k.secret.encode(), secret.encode()) for k in active):
        raise EventsError("This key is already stored and active.")
    key = PartnerHmacKey.objects.create(
        integration=integration,
        label=label[:100],
        secret=secret,
        created_by_label=actor.get_username() if actor else "system",
    )
    audit_record(
        action="events.hmac_key.add",
        actor=actor,
        target=integration,
        message=f"Connect HMAC key '{key.label}' added",
        request=request,
    )
    return key


@transaction.atomic
def hmac_key_deactivate(
    *, integration: Integration, key_id: int, actor: User | None, request: HttpRequest | None = None
) -> PartnerHmacKey:
    key = (
        PartnerHmacKey.objects.select_for_update()
        .filter(integration=integration, pk=key_id)
        .first()
    )
    if key is None:
        raise EventsError("That key does not exist on this integration.")
    if key.deactivated_at is not None:
        return key
    key.deactivated_at = timezone.now()
    key.deactivated_by_label = actor.get_username() if actor else "system"
    key.save(update_fields=["deactivated_at", "deactivated_by_label"])
    audit_record(
        action="events.hmac_key.deactivate",
        actor=actor,
        target=integration,
        message=f"Connect HMAC key '{key.label}' deactivated",
        request=request,
    )
    return key


# --- Basic credentials and OAuth for Connect ------------------------------------------------


@transaction.atomic
def listener_settings_update(
    *,
    integration: Integration,
    actor: User | None,
    require_hmac: bool,
    basic_username: str,
    basic_password: str = "",
    basic_clear: bool = False,
    oauth_enabled: bool,
    oauth_client_id: str,
    oauth_client_secret: str = "",
    oauth_token_ttl_s: int = 900,
    request: HttpRequest | None = None,
) -> ListenerSettings:
    """Save the listener settings. A blank password or client secret keeps the stored one
    (write-only fields); `basic_clear` removes the Basic credentials."""
    row, _ = ListenerSettings.objects.select_for_update().get_or_create(integration=integration)
    changed = []
    if row.require_hmac != require_hmac:
        row.require_hmac = require_hmac
        changed.append("require_hmac")
    if basic_clear:
        if row.basic_username or row.basic_password:
            changed.append("basic cleared")
        row.basic_username, row.basic_password = "", ""
    else:
        if basic_username != row.basic_username:
            row.basic_username = basic_username
            changed.append("basic username")
        if basic_password:
            row.basic_password = basic_password
            changed.append("basic password")
        if row.basic_username and not row.basic_password:
            raise EventsError("Set a Basic password together with the username.")
    if oauth_enabled and not oauth_client_id:
        raise EventsError("OAuth for Connect needs a client id.")
    if oauth_client_id != row.oauth_client_id:
        row.oauth_client_id = oauth_client_id
        changed.append("oauth client id")
    if oauth_client_secret:
        row.oauth_client_secret = oauth_client_secret
        changed.append("oauth client secret")
    if oauth_enabled and not row.oauth_client_secret:
        raise EventsError("OAuth for Connect needs a client secret.")
    if oauth_enabled and not row.oauth_signing_secret:
        # Generated here and never shown: only this portal signs and verifies its tokens.
        row.oauth_signing_secret = secrets.token_urlsafe(48)
    if row.oauth_enabled != oauth_enabled:
        row.oauth_enabled = oauth_enabled
        changed.append("oauth enabled" if oauth_enabled else "oauth disabled")
    if row.oauth_token_ttl_s != oauth_token_ttl_s:
        row.oauth_token_ttl_s = oauth_token_ttl_s
        changed.append("token lifetime")
    row.save()
    audit_record(
        action="events.listener.update",
        actor=actor,
        target=integration,
        message="Connect listener settings: " + (", ".join(changed) or "no change"),
        request=request,
    )
    return row


@transaction.atomic
def listener_signing_secret_rotate(
    *, integration: Integration, actor: User | None, request: HttpRequest | None = None
) -> None:
    """A new token-signing secret: every Bearer token issued so far stops working at once."""
    row, _ = ListenerSettings.objects.select_for_update().get_or_create(integration=integration)
    row.oauth_signing_secret = secrets.token_urlsafe(48)
    row.save(update_fields=["oauth_signing_secret", "updated_at"])
    audit_record(
        action="events.listener.rotate_signing_secret",
        actor=actor,
        target=integration,
        message="Connect OAuth token-signing secret rotated; issued tokens are void",
        request=request,
    )


def listener_token_issuer() -> str:
    return settings.PORTAL_PUBLIC_URL + reverse("connect-oauth-token")


def listener_token_audience() -> str:
    return settings.PORTAL_PUBLIC_URL + reverse("connect-hook")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def listener_token_issue(*, client_id: str, client_secret: str) -> IssuedToken:
    """client_credentials for DocuSign's Connect delivery: a short-lived HS256 JWT whose `sub` is
    the client id, signed with the integration's portal-only secret. Raises EventsError when the
    client is unknown or the secret is wrong (the caller answers `invalid_client`)."""
    if not client_id or not client_secret:
        raise EventsError("invalid_client")
    candidates = ListenerSettings.objects.filter(oauth_enabled=True, oauth_client_id=client_id)
    match = None
    for row in candidates:
        # Compare every candidate so the timing says nothing about which one matched.
        if row.has_oauth and hmac.compare_digest(
            row.oauth_client_secret.encode("utf-8"), client_secret.encode("utf-8")
        ):
            match = row
    if match is None:
        raise EventsError("invalid_client")
    now = timezone.now()
    claims = {
        "iss": listener_token_issuer(),
        "aud": listener_token_audience(),
        "sub": match.oauth_client_id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 5,
        "exp": int((now + timedelta(seconds=match.oauth_token_ttl_s)).timestamp()),
        "jti": secrets.token_hex(12),
    }
    token = jwt.encode(claims, match.oauth_signing_secret, algorithm="HS256")
    return IssuedToken(access_token=token, expires_in=match.oauth_token_ttl_s)


def listener_bearer_verify(*, listener: ListenerSettings, token: str) -> bool:
    """True when the token was issued by this portal for this integration's client and has not
    expired. Only HS256 is accepted, so `alg=none` and algorithm confusion fail."""
    if not listener.has_oauth:
        return False
    try:
        claims = jwt.decode(
            token,
            listener.oauth_signing_secret,
            algorithms=JWT_ALGORITHMS,
            audience=listener_token_audience(),
            issuer=listener_token_issuer(),
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            leeway=5,
        )
    except jwt.PyJWTError:
        return False
    return hmac.compare_digest(
        str(claims.get("sub", "")).encode("utf-8"), listener.oauth_client_id.encode("utf-8")
    )


def listener_basic_verify(*, listener: ListenerSettings, username: str, password: str) -> bool:
    if not listener.has_basic:
        return False
    user_ok = hmac.compare_digest(username.encode("utf-8"), listener.basic_username.encode("utf-8"))
    pass_ok = hmac.compare_digest(password.encode("utf-8"), listener.basic_password.encode("utf-8"))
    return user_ok and pass_ok


def listener_oauth_client(*, integration: Integration) -> dict | None:
    """What the Connect area pushes to DocuSign as the account's OAuth for Connect configuration
    (`authorizationServerUrl`, `clientId`, `clientSecret`), or None when OAuth is off. For a
    service that calls DocuSign only: never render it."""
    row = listener_settings_get(integration_id=integration.pk)
    if not row.has_oauth:
        return None
    return {
        "authorization_server_url": listener_token_issuer(),
        "client_id": row.oauth_client_id,
        "client_secret": row.oauth_client_secret,
    }

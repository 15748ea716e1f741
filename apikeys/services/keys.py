"""Create, revoke and check the partner's API keys. The secret exists in clear only in the return
value of `api_key_create`, shown once; everything else sees the prefix."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from apikeys.models import ApiKey, Scope
from common.models import AuditEvent
from common.services import audit_record

KEY_PREFIX = "ppk_"
# last_used_at is written at most this often per key: a write per request would cost every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
REFUSED_AUDIT_INTERVAL = timedelta(minutes=1)


class ApiKeyRefused(Exception):
    """The presented key cannot be used; the message says why (never the secret)."""


@dataclass(frozen=True)
class ApiKeyIssued:
    api_key: ApiKey
    secret: str  # the whole key, "ppk_<prefix>_<secret>": shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    actor: User | None,
    request: HttpRequest | None = None,
) -> ApiKeyIssued:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}")
    if not scopes:
        raise ValueError("Choose at least one scope.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        created_by=actor,
        created_by_label=actor.get_username() if actor is not None else "",
    )
    audit_record(
        action="api_key.create",
        actor=actor,
        target=api_key,
        after={
            "name": name,
            "prefix": prefix,
            "scopes": api_key.scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        request=request,
    )
    return ApiKeyIssued(api_key=api_key, secret=secret)


@transaction.atomic
def api_key_revoke(
    *, api_key: ApiKey, actor: User | None, request: HttpRequest | None = None
) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.is_revoked:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.revoked_by_label = actor.get_username() if actor is not None else ""
    api_key.save(update_fields=["revoked_at", "revoked_by_label", "updated_at"])
    audit_record(action="api_key.revoke", actor=actor, target=api_key, request=request)
    return api_key


def api_key_authenticate(*, presented: str, request: HttpRequest | None = None) -> ApiKey:
    """The key for a presented secret, or `ApiKeyRefused`. A revoked key's use is audited."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 120:
        raise ApiKeyRefused("The API key is malformed.")
    prefix = presented[len(KEY_PREFIX) :].split("_", 1)[0]
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, _hash(presented)):
        raise ApiKeyRefused("The API key is not valid.")
    now = timezone.now()
    if api_key.is_revoked:
        _refused_use_record(api_key=api_key, now=now, request=request)
        raise ApiKeyRefused("The API key was revoked.")
    if api_key.is_expired(now):
        raise ApiKeyRefused("The API key has expired.")
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def _refused_use_record(*, api_key: ApiKey, now: datetime, request: HttpRequest | None) -> None:
    # One audit row per minute per key at most: a client retrying a dead key must not flood it.
    claimed = ApiKey.objects.filter(
        Q(refused_audited_at__isnull=True)
        | Q(refused_audited_at__lte=now - REFUSED_AUDIT_INTERVAL),
        pk=api_key.pk,
    ).update(refused_audited_at=now)
    if claimed:
        audit_record(
            action="api_key.revoked_use",
            actor_label=api_key.label,
            target=api_key,
            outcome=AuditEvent.Outcome.DENIED,
            message="A revoked API key was presented",
            request=request,
        )
